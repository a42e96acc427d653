// A local cluster of real node processes on 127.0.0.1 (lesson 5, "systems that never stop": a
// node is a process that can be killed with -9 at any moment, and the cluster must not care).
// `npx neverstop up` uses it with fixed ports; tests, benchmarks and the chaos backends use it
// with free ports chosen at random, so that runs never collide with each other or with a
// developer's running cluster.
//
// Ports: with `basePort` P, node i (1-based) serves clients on HTTP P+i and peers on TCP
// P+1000+i; the default P=8080 gives n1..n5 on 8081..8085 and peers on 9081..9085. Without
// `basePort`, each node gets two free ports from 20000..31999 (below Linux's ephemeral range
// 32768..60999, so outgoing connections never take them first).
//
// Spare nodes (lesson 8, "scaling out"): `spareNodes: k` reserves ports and writes a
// configuration for k more nodes (n6.. after five) without starting them; `addNode("n6")` starts
// one later as a joiner. Why addresses are fixed up front instead of learned from a hello or from
// gossip: every directed link stays an address in a configuration file, so the chaos topology can
// put a Toxiproxy proxy on `n1->n6` exactly as on `n1->n2`, a restarted node knows every
// possible peer from its file alone, and a node's peer port still accepts hellos only from names
// it was told about (a stray process on 127.0.0.1 cannot claim to be a member). The price is
// that the set of *possible* members is fixed when the cluster starts; membership among them is
// what the ring (and `join` / `leave`) decides. A spare's ClusterConfig.nodes is the original
// member list, which is what makes the core treat it as a joiner (it asks config.nodes[0]).

import { spawn, type ChildProcess } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BucketMode, ClusterConfig, NodeId, Timing } from "../../core/types.ts";
import type { HttpLimits } from "./http.ts";
import type { NodeProcessConfig, SyncPolicyName } from "./node-config.ts";
import { nodeProcessCommand, repositoryRoot } from "./node-process.ts";
import type { PeerAddress } from "./transport.ts";

export const nodeCountMax = 16;
export const basePortDefault = 8080;
/** Peer ports sit this far above HTTP ports. */
export const peerPortOffset = 1000;
const randomPortLow = 20_000;
const randomPortHigh = 32_000;
const stopGraceMs = 5_000;
const healthPollMs = 100;

export interface LocalClusterOptions {
  /** How many nodes (1..16). Default 3. */
  nodes?: number;
  /** Nodes to prepare but not start (ports, configuration, every peer's address for them), for
   * `addNode` to start later as joiners. nodes + spareNodes is at most 16. Default 0. */
  spareNodes?: number;
  /** Fixed ports from this base (see the header). Omitted: free ports chosen at random. */
  basePort?: number;
  /** Where node folders go (`<dataDir>/n1/...`). Omitted: a temporary folder stop() removes. */
  dataDir?: string;
  sync?: SyncPolicyName;
  syncIntervalMs?: number;
  partitionCount?: number;
  defaults?: Partial<ClusterConfig["defaults"]>;
  bucketModes?: Record<string, BucketMode>;
  /** Heartbeat, handoff and anti-entropy clocks (tests turn background repair off to watch
   * read repair alone). */
  timing?: Partial<Timing>;
  /** How node `from` reaches node `to` (never called for a node itself): the default dials the
   * peer port directly; the chaos topology creates the `from->to` Toxiproxy proxy (upstream
   * 127.0.0.1:peerPort) and returns its listen address instead. */
  peerAddress?: (from: NodeId, to: NodeId, peerPort: number) => PeerAddress | Promise<PeerAddress>;
  httpLimits?: Partial<HttpLimits>;
  /** Let the node processes outlive this one (their output goes to `<node>/process.log`). */
  detach?: boolean;
  /** Open stores that have a corrupt record by truncating there (acknowledged data is lost). */
  repairStores?: boolean;
  /** How long each node may take to answer /health. Default 30 s (a busy 2-core machine). */
  startTimeoutMs?: number;
  /** A policies module (cluster/core/policies.ts) every node loads; made absolute here. */
  policies?: string;
}

export interface LocalNode {
  id: NodeId;
  httpUrl: string;
  httpPort: number;
  peerPort: number;
  /** The current process id (it changes on restart); undefined while the node is down. */
  pid: number | undefined;
  dataDir: string;
}

