// `npx neverstop up | down | status` (lesson 5, "systems that never stop"): the local cluster's
// lifecycle from the command line. `up` stays in the foreground until Ctrl-C, or with --detach
// leaves the nodes running and records them in `<data-dir>/cluster.json`, which `down` and
// `status` read. Every failure is one line and a non-zero exit status, never a stack trace.
//
// Every cluster `up` starts is breakable (lesson 3, "network splits"): a Toxiproxy comes with it
// (the embedded server, or TOXIPROXY_URL, or a toxiproxy-server on PATH) with one proxy per
// directed node-to-node link (`n1->n2`: n1 dials it, it forwards to n2's peer port) and one per
// client link (`client->n3`), so `npx neverstop partition|latency|...` can cut and slow links.
// `--no-toxiproxy` starts the nodes wired directly to each other.
//
// Fixed, documented ports (the default --base-port P = 8080; chaos/nemesis/topology.ts):
//   node i HTTP, direct              P + i                     n1..n5 on 8081..8085
//   node i peers, direct             P + 1000 + i              9081..9085
//   Toxiproxy HTTP API               P + 394                   8474 (--toxiproxy-port)
//   proxy client->ni                 P + 2000 + i              10081..10085
//   proxy ni->nj                     P + 3000 + 100 * i + j    11182 (n1->n2) .. 11584 (n5->n4)

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
  isToxiproxyProcess,
  processExists,
  startClusterToxiproxy,
  stopProcess,
  type ClusterToxiproxy,
} from "../../../chaos/nemesis/toxiproxy-process.ts";
import { allLinkNames } from "../../../chaos/nemesis/nemesis.ts";
import {
  LinkTopology,
  proxyPorts,
  toxiproxyPortOf,
  type PortLayout,
} from "../../../chaos/nemesis/topology.ts";
import type { ToxiproxyKind } from "../../../chaos/toxiproxy/locate.ts";
import {
  basePortDefault,
  ClusterStartError,
  fetchHealth,
  fixedPorts,
  nodeCountMax,
  portIsFree,
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
} from "./cluster.ts";

export const dataDirDefault = ".neverstop";
export const clusterFileName = "cluster.json";
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
    /** The node's HTTP port through its `client->ni` proxy. */
    clientUrl?: string;
  }[];
  /** The Toxiproxy whose proxies sit on every link; absent with --no-toxiproxy. */
  toxiproxy?: {
    url: string;
    kind: ToxiproxyKind;
    /** A detached server's process, which `down` stops. */
    pid?: number;
  };
}

