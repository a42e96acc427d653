// `npx neverstop join n6` and `npx neverstop leave n2` (lesson 8, "scaling out"): grow and
// shrink a running local cluster one node at a time, the way `riak-admin cluster join/leave`
// does. Both read the cluster that `npx neverstop up --detach` recorded in
// `<data-dir>/cluster.json`.
//
//   join n6    starts the spare node n6 (its folder and configuration were prepared by `up`:
//              a cluster can only grow into the spare nodes it was started with, because every
//              node must already know every possible peer's address; see cluster.ts), asks a
//              member to add it, and waits until every member's ring has it. Partitions then
//              move to n6 in the background.
//   leave n2   asks another member to remove n2, waits until every remaining member agrees and
//              n2 has handed over every key, then stops n2 (unless --keep-running).
//
// Every failure is one line and exit status 1.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { NodeId } from "../cluster/core/types.ts";
import { ClusterStartError, launchDetachedNode } from "../cluster/runtime/real/cluster.ts";
import { isNeverstopNode } from "../cluster/runtime/real/node-process.ts";
import { CliError } from "./errors.ts";
import { clusterFileName, dataDirDefault, type ClusterRecord } from "./local-cluster.ts";

const waitSecondsDefault = 60;
const waitSecondsMax = 3_600;
const pollMs = 200;
const requestTimeoutMs = 2_000;
const stopGraceMs = 5_000;

type RecordedNode = ClusterRecord["nodes"][number];

interface RingView {
  version: number;
  members: NodeId[];
  owners: NodeId[];
}

interface MembershipOptions {
  dataDir: string;
  wait: number;
}

/** Adds `join` and `leave` to the `neverstop` program. */
export function registerMembershipCommands(program: Command): void {
  const waitOption = () =>
    new Option("--wait <seconds>", `how long to wait for the ring to settle, 1..${waitSecondsMax}`)
      .default(waitSecondsDefault)
      .argParser(secondsArgument);
  program
    .command("join")
    .description("start a spare node of a running cluster and add it to the ring (lesson 8)")
    .argument("<node>", "the spare node, e.g. n6 (`up --spare-nodes 1` prepares it)")
    .option("--data-dir <folder>", "the cluster's data folder", dataDirDefault)
    .addOption(waitOption())
    .action(async (node: string, options: MembershipOptions) => {
      for (const line of await joinNode(node, options)) console.log(line);
    });
  program
    .command("leave")
    .description("remove a node from the ring; it hands its data over, then stops (lesson 8)")
    .argument("<node>", "the member to remove, e.g. n2")
    .option("--data-dir <folder>", "the cluster's data folder", dataDirDefault)
    .option("--keep-running", "leave the process running after its data has moved", false)
    .addOption(waitOption())
    .action(async (node: string, options: MembershipOptions & { keepRunning: boolean }) => {
      for (const line of await leaveNode(node, options)) console.log(line);
    });
}

function secondsArgument(text: string): number {
  const value = /^[0-9]{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= waitSecondsMax)) {
    throw new InvalidArgumentError(
      `Expected \`--wait\` to be an integer from 1 to ${waitSecondsMax}, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return value;
}

/** Starts the spare `node`, has it added, waits for every member to agree. Returns what to print. */
export async function joinNode(node: NodeId, options: MembershipOptions): Promise<string[]> {
  checkNodeName(node);
  const record = readClusterRecord(options.dataDir);
  const deadline = Date.now() + options.wait * 1000;
  const recorded = record.nodes.find((entry) => entry.id === node);
  const host = await nodeHostOf(record);
  if (recorded !== undefined && (await host.isRunning(recorded))) {
    const ring = await fetchRing(recorded);
    if (ring?.members.includes(node)) {
      return [`${node} is already a member (ring version ${ring.version})`];
    }
  } else {
    if (!existsSync(join(record.dataDir, node, "config.json"))) {
      throw new CliError(
        `${node} is not a spare node of the cluster in ${record.dataDir}: a cluster can only grow into the spare nodes it was started with (\`npx neverstop up --spare-nodes 1\` prepares one)`,
      );
    }
    const entry = await host.start(node, remainingMs(deadline));
    record.nodes = [...record.nodes.filter((each) => each.id !== node), entry];
    writeClusterRecord(record);
  }
  // The joiner asks n1 on its own; asking a member here as well lets it in when n1 is down.
  const asked = await askMember(record, node, "join");
  const ring = await waitForRing(record, deadline, `every member to add ${node}`, (members) =>
    members.includes(node),
  );
  return [
    `${node} joined (asked ${asked}): ring version ${ring.version}, members ${ring.members.join(", ")}`,
    `partitions per member: ${describeOwnership(ring)}`,
    `data moves to ${node} in the background: watch neverstop_node_stat{stat="transfersActive"} in /metrics`,
  ];
}

