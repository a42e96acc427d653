// `npx neverstop partition|heal|kill|restart|pause|resume|latency|bandwidth|flaky|skew|reset`
// (lesson 3, "network splits"; lesson 5, "systems that never stop"): faults thrown by hand at a
// running cluster. Each command reads `.neverstop/cluster.json` (written by `up`), applies one
// nemesis operation through the local backend (process signals, the Toxiproxy proxies, the
// nodes' admin clock route), appends it to `.neverstop/nemesis.jsonl` the way a history records
// it (process "nemesis", f "start-partition", ...), and prints one line. Bad input and a missing
// cluster are one line and exit status 1.
//
//   npx neverstop partition n1,n2 n3,n4,n5        the named split (also "n1,n2|n3,n4,n5")
//   npx neverstop partition --shape isolate:n3    halves | majority[:n4,n5] | isolate:N |
//                                                 bridge[:N] | ring | one-way:n1->n2
//   npx neverstop heal                            every link back
//   npx neverstop latency n1->n2 200ms --jitter 20ms   (0 removes it; links may be a list)
//   npx neverstop skew n4 +30s                    (0 puts the clock back)
//   npx neverstop reset                           heal, no toxics, resume paused, zero skews
//
// The exported functions are what the commands call, so the tests drive exactly the CLI's path.

import { appendFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parseDuration } from "../chaos/harness/duration.ts";
import { ProcessNemesisBackend } from "../chaos/nemesis/local.ts";
import {
  checkLink,
  checkNode,
  describeNemesisFault,
  linkCountMax,
  Nemesis,
  partitionFault,
  type NemesisFault,
  type NemesisRecorder,
} from "../chaos/nemesis/nemesis.ts";
import { parseSplit, type PartitionShape } from "../chaos/nemesis/partitions.ts";
import { CliError } from "./errors.ts";
import { dataDirDefault, readRecord, type ClusterRecord } from "./local-cluster.ts";
import { RecordedProcesses } from "./recorded-cluster.ts";

export const nemesisHistoryName = "nemesis.jsonl";

/** A recorded cluster, ready to be broken. */
export interface OpenCluster {
  record: ClusterRecord;
  backend: ProcessNemesisBackend;
  nemesis: Nemesis;
}

/** `needsLinks`: the command cuts or slows links, which only a cluster with Toxiproxy has;
 * `allowAllDown`: the command may find every node killed (restart brings one back). */
export async function openCluster(
  dataDirOption: string = dataDirDefault,
  options: { needsLinks?: boolean; allowAllDown?: boolean } = {},
): Promise<OpenCluster> {
  const dataDir = resolve(dataDirOption);
  const record = readRecord(dataDir);
  // A Docker cluster (`up --backend docker`): containers in place of processes, the rest alike.
  const docker =
    record?.backend === "docker" ? await import("../chaos/nemesis/docker/stack.ts") : undefined;
  const backend =
    record === undefined
      ? undefined
      : docker?.isDockerRecord(record) === true
        ? attemptSync(() => docker.recordedDockerBackend(record))
        : new ProcessNemesisBackend("local", new RecordedProcesses(record), record.toxiproxy?.url);
  const anyRunning = async () => {
    for (const node of backend!.nodes) if (await backend!.processes.isRunning(node)) return true;
    return false;
  };
  if (record === undefined || (options.allowAllDown !== true && !(await attempt(anyRunning)))) {
    throw new CliError(
      `no cluster is running from ${dataDirOption} (start one with \`npx neverstop up --detach\`)`,
    );
  }
  if (options.needsLinks === true && record.toxiproxy === undefined) {
    throw new CliError(
      `the cluster in ${dataDirOption} was started with --no-toxiproxy: its links cannot be broken (restart it without that flag)`,
    );
  }
  return { record, backend: backend!, nemesis: new Nemesis(backend!, fileRecorder(record)) };
}

/** Appends nemesis operations to nemesis.jsonl, timed in ns since the cluster started. */
function fileRecorder(record: ClusterRecord): NemesisRecorder {
  const startedMs = Date.parse(record.startedAt);
  return {
    nemesis(type, f, value) {
      const time = Math.max(0, Math.round((Date.now() - startedMs) * 1e6));
      const line = JSON.stringify({ time, process: "nemesis", type, f, value });
      try {
        appendFileSync(join(record.dataDir, nemesisHistoryName), line + "\n");
      } catch {
        // The history is a courtesy; the fault itself is what was asked for.
      }
    },
  };
}