export interface LocalCluster {
  config: ClusterConfig;
  dataDir: string;
  /** The nodes started so far: the initial members, then every spare `addNode` started. */
  nodes: LocalNode[];
  /** Spares not started yet, in order (n6, n7, ... after five nodes). */
  spareNodes: NodeId[];
  /** Any node, started or spare. */
  node(id: NodeId): LocalNode;
  /** Starts a spare as a joiner (it asks n1 to let it in; gossip does the rest) and waits for
   * its /health. Joining the ring is not awaited: watch GET /ring on the members for that. */
  addNode(id: NodeId): Promise<LocalNode>;
  /** Sends a signal; for SIGKILL and SIGTERM, resolves once the process has exited. */
  kill(id: NodeId, signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again (stopping it first if it runs) and waits for its /health. */
  restart(id: NodeId): Promise<void>;
  /** Stops every node (SIGTERM, then SIGKILL after a bound) and removes a temporary data folder. */
  stop(): Promise<void>;
}

/** A cluster that could not start: the message is one line for the user. */
export class ClusterStartError extends Error {
  override name = "ClusterStartError";
}

interface Member {
  node: LocalNode;
  configPath: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  stderrTail: string[];
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const attempts = options.basePort === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      // Free ports chosen at random can be taken between the check and the node's listen: try
      // again with other ports. Fixed ports in use are the user's to resolve.
      const portTaken =
        error instanceof ClusterStartError && error.message.includes("already in use");
      if (!portTaken || attempt >= attempts) throw error;
    }
  }
}