/** Removes `node` from the ring, waits for its data to move, then stops it. */
export async function leaveNode(
  node: NodeId,
  options: MembershipOptions & { keepRunning: boolean },
): Promise<string[]> {
  checkNodeName(node);
  const record = readClusterRecord(options.dataDir);
  const deadline = Date.now() + options.wait * 1000;
  const asked = await askMember(record, node, "leave");
  const ring = await waitForRing(
    record,
    deadline,
    `every member to remove ${node}`,
    (members) => members.length > 0 && !members.includes(node),
  );
  const lines = [
    `${node} left (asked ${asked}): ring version ${ring.version}, members ${ring.members.join(", ")}`,
    `partitions per member: ${describeOwnership(ring)}`,
  ];
  const leaving = record.nodes.find((entry) => entry.id === node);
  const host = await nodeHostOf(record);
  if (leaving === undefined || !(await host.isRunning(leaving))) {
    return [...lines, `${node} is not running here: nothing to hand over or stop`];
  }
  // It hands over every key before it goes: stopping it sooner would lose the only copies of
  // the partitions it still holds for their new owners.
  for (;;) {
    const keyCount = await fetchKeyCount(leaving);
    if (keyCount === 0) break;
    const ringNow = await fetchRing(leaving);
    if (ringNow?.members.includes(node)) {
      // The node is back in the ring it was removed from: it asked to join again (a joiner that
      // is removed before it has noticed being a member does that).
      throw new CliError(
        `${node} is a member again (ring version ${ringNow.version}): it asked to join again after it was removed; run \`npx neverstop leave ${node}\` again`,
      );
    }
    if (Date.now() > deadline) {
      throw new CliError(
        `${node} left the ring but still holds ${keyCount ?? "an unknown number of"} keys after ${options.wait} s; it keeps handing them over (run \`npx neverstop leave ${node}\` again to wait longer)`,
      );
    }
    await sleep(pollMs);
  }
  lines.push(`${node} handed over all its data`);
  if (options.keepRunning) return [...lines, `${node} keeps running outside the ring`];
  await host.stop(leaving);
  record.nodes = record.nodes.filter((entry) => entry.id !== node);
  writeClusterRecord(record);
  return [...lines, `${node} stopped (start it again with \`npx neverstop join ${node}\`)`];
}

/** How a cluster's nodes start and stop: local processes, or containers (docker-cluster.ts). */
export interface NodeHost {
  isRunning(entry: RecordedNode): Promise<boolean>;
  /** Starts a prepared node (its config.json exists) and waits for its /health. */
  start(node: NodeId, startTimeoutMs: number): Promise<RecordedNode>;
  /** Stops it for good (a process gets SIGTERM; a container is removed). */
  stop(entry: RecordedNode): Promise<void>;
}

async function nodeHostOf(record: ClusterRecord): Promise<NodeHost> {
  if (record.backend === "docker") {
    return (await import("./docker-cluster.ts")).dockerNodeHost(record);
  }
  return {
    isRunning: async (entry) => entry.pid !== undefined && isNeverstopNode(entry.pid),
    async start(node, startTimeoutMs) {
      let started;
      try {
        started = await launchDetachedNode(
          join(record.dataDir, node, "config.json"),
          startTimeoutMs,
        );
      } catch (error) {
        if (error instanceof ClusterStartError) throw new CliError(error.message);
        throw error;
      }
      const { httpUrl, httpPort, peerPort, pid } = started;
      return { id: node, httpUrl, httpPort, peerPort, pid };
    },
    stop: (entry) => (entry.pid === undefined ? Promise.resolve() : stopNodeProcess(entry.pid)),
  };
}

function checkNodeName(node: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(node)) {
    throw new CliError(
      `Expected a node name such as n6 (letters, digits, - and _), got ${JSON.stringify(node.slice(0, 40))}`,
    );
  }
}

/** POST /admin/join or /admin/leave to the first member that answers (never `node` itself).
 * Returns the id of the member that accepted. */
