// `npx neverstop up | down | status` (lesson 5, "systems that never stop"): the local cluster's
// lifecycle from the command line. `up` stays in the foreground until Ctrl-C, or with --detach
// leaves the nodes running and records them in `<data-dir>/cluster.json`, which `down` and
// `status` read. Every failure is one line and a non-zero exit status, never a stack trace.
// What `up` starts (the nodes, their Toxiproxy, the ports) is local-cluster.ts's business;
// this module reads the flags and prints.

import { resolve } from "node:path";
import { Command, Option } from "commander";
import { toxiproxyPortOf, type PortLayout } from "../chaos/nemesis/topology.ts";
import { basePortDefault, fetchHealth, nodeCountMax } from "../cluster/runtime/real/cluster.ts";
import { isNeverstopNode } from "../cluster/runtime/real/node-process.ts";
import { processExists } from "../chaos/nemesis/toxiproxy-process.ts";
import {
  clusterBackendNames,
  clusterBackends,
  type ClusterBackendName,
} from "./cluster-backends.ts";
import { startClusterDashboard } from "./dashboard.ts";
import type { Dashboard } from "../site/server/dashboard.ts";
import { CliError } from "./errors.ts";
import {
  checkPortsFree,
  dataDirDefault,
  down,
  prepareDataDir,
  readRecord,
  writeRecord,
  type ClusterRecord,
  type StartClusterOptions,
} from "./local-cluster.ts";
import { integerArgument, loadPoliciesOption } from "./options.ts";

/** Nodes plus spares: every one gets ports and proxies up front. */
const memberCountMax = 16;

export function registerClusterCommands(program: Command): void {
  registerUp(program);
  program
    .command("down")
    .description("stop a cluster started with `neverstop up --detach` (and its Toxiproxy)")
    .option("--data-dir <folder>", "the cluster's data folder", dataDirDefault)
    .action(async (options: { dataDir: string }) => console.log(await downAny(options.dataDir)));
  program
    .command("status")
    .description("show each member's client URL, process id and health")
    .option("--data-dir <folder>", "the cluster's data folder", dataDirDefault)
    .option("--json", "print JSON", false)
    .action(async (options: { dataDir: string; json: boolean }) =>
      status(options.dataDir, options.json),
    );
}

function registerUp(program: Command): void {
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
    .addOption(
      new Option("--backend <backend>", "where the nodes run")
        .choices(clusterBackendNames)
        .default("local"),
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
    .option(
      "--policies <file>",
      "a module of replacement policies (a lab's solution) every node loads",
    )
    .option(
      "--image <tag>",
      "with --backend docker: a published node image (pulled when missing); default: built from the sources, offline",
    )
    .option("--no-toxiproxy", "wire the nodes directly to each other (nothing to break)")
    .option("--no-dashboard", "do not serve the live dashboard (only in the foreground: lesson 10)")
    .addOption(
      new Option(
        "--toxiproxy-port <port>",
        "the Toxiproxy HTTP API port (default base+394: 8474)",
      ).argParser(integerArgument),
    )
    .action(async (options: UpOptions, command: Command) => {
      await up(options, command.getOptionValueSource("dataDir") === "default");
    });
}

interface UpOptions {
  nodes: number;
  basePort: number;
  sync: "always" | "interval" | "never";
  backend: ClusterBackendName;
  dataDir: string;
  detach: boolean;
  repair: boolean;
  toxiproxy: boolean;
  toxiproxyPort?: number;
  spareNodes: number;
  lwwBuckets: string;
  policies?: string;
  image?: string;
  dashboard: boolean;
}

async function up(options: UpOptions, dataDirIsDefault: boolean): Promise<void> {
  const backend = clusterBackends[options.backend];
  if (backend === undefined) {
    throw new CliError(
      `\`--backend ${options.backend}\` cannot start clusters yet: use \`--backend local\``,
    );
  }
  const policies =
    options.policies === undefined
      ? undefined
      : (await loadPoliciesOption(options.policies, 1)).path;
  const dataDir = resolve(options.dataDir);
  prepareDataDir(dataDir, dataDirIsDefault);
  await checkNothingRuns(dataDir, options.dataDir);
  checkCounts(options);
  const docker = options.backend === "docker";
  // Ports and proxies cover the spares too, so a node that joins later is breakable as well.
  const layout: PortLayout = {
    basePort: options.basePort,
    nodeCount: options.nodes + options.spareNodes,
  };
  const toxiproxyPort = options.toxiproxyPort ?? toxiproxyPortOf(layout);
  // A Docker cluster takes free ports at random: only the local one needs the fixed layout.
  if (!docker) await checkPortsFree(layout, options.toxiproxy ? toxiproxyPort : undefined);
  const where = docker ? " in Docker containers" : "";
  process.stderr.write(`starting ${options.nodes} nodes${where} (sync ${options.sync}) ...\n`);
  const startOptions: StartClusterOptions = {
    nodes: options.nodes,
    layout,
    sync: options.sync,
    dataDir,
    detach: options.detach,
    repair: options.repair,
    toxiproxy: options.toxiproxy,
    toxiproxyPort,
    ...(options.image === undefined ? {} : { image: options.image }),
    cluster: {
      spareNodes: options.spareNodes,
      bucketModes: lwwBucketModes(options.lwwBuckets),
      ...(policies === undefined ? {} : { policies }),
    },
  };
  const started = await backend(startOptions);
  if (!options.detach) {
    started.record.supervisorPid = process.pid;
    writeRecord(started.record);
  }
  for (const line of describeStarted(started.record)) console.log(line);
  if (options.detach) {
    console.log(
      `cluster running in the background; \`npx neverstop status\`, \`npx neverstop down\``,
    );
    return;
  }
  // The course site's live dashboard (lesson 10), served by this process on 127.0.0.1 at the
  // layout's base port, which no node uses (nodes take base+1..).
  const dashboard = options.dashboard ? await startDashboardNear(dataDir, options.basePort) : null;
  console.log("Ctrl-C stops the cluster");
  await new Promise<void>((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal());
    process.once("SIGTERM", () => resolveSignal());
  });
  process.stderr.write("stopping ...\n");
  await dashboard?.stop();
  await started.stop();
}