function attemptSync<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw new CliError((error instanceof Error ? error.message : String(error)).split("\n")[0]!);
  }
}

/** Runs a fault and turns any failure into one line. */
async function attempt<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error instanceof Error ? error.message : String(error)).split("\n")[0]!);
  }
}

const nodeIdsOf = (open: OpenCluster) => open.backend.nodes;

export async function partitionCommand(
  dataDir: string,
  groups: readonly string[],
  options: { shape?: string; drop?: boolean } = {},
): Promise<string> {
  const open = await openCluster(dataDir, { needsLinks: true });
  return attempt(async () => {
    const nodes = nodeIdsOf(open);
    if (groups.length > 0 && options.shape !== undefined) {
      throw new CliError("Expected either groups (n1,n2 n3,n4,n5) or --shape, not both");
    }
    if (groups.length === 0 && options.shape === undefined) {
      throw new CliError("Expected groups like `n1,n2 n3,n4,n5` or --shape halves|majority|...");
    }
    const shape = options.shape !== undefined ? parseShape(options.shape) : parseSplit([...groups]);
    const fault = partitionFault(nodes, shape, options.drop === true ? "drop" : "refuse");
    // One partition at a time, as Jepsen's partitioner: a new one replaces the old.
    await open.backend.healLinks();
    await open.nemesis.start(fault);
    return `${describeNemesisFault(fault)}: ${fault.cut.length} link(s) cut`;
  });
}

/** `halves`, `majority`, `majority:n4,n5`, `isolate:n3`, `bridge`, `bridge:n3`, `ring`,
 * `one-way:n1->n2`, or groups `n1,n2|n3,n4,n5`. */
export function parseShape(text: string): PartitionShape {
  const [kind, argument] = splitOnce(text.trim(), ":");
  switch (kind) {
    case "halves":
    case "ring":
      if (argument !== undefined) break;
      return { kind };
    case "majority":
      return argument === undefined
        ? { kind: "majority-minority" }
        : { kind: "majority-minority", minority: argument.split(",") };
    case "isolate":
      if (argument === undefined || argument === "") break;
      return { kind: "isolate", node: argument };
    case "bridge":
      return argument === undefined ? { kind } : { kind, bridge: argument };
    case "one-way": {
      const match = /^([^-]+)->(.+)$/.exec(argument ?? "");
      if (match === null) break;
      return { kind: "one-way", from: match[1]!, to: match[2]! };
    }
    default:
      if (text.includes(",") || text.includes("|")) return parseSplit(text);
  }
  throw new RangeError(
    `Expected --shape to be halves, majority[:n4,n5], isolate:N, bridge[:N], ring, one-way:n1->n2 or groups n1,n2|n3,n4,n5, got ${JSON.stringify(text)}`,
  );
}

export async function healCommand(dataDir: string): Promise<string> {
  const open = await openCluster(dataDir, { needsLinks: true });
  return attempt(async () => {
    const all = nodeIdsOf(open);
    await open.nemesis.stop({
      name: "partition",
      description: "every link",
      how: "refuse",
      cut: [],
    });
    return `healed: every link between ${all.join(", ")} is back`;
  });
}

export async function killCommand(dataDir: string, node: string): Promise<string> {
  const open = await openCluster(dataDir);
  return attempt(async () => {
    await open.nemesis.start({ name: "kill", node: checkNode(node, nodeIdsOf(open)) });
    const how = open.backend.kind === "docker" ? "docker kill -s KILL" : "kill -9";
    return `killed ${node} (${how}); \`npx neverstop restart ${node}\` starts it again`;
  });
}

export async function restartCommand(dataDir: string, node: string): Promise<string> {
  const open = await openCluster(dataDir, { allowAllDown: true });
  return attempt(async () => {
    await open.nemesis.stop({ name: "kill", node: checkNode(node, nodeIdsOf(open)) });
    const entry = open.record.nodes.find((each) => each.id === node)!;
    const where = open.backend.kind === "docker" ? "its container" : `pid ${entry.pid ?? "-"}`;
    return `restarted ${node} (${where}), answering on ${entry.httpUrl}`;
  });
}

export async function pauseCommand(dataDir: string, node: string): Promise<string> {
  const open = await openCluster(dataDir);
  return attempt(async () => {
    await open.nemesis.start({ name: "pause", node: checkNode(node, nodeIdsOf(open)) });
    const how = open.backend.kind === "docker" ? "docker pause" : "SIGSTOP";
    return `paused ${node} (${how}); \`npx neverstop resume ${node}\` thaws it`;
  });
}