async function startOnce(options: LocalClusterOptions): Promise<LocalCluster> {
  const nodeCount = options.nodes ?? 3;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > nodeCountMax) {
    throw new ClusterStartError(
      `Expected \`--nodes\` to be an integer from 1 to ${nodeCountMax}, got ${nodeCount}`,
    );
  }
  const spareCount = options.spareNodes ?? 0;
  if (!Number.isInteger(spareCount) || spareCount < 0 || nodeCount + spareCount > nodeCountMax) {
    throw new ClusterStartError(
      `Expected \`--spare-nodes\` to be an integer from 0 to ${nodeCountMax - nodeCount}, got ${spareCount}`,
    );
  }
  const temporary = options.dataDir === undefined;
  const dataDir = resolve(options.dataDir ?? mkdtempSync(join(tmpdir(), "neverstop-cluster-")));
  const ids = Array.from({ length: nodeCount }, (_, index) => `n${index + 1}`);
  const spareIds = Array.from({ length: spareCount }, (_, index) => `n${nodeCount + index + 1}`);
  const allIds = [...ids, ...spareIds];
  const ports =
    options.basePort === undefined
      ? await randomFreePorts(allIds.length)
      : fixedPorts(allIds.length, options.basePort);
  const config: ClusterConfig = {
    nodes: ids,
    partitionCount: options.partitionCount ?? 64,
    defaults: {
      n: Math.min(3, nodeCount),
      r: Math.min(2, nodeCount),
      w: Math.min(2, nodeCount),
      timeoutMs: 5_000,
      ...options.defaults,
    },
    bucketModes: options.bucketModes ?? {},
    ...(options.timing === undefined ? {} : { timing: options.timing }),
  };
  // Addresses first (a proxy per link may have to be created for each), then the nodes. Spares
  // are in every map, so that members can reach a joiner and it can reach them.
  const peersOf = new Map<NodeId, Record<NodeId, PeerAddress>>();
  for (const id of allIds) {
    const peers: Record<NodeId, PeerAddress> = {};
    for (const [peerIndex, peer] of allIds.entries()) {
      const port = ports[peerIndex]!.peerPort;
      const direct = { host: "127.0.0.1", port };
      peers[peer] =
        peer === id || options.peerAddress === undefined
          ? direct
          : await options.peerAddress(id, peer, port);
    }
    peersOf.set(id, peers);
  }
  const members = allIds.map((id, index): Member => {
    const { httpPort, peerPort } = ports[index]!;
    const nodeDir = join(dataDir, id);
    mkdirSync(nodeDir, { recursive: true });
    const peers = peersOf.get(id)!;
    const nodeConfig: NodeProcessConfig = {
      nodeId: id,
      cluster: config,
      peers,
      httpPort,
      peerPort,
      dataDir: nodeDir,
      sync: options.sync ?? "always",
      ...(options.syncIntervalMs === undefined ? {} : { syncIntervalMs: options.syncIntervalMs }),
      ...(options.httpLimits === undefined ? {} : { httpLimits: options.httpLimits }),
      ...(options.repairStores === true ? { repairStore: true } : {}),
      ...(options.policies === undefined ? {} : { policies: resolve(options.policies) }),
    };
    const configPath = join(nodeDir, "config.json");
    writeFileSync(configPath, JSON.stringify(nodeConfig, null, 2) + "\n");
    const node: LocalNode = {
      id,
      httpUrl: `http://127.0.0.1:${httpPort}`,
      httpPort,
      peerPort,
      pid: undefined,
      dataDir: nodeDir,
    };
    return { node, configPath, child: undefined, exited: Promise.resolve(), stderrTail: [] };
  });
  const byId = new Map(members.map((member) => [member.node.id, member]));
  const member = (id: NodeId): Member => {
    const found = byId.get(id);
    if (found === undefined)
      throw new Error(`Expected a node id among ${allIds.join(", ")}, got ${id}`);
    return found;
  };
  const started = members.filter((each) => ids.includes(each.node.id));
  const spareNodes = [...spareIds];
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const detach = options.detach ?? false;
  const killAll = () => {
    for (const each of members) if (each.child?.exitCode === null) each.child.kill("SIGKILL");
  };
  if (!detach) process.once("exit", killAll);

  const stopMember = async (each: Member) => {
    const child = each.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGCONT"); // a paused node cannot handle SIGTERM
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), stopGraceMs);
    await each.exited;
    clearTimeout(timer);
  };
  const cluster: LocalCluster = {
    config,
    dataDir,
    nodes: started.map((each) => each.node),
    spareNodes,
    node: (id) => member(id).node,
    async addNode(id) {
      const index = spareNodes.indexOf(id);
      if (index === -1) {
        const choices = spareNodes.length === 0 ? "none are left" : spareNodes.join(", ");
        throw new ClusterStartError(`Expected a spare node to add (${choices}), got ${id}`);
      }
      spareNodes.splice(index, 1);
      const each = member(id);
      cluster.nodes.push(each.node);
      await launch(each, detach, startTimeoutMs);
      return each.node;
    },
    async kill(id, signal = "SIGKILL") {
      const each = member(id);
      const child = each.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      if (signal === "SIGKILL" || signal === "SIGTERM" || signal === "SIGINT") await each.exited;
    },
    async restart(id) {
      if (spareNodes.includes(id)) {
        throw new ClusterStartError(`${id} is a spare that never started: use addNode("${id}")`);
      }
      const each = member(id);
      await stopMember(each);
      await launch(each, detach, startTimeoutMs);
    },
    async stop() {
      await Promise.all(members.map(stopMember));
      process.off("exit", killAll);
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(started.map((each) => launch(each, detach, startTimeoutMs)));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/**
 * Starts one node that startLocalCluster prepared (its `config.json`) as a process that outlives
 * this one, and waits for its /health: `npx neverstop join n6` uses it on a cluster that an
 * earlier `up --detach` started. Its output goes to `<node>/process.log`.
 */
export async function launchDetachedNode(
  configPath: string,
  startTimeoutMs = 30_000,
): Promise<LocalNode> {
  let config: NodeProcessConfig;
  try {
    config = JSON.parse(readFileSync(configPath, "utf8")) as NodeProcessConfig;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new ClusterStartError(`cannot read the node configuration ${configPath}: ${reason}`);
  }
  const node: LocalNode = {
    id: config.nodeId,
    httpUrl: `http://127.0.0.1:${config.httpPort}`,
    httpPort: config.httpPort,
    peerPort: config.peerPort,
    pid: undefined,
    dataDir: config.dataDir,
  };
  const member: Member = {
    node,
    configPath,
    child: undefined,
    exited: Promise.resolve(),
    stderrTail: [],
  };
  await launch(member, true, startTimeoutMs);
  return node;
}

/** Spawns one node process and waits until it answers /health (or explains why it died). */
async function launch(member: Member, detach: boolean, startTimeoutMs: number): Promise<void> {
  const node = member.node;
  member.stderrTail = [];
  let logFd: number | undefined;
  if (detach) logFd = openSync(join(node.dataDir, "process.log"), "a");
  const { command, args } = nodeProcessCommand(member.configPath);
  const child = spawn(command, args, {
    cwd: repositoryRoot,
    detached: detach,
    stdio: detach ? ["ignore", logFd!, logFd!] : ["ignore", "pipe", "pipe"],
  });
  if (logFd !== undefined) closeSync(logFd);
  member.child = child;
  node.pid = child.pid;
  member.exited = new Promise((resolveExit) =>
    child.once("exit", () => {
      if (member.child === child) node.pid = undefined;
      resolveExit();
    }),
  );
  child.stdout?.on("data", () => {});
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    member.stderrTail.push(...text.split("\n").filter((line) => line.trim() !== ""));
    member.stderrTail.splice(0, Math.max(0, member.stderrTail.length - 20));
  });
  if (detach) child.unref();
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 50)); // let stderr drain
      const reason = lastLine(member, node);
      throw new ClusterStartError(reason);
    }
    const health = await fetchHealth(node.httpUrl, 1_000);
    if (health !== undefined && health["node"] === node.id) return;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new ClusterStartError(
        `node ${node.id} did not answer ${node.httpUrl}/health within ${startTimeoutMs} ms`,
      );
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, healthPollMs));
  }
}