/** The dashboard at `port`, or at a free port when that one is taken. */
async function startDashboardNear(dataDir: string, port: number): Promise<Dashboard> {
  try {
    return await startClusterDashboard(dataDir, port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    return await startClusterDashboard(dataDir, 0);
  }
}

async function checkNothingRuns(dataDir: string, dataDirOption: string): Promise<void> {
  const running = readRecord(dataDir);
  if (
    running !== undefined &&
    (running.nodes.some((node) => node.pid !== undefined && isNeverstopNode(node.pid)) ||
      (running.backend === "docker" &&
        (await (await import("./docker-cluster.ts")).anyDockerNodeRunning(running))))
  ) {
    throw new CliError(
      `a cluster is already running from ${dataDirOption} (see \`npx neverstop status\`; stop it with \`npx neverstop down\`)`,
    );
  }
}

function checkCounts(options: UpOptions): void {
  if (options.nodes < 1 || options.nodes > nodeCountMax) {
    throw new CliError(
      `Expected \`--nodes\` to be an integer from 1 to ${nodeCountMax}, got ${options.nodes}`,
    );
  }
  if (options.nodes + options.spareNodes > memberCountMax) {
    throw new CliError(
      `Expected \`--nodes\` + \`--spare-nodes\` to be at most ${memberCountMax}, got ${options.nodes + options.spareNodes}`,
    );
  }
}

function lwwBucketModes(names: string): Record<string, "lww"> {
  return Object.fromEntries(
    names
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name.length > 0)
      .map((name) => [name, "lww" as const]),
  );
}

/** What `up` prints once the cluster answers: where everything is, and what to try first. */
function describeStarted(record: ClusterRecord): string[] {
  const lines = describeCluster(record);
  const first = record.nodes[0]!;
  lines.push(`try: curl -X PUT ${first.clientUrl ?? first.httpUrl}/kv/demo/hello -d '"world"'`);
  const ids = record.nodes.map((node) => node.id);
  if (record.toxiproxy !== undefined && ids.length >= 2) {
    const half = Math.floor(ids.length / 2);
    const split = `${ids.slice(0, half).join(",")} ${ids.slice(half).join(",")}`;
    lines.push(
      `break it: npx neverstop partition ${split} | heal | kill ${ids.at(-1)} | latency ${ids[0]}->${ids[1]} 200ms | reset`,
    );
  }
  return lines;
}

/** The lines `up` prints: where Toxiproxy is, and each node directly and through its proxy. */
export function describeCluster(record: ClusterRecord): string[] {
  const lines: string[] = [];
  if (record.toxiproxy !== undefined) {
    lines.push(`toxiproxy  ${record.toxiproxy.url}  (${record.toxiproxy.kind})`);
  }
  for (const node of record.nodes) {
    const proxied = node.clientUrl === undefined ? "" : `  via proxy ${node.clientUrl}`;
    const where =
      node.container === undefined ? `pid ${node.pid ?? "-"}` : `container ${node.container}`;
    lines.push(`${node.id}  ${node.httpUrl}${proxied}  (${where})`);
  }
  return lines;
}

/** `down` of whatever runs: Docker containers (docker-cluster.ts) or local processes. */
async function downAny(dataDirOption: string): Promise<string> {
  const record = readRecord(resolve(dataDirOption));
  if (record?.backend !== "docker") return down(dataDirOption);
  const docker = await import("./docker-cluster.ts");
  if (!docker.isDockerRecord(record)) return down(dataDirOption);
  return docker.downDocker(record);
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
  if (record.backend === "docker") {
    const docker = await import("./docker-cluster.ts");
    if (docker.isDockerRecord(record)) return docker.statusDocker(record, json);
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