async function askMember(
  record: ClusterRecord,
  node: NodeId,
  action: "join" | "leave",
): Promise<NodeId> {
  for (const member of record.nodes) {
    if (member.id === node) continue;
    let response: Response;
    try {
      response = await fetch(`${member.httpUrl}/admin/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ node }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch {
      continue; // down or not answering: ask the next one
    }
    if (response.status === 200) return member.id;
    const body = (await response.json().catch(() => ({}))) as { detail?: unknown };
    throw new CliError(
      `${member.id} refused to let ${node} ${action}: ${typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`}`,
    );
  }
  throw new CliError(`no member of the cluster in ${record.dataDir} answered; is it running?`);
}

/** Waits until every member that answers holds the same ring and it passes `wanted`. */
async function waitForRing(
  record: ClusterRecord,
  deadline: number,
  what: string,
  wanted: (members: NodeId[]) => boolean,
): Promise<RingView> {
  for (;;) {
    const rings = new Map<NodeId, RingView>();
    for (const entry of record.nodes) {
      const ring = await fetchRing(entry);
      if (ring !== undefined) rings.set(entry.id, ring);
    }
    const first = [...rings.values()][0];
    if (first !== undefined && wanted(first.members)) {
      const agreed = first.members.every((member) => {
        const ring = rings.get(member);
        return ring !== undefined && sameRing(ring, first);
      });
      if (agreed) return first;
    }
    if (Date.now() > deadline) {
      const versions = [...rings].map(([id, ring]) => `${id}: v${ring.version}`).join(", ");
      throw new CliError(`timed out waiting for ${what} (rings seen: ${versions || "none"})`);
    }
    await sleep(pollMs);
  }
}

function sameRing(a: RingView, b: RingView): boolean {
  return a.version === b.version && JSON.stringify(a.owners) === JSON.stringify(b.owners);
}

function describeOwnership(ring: RingView): string {
  const counts = new Map<NodeId, number>(ring.members.map((member) => [member, 0]));
  for (const owner of ring.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return [...counts].map(([member, count]) => `${member} ${count}`).join(", ");
}

async function fetchJson(url: string): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(requestTimeoutMs) });
    return response.status === 200 ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

async function fetchRing(node: RecordedNode): Promise<RingView | undefined> {
  const ring = (await fetchJson(`${node.httpUrl}/ring`)) as Partial<RingView> | undefined;
  if (!Array.isArray(ring?.members) || !Array.isArray(ring.owners)) return undefined;
  if (typeof ring.version !== "number") return undefined;
  return ring as RingView;
}

async function fetchKeyCount(node: RecordedNode): Promise<number | undefined> {
  const stats = (await fetchJson(`${node.httpUrl}/debug/store`)) as { keyCount?: unknown };
  return typeof stats?.keyCount === "number" ? stats.keyCount : undefined;
}

/** The record `up --detach` wrote. Kept as parsed JSON, so that fields this file does not know
 * about survive when it writes the record back. */
function readClusterRecord(dataDirOption: string): ClusterRecord {
  const path = join(resolve(dataDirOption), clusterFileName);
  if (!existsSync(path)) {
    throw new CliError(
      `no cluster is running from ${dataDirOption} (start one with \`npx neverstop up --detach --spare-nodes 1\`)`,
    );
  }
  let record: ClusterRecord;
  try {
    record = JSON.parse(readFileSync(path, "utf8")) as ClusterRecord;
  } catch {
    throw new CliError(`${path} is not a cluster record; remove it if no cluster is running`);
  }
  if (!Array.isArray(record.nodes) || typeof record.dataDir !== "string") {
    throw new CliError(`${path} is not a cluster record; remove it if no cluster is running`);
  }
  return record;
}

function writeClusterRecord(record: ClusterRecord): void {
  writeFileSync(join(record.dataDir, clusterFileName), JSON.stringify(record, null, 2) + "\n");
}

/** SIGTERM (the node closes its store cleanly), SIGKILL after a bound. */
async function stopNodeProcess(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal("SIGCONT"); // a paused node cannot handle SIGTERM
  signal("SIGTERM");
  const deadline = Date.now() + stopGraceMs;
  while (isNeverstopNode(pid) && Date.now() < deadline) await sleep(100);
  if (isNeverstopNode(pid)) signal("SIGKILL");
}

function remainingMs(deadline: number): number {
  return Math.max(1_000, deadline - Date.now());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