/** The node's own one-line reason for exiting: from its stderr, or from process.log when it
 * was started detached. */
function lastLine(member: Member, node: LocalNode): string {
  let lines = member.stderrTail;
  if (lines.length === 0) {
    try {
      lines = readFileSync(join(node.dataDir, "process.log"), "utf8").split("\n").slice(-50);
    } catch {
      lines = [];
    }
  }
  const reason = lines.findLast((line) => line.startsWith(`neverstop node ${node.id}:`));
  if (reason !== undefined) return reason.replace(/^neverstop /, "");
  const any = lines.findLast((line) => line.trim() !== "" && !line.startsWith("    at "));
  return `node ${node.id} exited during start${any === undefined ? "" : `: ${any}`} (see ${join(node.dataDir, "node.log")})`;
}

/** GET /health, or undefined when the node does not answer in time. */
export async function fetchHealth(
  httpUrl: string,
  timeoutMs: number,
): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(`${httpUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) return undefined;
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function fixedPorts(
  nodeCount: number,
  basePort: number,
): { httpPort: number; peerPort: number }[] {
  if (
    !Number.isInteger(basePort) ||
    basePort < 1024 ||
    basePort + peerPortOffset + nodeCount > 65535
  ) {
    throw new ClusterStartError(
      `Expected \`--base-port\` to be an integer from 1024 to ${65535 - peerPortOffset - nodeCount}, got ${basePort}`,
    );
  }
  return Array.from({ length: nodeCount }, (_, index) => ({
    httpPort: basePort + index + 1,
    peerPort: basePort + peerPortOffset + index + 1,
  }));
}

/** Free HTTP and peer ports on 127.0.0.1, below the ephemeral range (tests, Docker). */
export async function randomFreePorts(
  nodeCount: number,
): Promise<{ httpPort: number; peerPort: number }[]> {
  const chosen = new Set<number>();
  const pick = async (): Promise<number> => {
    for (let tries = 0; tries < 200; tries++) {
      const port = randomPortLow + Math.floor(Math.random() * (randomPortHigh - randomPortLow));
      if (chosen.has(port) || !(await portIsFree(port))) continue;
      chosen.add(port);
      return port;
    }
    throw new ClusterStartError("Could not find a free port on 127.0.0.1 in 20000..31999");
  };
  const ports: { httpPort: number; peerPort: number }[] = [];
  for (let index = 0; index < nodeCount; index++)
    ports.push({ httpPort: await pick(), peerPort: await pick() });
  return ports;
}

/** Whether nothing listens on 127.0.0.1:port right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = net.createServer();
    server.once("error", () => resolveFree(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () =>
      server.close(() => resolveFree(true)),
    );
  });
}
