// `npx neverstop up | down | status` (lesson 5, "systems that never stop"): the local cluster's
// lifecycle from the command line. `up` stays in the foreground until Ctrl-C, or with --detach
// leaves the nodes running and records them in `<data-dir>/cluster.json`, which `down` and
// `status` read. Every failure is one line and a non-zero exit status, never a stack trace.
//
// Fixed, documented ports (the default --base-port 8080): node i serves clients on HTTP 8080+i
// (n1..n5 on 8081..8085) and peers on TCP 9080+i (9081..9085).

import {
  existsSync,
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  statSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  basePortDefault,
  ClusterStartError,
  fetchHealth,
  fixedPorts,
  nodeCountMax,
  portIsFree,
  startLocalCluster,
  type LocalCluster,
} from "./cluster.ts";

export const dataDirDefault = ".neverstop";
const clusterFileName = "cluster.json";
const downGraceMs = 5_000;

/** A failure the command reports as one line with this exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ClusterRecord {
  dataDir: string;
  startedAt: string;
  detached: boolean;
  /** The `up` process that owns the nodes in the foreground, if any. */
  supervisorPid?: number;
  sync: string;
  nodes: {
    id: string;
    httpUrl: string;
    httpPort: number;
    peerPort: number;
    pid: number | undefined;
  }[];
}

export function registerClusterCommands(program: Command): void {
  program
    .command("up")
    .description(
      "start a local cluster on 127.0.0.1 (HTTP 8081.., peers 9081..), data under .neverstop/",
    )
    .addOption(
      new Option("--nodes <count>", `how many nodes, 1..${nodeCountMax}`)
        .default(5)
        .argParser(integerArgument),
    )
    .addOption(
      new Option("--base-port <port>", "node i listens on HTTP base+i and peer TCP base+1000+i")
        .default(basePortDefault)
        .argParser(integerArgument),
    )
    .addOption(
      new Option("--sync <policy>", "when writes reach the disk")
        .choices(["always", "interval", "never"])
        .default("always"),
    )
    .option("--data-dir <folder>", "where node data, logs and cluster.json go", dataDirDefault)
    .option(
      "--detach",
      "return at once and leave the nodes running (stop them with `neverstop down`)",
      false,
    )
    .option(
      "--repair",
      "truncate a corrupt data file at the damage instead of refusing to start (loses data)",
      false,
    )
    .action(async (options: UpOptions, command: Command) => {
      await up(options, command.getOptionValueSource("dataDir") === "default");
    });
  program
    .command("down")
    .description("stop a cluster started with `neverstop up --detach`")
    .option("--data-dir <folder>", "the cluster's data folder", dataDirDefault)
    .action(async (options: { dataDir: string }) => down(options.dataDir));
  program
    .command("status")
    .description("show each member's client URL, process id and health")
    .option("--data-dir <folder>", "the cluster's data folder", dataDirDefault)
    .option("--json", "print JSON", false)
    .action(async (options: { dataDir: string; json: boolean }) =>
      status(options.dataDir, options.json),
    );
}

function integerArgument(text: string): number {
  if (!/^[0-9]{1,6}$/.test(text))
    throw new InvalidArgumentError(`Expected an integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

interface UpOptions {
  nodes: number;
  basePort: number;
  sync: "always" | "interval" | "never";
  dataDir: string;
  detach: boolean;
  repair: boolean;
}

async function up(options: UpOptions, dataDirIsDefault: boolean): Promise<void> {
  const dataDir = resolve(options.dataDir);
  prepareDataDir(dataDir, dataDirIsDefault);
  const running = readRecord(dataDir);
  if (
    running !== undefined &&
    running.nodes.some((node) => node.pid !== undefined && isNeverstopNode(node.pid))
  ) {
    throw new CliError(
      `a cluster is already running from ${options.dataDir} (see \`npx neverstop status\`; stop it with \`npx neverstop down\`)`,
    );
  }
  if (options.nodes < 1 || options.nodes > nodeCountMax) {
    throw new CliError(
      `Expected \`--nodes\` to be an integer from 1 to ${nodeCountMax}, got ${options.nodes}`,
    );
  }
  let ports: { httpPort: number; peerPort: number }[];
  try {
    ports = fixedPorts(options.nodes, options.basePort);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  for (const [index, { httpPort, peerPort }] of ports.entries()) {
    for (const [port, what] of [
      [httpPort, "HTTP"],
      [peerPort, "peer"],
    ] as const) {
      if (!(await portIsFree(port))) {
        throw new CliError(
          `port ${port} (${what} of n${index + 1}) on 127.0.0.1 is already in use: stop what uses it or pick another --base-port`,
        );
      }
    }
  }
  process.stderr.write(`starting ${options.nodes} nodes (sync ${options.sync}) ...\n`);
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      nodes: options.nodes,
      basePort: options.basePort,
      dataDir,
      sync: options.sync,
      detach: options.detach,
      repairStores: options.repair,
    });
  } catch (error) {
    if (error instanceof ClusterStartError) throw new CliError(error.message);
    throw error;
  }
  const record: ClusterRecord = {
    dataDir,
    startedAt: new Date().toISOString(),
    detached: options.detach,
    ...(options.detach ? {} : { supervisorPid: process.pid }),
    sync: options.sync,
    nodes: cluster.nodes.map(({ id, httpUrl, httpPort, peerPort, pid }) => ({
      id,
      httpUrl,
      httpPort,
      peerPort,
      pid,
    })),
  };
  writeFileSync(join(dataDir, clusterFileName), JSON.stringify(record, null, 2) + "\n");
  for (const node of cluster.nodes) console.log(`${node.id}  ${node.httpUrl}  (pid ${node.pid})`);
  console.log(`try: curl -X PUT ${cluster.nodes[0]!.httpUrl}/kv/demo/hello -d '"world"'`);
  if (options.detach) {
    console.log(
      `cluster running in the background; \`npx neverstop status\`, \`npx neverstop down\``,
    );
    return;
  }
  console.log("Ctrl-C stops the cluster");
  await new Promise<void>((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal());
    process.once("SIGTERM", () => resolveSignal());
  });
  process.stderr.write("stopping ...\n");
  await cluster.stop();
  rmSync(join(dataDir, clusterFileName), { force: true });
}