export async function resumeCommand(dataDir: string, node: string): Promise<string> {
  const open = await openCluster(dataDir);
  return attempt(async () => {
    await open.nemesis.stop({ name: "pause", node: checkNode(node, nodeIdsOf(open)) });
    return `resumed ${node} (${open.backend.kind === "docker" ? "docker unpause" : "SIGCONT"})`;
  });
}

/** `n1->n2` or a comma-separated list of links. */
function parseLinks(text: string, open: OpenCluster): string[] {
  const links = text
    .split(",")
    .map((link) => link.trim())
    .filter((link) => link !== "");
  if (links.length === 0 || links.length > linkCountMax) {
    throw new RangeError(`Expected from 1 to ${linkCountMax} links like n1->n2, got ${text}`);
  }
  return links.map((link) => checkLink(link, nodeIdsOf(open)));
}

async function linkFault(
  open: OpenCluster,
  fault: Extract<NemesisFault, { links: string[] }>,
  remove: boolean,
): Promise<string> {
  if (remove) {
    await open.nemesis.stop(fault);
    return `${fault.name} removed from ${fault.links.join(", ")}`;
  }
  await open.nemesis.start(fault);
  return describeNemesisFault(fault);
}

export async function latencyCommand(
  dataDir: string,
  linkText: string,
  latencyText: string,
  options: { jitter?: string } = {},
): Promise<string> {
  const open = await openCluster(dataDir, { needsLinks: true });
  return attempt(async () => {
    const links = parseLinks(linkText, open);
    const latencyMs = parseDuration(latencyText, "latency");
    const jitterMs = options.jitter === undefined ? 0 : parseDuration(options.jitter, "--jitter");
    return linkFault(open, { name: "latency", links, latencyMs, jitterMs }, latencyMs === 0);
  });
}

export async function bandwidthCommand(
  dataDir: string,
  linkText: string,
  rateText: string,
): Promise<string> {
  const open = await openCluster(dataDir, { needsLinks: true });
  return attempt(async () => {
    const links = parseLinks(linkText, open);
    const match = /^([0-9]{1,8})\s*(?:KB\/s|kb\/s|KB|kb)?$/.exec(rateText.trim());
    if (match === null) {
      throw new RangeError(
        `Expected a rate in KB/s like 100 or 100KB/s, got ${JSON.stringify(rateText)}`,
      );
    }
    const rateKbPerSecond = Number(match[1]);
    return linkFault(open, { name: "bandwidth", links, rateKbPerSecond }, false);
  });
}

export async function flakyCommand(
  dataDir: string,
  linkText: string,
  options: { mode?: string; toxicity?: string; remove?: boolean } = {},
): Promise<string> {
  const open = await openCluster(dataDir, { needsLinks: true });
  return attempt(async () => {
    const links = parseLinks(linkText, open);
    const mode = options.mode ?? "reset_peer";
    if (mode !== "reset_peer" && mode !== "timeout") {
      throw new RangeError(`Expected --mode reset_peer or timeout, got ${JSON.stringify(mode)}`);
    }
    const toxicity = Number(options.toxicity ?? "0.3");
    if (!(toxicity >= 0 && toxicity <= 1)) {
      throw new RangeError(
        `Expected --toxicity from 0 to 1, got ${JSON.stringify(options.toxicity)}`,
      );
    }
    const fault: NemesisFault = { name: "flaky", links, mode, toxicity, timeoutMs: 0 };
    return linkFault(open, fault, options.remove === true);
  });
}

/** "+30s", "-500ms", "0": a signed duration. */
export function parseOffset(text: string): number {
  const match = /^\s*([+-]?)(.*)$/.exec(text)!;
  const magnitude = parseDuration(match[2]!, "offset");
  return match[1] === "-" ? -magnitude : magnitude;
}

export async function skewCommand(
  dataDir: string,
  node: string,
  offsetText: string,
): Promise<string> {
  const open = await openCluster(dataDir);
  return attempt(async () => {
    checkNode(node, nodeIdsOf(open));
    const offsetMs = parseOffset(offsetText);
    const fault: NemesisFault = { name: "skew", node, offsetMs };
    if (offsetMs === 0) {
      await open.nemesis.stop(fault);
      return `${node}'s clock is back to the system clock`;
    }
    await open.nemesis.start(fault);
    return describeNemesisFault(fault);
  });
}