export function registerClusterCommands(program: Command): void {
  program
    .command("up")
    .description(
      "start a local cluster on 127.0.0.1 with a Toxiproxy proxy on every link (HTTP 8081.., peers 9081.., Toxiproxy 8474), data under .neverstop/",
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
    .addOption(
      new Option(
        "--spare-nodes <count>",
        "nodes prepared but not started, for `neverstop join` (scaling out, lesson 8)",
      )
        .default(1)
        .argParser(integerArgument),
    )
    .option(
      "--lww-buckets <names>",
      "comma-separated buckets that resolve conflicts by last write wins (lesson 6: skew a clock and watch writes vanish)",
      "lww",
    )
    .option("--no-toxiproxy", "wire the nodes directly to each other (nothing to break)")
    .addOption(
      new Option(
        "--toxiproxy-port <port>",
        "the Toxiproxy HTTP API port (default base+394: 8474)",
      ).argParser(integerArgument),
    )
    .action(async (options: UpOptions, command: Command) => {
      await up(options, command.getOptionValueSource("dataDir") === "default");
    });
  program
    .command("down")
    .description("stop a cluster started with `neverstop up --detach` (and its Toxiproxy)")
    .option("--data-dir <folder>", "the cluster's data folder", dataDirDefault)
    .action(async (options: { dataDir: string }) => console.log(await down(options.dataDir)));
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
  toxiproxy: boolean;
  toxiproxyPort?: number;
  spareNodes: number;
  lwwBuckets: string;
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
  if (options.nodes + options.spareNodes > 16) {
    throw new CliError(
      `Expected \`--nodes\` + \`--spare-nodes\` to be at most 16, got ${options.nodes + options.spareNodes}`,
    );
  }
  // Ports and proxies cover the spares too, so a node that joins later is breakable as well.
  const layout: PortLayout = {
    basePort: options.basePort,
    nodeCount: options.nodes + options.spareNodes,
  };
  const toxiproxyPort = options.toxiproxyPort ?? toxiproxyPortOf(layout);
  await checkPortsFree(layout, options.toxiproxy ? toxiproxyPort : undefined);
  process.stderr.write(`starting ${options.nodes} nodes (sync ${options.sync}) ...\n`);
  const started = await startCluster({
    nodes: options.nodes,
    layout,
    sync: options.sync,
    dataDir,
    detach: options.detach,
    repair: options.repair,
    toxiproxy: options.toxiproxy,
    toxiproxyPort,
    cluster: {
      spareNodes: options.spareNodes,
      bucketModes: Object.fromEntries(
        options.lwwBuckets
          .split(",")
          .map((name) => name.trim())
          .filter((name) => name.length > 0)
          .map((name) => [name, "lww" as const]),
      ),
    },
  });
  if (!options.detach) {
    started.record.supervisorPid = process.pid;
    writeRecord(started.record);
  }
  for (const line of describeCluster(started.record)) console.log(line);
  const first = started.record.nodes[0]!;
  console.log(`try: curl -X PUT ${first.clientUrl ?? first.httpUrl}/kv/demo/hello -d '"world"'`);
  const ids = started.record.nodes.map((node) => node.id);
  if (started.record.toxiproxy !== undefined && ids.length >= 2) {
    const half = Math.floor(ids.length / 2);
    const split = `${ids.slice(0, half).join(",")} ${ids.slice(half).join(",")}`;
    console.log(
      `break it: npx neverstop partition ${split} | heal | kill ${ids.at(-1)} | latency ${ids[0]}->${ids[1]} 200ms | reset`,
    );
  }
  if (options.detach) {
    console.log(
      `cluster running in the background; \`npx neverstop status\`, \`npx neverstop down\``,
    );
    return;
  }
  // The course site's live dashboard, served by this process on 127.0.0.1 (lesson 10).
  const { ensureSiteBuilt, startDashboard } = await import("../../../site/server/dashboard.ts");
  const built = await ensureSiteBuilt();
  if (built !== undefined) process.stderr.write(`${built}\n`);
  const dashboard = await startDashboard({ dataDir });
  console.log(`dashboard: ${dashboard.url}`);
  console.log("Ctrl-C stops the cluster");
  await new Promise<void>((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal());
    process.once("SIGTERM", () => resolveSignal());
  });
  process.stderr.write("stopping ...\n");
  await dashboard.stop();
  await started.stop();
}

/** The lines `up` prints: where Toxiproxy is, and each node directly and through its proxy. */
export function describeCluster(record: ClusterRecord): string[] {
  const lines: string[] = [];
  if (record.toxiproxy !== undefined) {
    lines.push(`toxiproxy  ${record.toxiproxy.url}  (${record.toxiproxy.kind})`);
  }
  for (const node of record.nodes) {
    const proxied = node.clientUrl === undefined ? "" : `  via proxy ${node.clientUrl}`;
    lines.push(`${node.id}  ${node.httpUrl}${proxied}  (pid ${node.pid ?? "-"})`);
  }
  return lines;
}