function prepareDataDir(dataDir: string, isDefault: boolean): void {
  if (!existsSync(dataDir)) {
    if (!isDefault)
      throw new CliError(
        `the data folder ${dataDir} does not exist: create it, or leave out --data-dir to use ${dataDirDefault}/`,
      );
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw new CliError(
        `cannot create the data folder ${dataDir}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
  }
  if (!statSync(dataDir).isDirectory())
    throw new CliError(`the data folder ${dataDir} is not a folder`);
  try {
    accessSync(dataDir, constants.W_OK | constants.X_OK);
  } catch {
    throw new CliError(`the data folder ${dataDir} is not writable`);
  }
}

async function down(dataDirOption: string): Promise<void> {
  const dataDir = resolve(dataDirOption);
  const record = readRecord(dataDir);
  if (record === undefined) {
    console.log(`no cluster recorded in ${dataDirOption}/${clusterFileName}: nothing to stop`);
    return;
  }
  const pids = record.nodes
    .map((node) => node.pid)
    .filter((pid): pid is number => pid !== undefined && isNeverstopNode(pid));
  if (record.supervisorPid !== undefined && isAlive(record.supervisorPid))
    pids.push(record.supervisorPid);
  for (const pid of pids) signal(pid, "SIGCONT");
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + downGraceMs;
  while (pids.some(isAlive) && Date.now() < deadline)
    await new Promise((wait) => setTimeout(wait, 100));
  const stubborn = pids.filter(isAlive);
  for (const pid of stubborn) signal(pid, "SIGKILL");
  rmSync(join(dataDir, clusterFileName), { force: true });
  console.log(
    `stopped ${pids.length} process(es)${stubborn.length > 0 ? ` (${stubborn.length} needed SIGKILL)` : ""}`,
  );
}

async function status(dataDirOption: string, json: boolean): Promise<void> {
  const dataDir = resolve(dataDirOption);
  const record = readRecord(dataDir);
  if (record === undefined) {
    if (json) console.log(JSON.stringify({ running: false, dataDir, nodes: [] }));
    throw new CliError(
      `no cluster is running from ${dataDirOption} (start one with \`npx neverstop up\`)`,
      1,
    );
  }
  const nodes = await Promise.all(
    record.nodes.map(async (node) => {
      const health = await fetchHealth(node.httpUrl, 1_000);
      const alive = node.pid !== undefined && isAlive(node.pid);
      return {
        id: node.id,
        httpUrl: node.httpUrl,
        pid: node.pid,
        alive,
        healthy: health !== undefined,
        health,
      };
    }),
  );
  if (json) {
    console.log(
      JSON.stringify(
        { running: nodes.some((node) => node.alive), dataDir, startedAt: record.startedAt, nodes },
        null,
        2,
      ),
    );
    return;
  }
  for (const node of nodes) {
    const state = node.healthy ? "healthy" : node.alive ? "not answering" : "down";
    console.log(`${node.id}  ${node.httpUrl}  pid ${node.pid ?? "-"}  ${state}`);
  }
}

function readRecord(dataDir: string): ClusterRecord | undefined {
  const path = join(dataDir, clusterFileName);
  if (!existsSync(path)) return undefined;
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as ClusterRecord;
    if (!Array.isArray(record.nodes)) throw new Error("no nodes");
    return record;
  } catch {
    throw new CliError(`${path} is not a cluster record; remove it if no cluster is running`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Alive and, where /proc tells, really a neverstop node (a recorded pid may have been reused). */
function isNeverstopNode(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("node-main.ts");
  } catch {
    return existsSync("/proc") ? false : true;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