export async function resetCommand(dataDir: string): Promise<string> {
  const open = await openCluster(dataDir);
  return attempt(async () => {
    const recorder = fileRecorder(open.record);
    recorder.nemesis("invoke", "reset", null);
    await open.backend.reset();
    recorder.nemesis("info", "reset", null);
    const down: string[] = [];
    for (const node of open.backend.nodes)
      if (!(await open.backend.processes.isRunning(node))) down.push(node);
    const links =
      open.record.toxiproxy === undefined ? "" : "every link healed and free of toxics, ";
    return `reset: ${links}paused nodes resumed, clocks back${
      down.length > 0 ? `; still down: ${down.join(", ")} (\`npx neverstop restart NODE\`)` : ""
    }`;
  });
}

/** Adds the fault commands to the neverstop command line. */
export function registerNemesisCommands(program: Command): void {
  const dataDirOption = [
    "--data-dir <folder>",
    "the cluster's data folder",
    dataDirDefault,
  ] as const;
  const print = (line: string) => console.log(line);
  program
    .command("partition")
    .description("split the running cluster: `partition n1,n2 n3,n4,n5` or --shape")
    .argument("[groups...]", "groups of nodes, each comma-separated (the rest form one more)")
    .option(
      "--shape <shape>",
      "halves | majority[:n4,n5] | isolate:N | bridge[:N] | ring | one-way:n1->n2",
    )
    .option("--drop", "blackhole the cut links instead of refusing connections", false)
    .option(...dataDirOption)
    .action(async (groups: string[], options: { shape?: string; drop: boolean; dataDir: string }) =>
      print(await partitionCommand(options.dataDir, groups, options)),
    );
  program
    .command("heal")
    .description("end a partition: every link back")
    .option(...dataDirOption)
    .action(async (options: { dataDir: string }) => print(await healCommand(options.dataDir)));
  for (const [name, description, run] of [
    ["kill", "kill -9 one node", killCommand],
    ["restart", "start a node again (stopping it first if it runs)", restartCommand],
    ["pause", "freeze one node with SIGSTOP", pauseCommand],
    ["resume", "thaw a paused node with SIGCONT", resumeCommand],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument("<node>", "a node id such as n3")
      .option(...dataDirOption)
      .action(async (node: string, options: { dataDir: string }) =>
        print(await run(options.dataDir, node)),
      );
  }
  program
    .command("latency")
    .description("delay what flows on links: `latency n1->n2 200ms` (0 removes it)")
    .argument("<links>", "n1->n2, client->n3, or a comma-separated list")
    .argument("<latency>", "a duration such as 200ms")
    .option("--jitter <duration>", "plus or minus this much, at random")
    .option(...dataDirOption)
    .action(async (links: string, latency: string, options: { jitter?: string; dataDir: string }) =>
      print(await latencyCommand(options.dataDir, links, latency, options)),
    );
  program
    .command("bandwidth")
    .description("cap links at a rate in KB/s: `bandwidth n1->n2 100`")
    .argument("<links>", "n1->n2, client->n3, or a comma-separated list")
    .argument("<rate>", "KB/s")
    .option(...dataDirOption)
    .action(async (links: string, rate: string, options: { dataDir: string }) =>
      print(await bandwidthCommand(options.dataDir, links, rate)),
    );
  program
    .command("flaky")
    .description("make a share of the connections on links fail: reset_peer or timeout")
    .argument("<links>", "n1->n2, client->n3, or a comma-separated list")
    .option("--mode <mode>", "reset_peer (an RST) or timeout (a hang)", "reset_peer")
    .option("--toxicity <share>", "the share of connections affected, 0..1", "0.3")
    .option("--remove", "take it off again", false)
    .option(...dataDirOption)
    .action(
      async (
        links: string,
        options: { mode: string; toxicity: string; remove: boolean; dataDir: string },
      ) => print(await flakyCommand(options.dataDir, links, options)),
    );
  program
    .command("skew")
    .description("move one node's clock: `skew n4 +30s` (0 puts it back)")
    .argument("<node>", "a node id such as n4")
    .argument("<offset>", "a signed duration such as +30s or -500ms")
    .option(...dataDirOption)
    // "-500ms" looks like an option to the parser: let it through as the offset.
    .allowUnknownOption()
    .action(async (node: string, offset: string, options: { dataDir: string }) =>
      print(await skewCommand(options.dataDir, node, offset)),
    );
  program
    .command("reset")
    .description("heal every link, remove every toxic, resume paused nodes, zero every skew")
    .option(...dataDirOption)
    .action(async (options: { dataDir: string }) => print(await resetCommand(options.dataDir)));
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