/** Every fixed port the cluster needs, free now, or one line naming the first taken one. */
async function checkPortsFree(
  layout: PortLayout,
  toxiproxyPort: number | undefined,
): Promise<void> {
  let ports: { httpPort: number; peerPort: number }[];
  let proxies: { port: number; what: string }[] = [];
  try {
    ports = fixedPorts(layout.nodeCount, layout.basePort);
    if (toxiproxyPort !== undefined) proxies = proxyPorts(layout);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const wanted: { port: number; what: string }[] = [];
  for (const [index, { httpPort, peerPort }] of ports.entries()) {
    wanted.push({ port: httpPort, what: `HTTP of n${index + 1}` });
    wanted.push({ port: peerPort, what: `peer of n${index + 1}` });
  }
  // An external Toxiproxy (TOXIPROXY_URL) already holds its own API port.
  const external = (process.env["TOXIPROXY_URL"] ?? "") !== "";
  if (toxiproxyPort !== undefined && !external)
    wanted.push({ port: toxiproxyPort, what: "Toxiproxy API" });
  if (!external) wanted.push(...proxies);
  for (const { port, what } of wanted) {
    if (!(await portIsFree(port))) {
      throw new CliError(
        `port ${port} (${what}) on 127.0.0.1 is already in use: stop what uses it or pick another --base-port`,
      );
    }
  }
}

export interface StartClusterOptions {
  nodes: number;
  /** Fixed ports (`up`); omitted: free ports and proxies on 127.0.0.1:0 (tests). */
  layout?: PortLayout;
  sync: "always" | "interval" | "never";
  /** An existing folder; cluster.json is written there. */
  dataDir: string;
  detach: boolean;
  repair?: boolean;
  /** Put a Toxiproxy proxy on every link. */
  toxiproxy: boolean;
  /** The API port of a Toxiproxy started here (0: any free port). */
  toxiproxyPort?: number;
  /** Anything else startLocalCluster takes (tests shorten timeouts). */
  cluster?: Omit<
    LocalClusterOptions,
    "nodes" | "basePort" | "dataDir" | "sync" | "detach" | "repairStores" | "peerAddress"
  >;
  log?: (line: string) => void;
}

export interface StartedCluster {
  record: ClusterRecord;
  cluster: LocalCluster;
  /** Stops the nodes (those a nemesis restarted too), the proxies and a Toxiproxy started here,
   * and removes cluster.json. */
  stop(): Promise<void>;
}

/**
 * Starts the Toxiproxy, creates the proxy of every node-to-node link as the nodes are
 * configured, starts the nodes, then the client proxies, and records it all in cluster.json:
 * the one path `up`, `npm start` and the nemesis tests share.
 */
export async function startCluster(options: StartClusterOptions): Promise<StartedCluster> {
  let toxiproxy: ClusterToxiproxy | undefined;
  let topology: LinkTopology | undefined;
  if (options.toxiproxy) {
    try {
      toxiproxy = await startClusterToxiproxy({
        port: options.toxiproxyPort ?? 0,
        detach: options.detach,
        dataDir: options.dataDir,
        ...(options.log === undefined ? {} : { log: options.log }),
      });
    } catch (error) {
      throw new CliError(`cannot start Toxiproxy: ${(error as Error).message.split("\n")[0]}`);
    }
    topology = new LinkTopology(toxiproxy.url, options.layout);
  }
  const stopToxiproxy = async () => {
    if (toxiproxy?.kind === "external") await topology?.remove();
    await toxiproxy?.stop();
  };
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      ...options.cluster,
      nodes: options.nodes,
      ...(options.layout === undefined ? {} : { basePort: options.layout.basePort }),
      dataDir: options.dataDir,
      sync: options.sync,
      detach: options.detach,
      repairStores: options.repair ?? false,
      ...(topology === undefined ? {} : { peerAddress: topology.peerAddress }),
    });
  } catch (error) {
    await stopToxiproxy();
    if (error instanceof ClusterStartError) throw new CliError(error.message);
    if (error instanceof Error && error.message.startsWith("cannot create the proxy"))
      throw new CliError(error.message.split("\n")[0]!);
    throw error;
  }
  let clientUrls: Record<string, string> = {};
  try {
    if (topology !== undefined) clientUrls = await topology.addClientProxies(cluster.nodes);
  } catch (error) {
    await cluster.stop();
    await stopToxiproxy();
    throw new CliError((error as Error).message.split("\n")[0]!);
  }
  const record: ClusterRecord = {
    dataDir: options.dataDir,
    startedAt: new Date().toISOString(),
    detached: options.detach,
    sync: options.sync,
    nodes: cluster.nodes.map(({ id, httpUrl, httpPort, peerPort, pid }) => ({
      id,
      httpUrl,
      httpPort,
      peerPort,
      pid,
      ...(clientUrls[id] === undefined ? {} : { clientUrl: clientUrls[id] }),
    })),
    ...(toxiproxy === undefined
      ? {}
      : {
          toxiproxy: {
            url: toxiproxy.url,
            kind: toxiproxy.kind,
            ...(toxiproxy.pid === undefined ? {} : { pid: toxiproxy.pid }),
          },
        }),
  };
  writeRecord(record);
  const stop = async () => {
    await cluster.stop();
    // A nemesis may have restarted a node as a new process this handle does not know.
    const latest = readRecordQuietly(options.dataDir);
    for (const node of latest?.nodes ?? []) {
      if (node.pid !== undefined && isNeverstopNode(node.pid)) await stopProcess(node.pid);
    }
    await stopToxiproxy();
    rmSync(join(options.dataDir, clusterFileName), { force: true });
  };
  return { record, cluster, stop };
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

/** Stops a recorded cluster: its nodes, the `up` that supervises them, and a detached
 * Toxiproxy (an external one only loses this cluster's proxies). Returns the line to print. */
export async function down(dataDirOption: string): Promise<string> {
  const dataDir = resolve(dataDirOption);
  const record = readRecord(dataDir);
  if (record === undefined) {
    return `no cluster recorded in ${dataDirOption}/${clusterFileName}: nothing to stop`;
  }
  const pids = record.nodes
    .map((node) => node.pid)
    .filter((pid): pid is number => pid !== undefined && isNeverstopNode(pid));
  if (record.supervisorPid !== undefined && isAlive(record.supervisorPid))
    pids.push(record.supervisorPid);
  for (const pid of pids) signal(pid, "SIGCONT");
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + downGraceMs;
  while (pids.some(processExists) && Date.now() < deadline)
    await new Promise((wait) => setTimeout(wait, 100));
  const stubborn = pids.filter(processExists);
  for (const pid of stubborn) signal(pid, "SIGKILL");
  let proxies = "";
  const toxiproxy = record.toxiproxy;
  if (toxiproxy?.pid !== undefined && isToxiproxyProcess(toxiproxy.pid)) {
    await stopProcess(toxiproxy.pid);
    proxies = " and its Toxiproxy";
  } else if (toxiproxy?.kind === "external") {
    const topology = new LinkTopology(toxiproxy.url);
    for (const name of allLinkNames(record.nodes.map((node) => node.id)))
      topology.listens.set(name, "");
    await topology.remove();
    proxies = " and removed its proxies";
  }
  rmSync(join(dataDir, clusterFileName), { force: true });
  return `stopped ${pids.length} process(es)${stubborn.length > 0 ? ` (${stubborn.length} needed SIGKILL)` : ""}${proxies}`;
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
      const alive = node.pid !== undefined && processExists(node.pid);
      return {
        id: node.id,
        httpUrl: node.httpUrl,
        ...(node.clientUrl === undefined ? {} : { clientUrl: node.clientUrl }),
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
        {
          running: nodes.some((node) => node.alive),
          dataDir,
          startedAt: record.startedAt,
          ...(record.toxiproxy === undefined ? {} : { toxiproxy: record.toxiproxy }),
          nodes,
        },
        null,
        2,
      ),
    );
    return;
  }
  if (record.toxiproxy !== undefined) {
    console.log(`toxiproxy  ${record.toxiproxy.url}  (${record.toxiproxy.kind})`);
  }
  for (const node of nodes) {
    const state = node.healthy ? "healthy" : node.alive ? "not answering" : "down";
    const proxied = node.clientUrl === undefined ? "" : `  via proxy ${node.clientUrl}`;
    console.log(`${node.id}  ${node.httpUrl}${proxied}  pid ${node.pid ?? "-"}  ${state}`);
  }
}

export function writeRecord(record: ClusterRecord): void {
  writeFileSync(join(record.dataDir, clusterFileName), JSON.stringify(record, null, 2) + "\n");
}

function readRecordQuietly(dataDir: string): ClusterRecord | undefined {
  try {
    return readRecord(dataDir);
  } catch {
    return undefined;
  }
}

export function readRecord(dataDir: string): ClusterRecord | undefined {
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
export function isNeverstopNode(pid: number): boolean {
  if (!processExists(pid)) return false;
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
