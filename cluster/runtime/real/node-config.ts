// The configuration of one node process (lesson 5, "systems that never stop": a node must be
// restartable from what is on disk plus this file, nothing else). cluster.ts writes one per node
// into the node's data folder; node-main.ts reads and checks it.

import type { ClusterConfig, NodeId } from "../../core/types.ts";
import type { SyncPolicy } from "../../storage/store.ts";
import type { HttpLimits } from "./http.ts";
import type { PeerAddress } from "./transport.ts";
import { assertLoopback } from "./transport.ts";

export type SyncPolicyName = SyncPolicy["kind"];

export interface NodeProcessConfig {
  nodeId: NodeId;
  cluster: ClusterConfig;
  /** How this node reaches every node that is or may become a member (spares included), a
   * Toxiproxy proxy's address when one sits on the link. */
  peers: Record<NodeId, PeerAddress>;
  /** Client HTTP port on 127.0.0.1. */
  httpPort: number;
  /** Peer TCP port on 127.0.0.1. */
  peerPort: number;
  /** The node's own folder: the store lives in `data/`, the log in `node.log`. */
  dataDir: string;
  sync: SyncPolicyName;
  /** For sync `interval`. */
  syncIntervalMs?: number;
  /** Write logs to stderr instead of `<dataDir>/node.log`. */
  logToStderr?: boolean;
  /** Truncate the store at a corrupt record instead of refusing to start (`up --repair`). */
  repairStore?: boolean;
  /** Overrides of the HTTP layer's limits (tests use short slow-client timeouts). */
  httpLimits?: Partial<HttpLimits>;
  /** An absolute path to a policies module (cluster/core/policies.ts) the node loads at
   * start; omitted: the reference policies. */
  policies?: string;
}

export const syncIntervalMsDefault = 100;

export function syncPolicyOf(config: NodeProcessConfig): SyncPolicy {
  switch (config.sync) {
    case "always":
      return { kind: "always" };
    case "interval":
      return { kind: "interval", intervalMs: config.syncIntervalMs ?? syncIntervalMsDefault };
    case "never":
      return { kind: "never" };
  }
}

/** Throws with one line that says what is wrong with `value` as a node configuration. */
export function checkNodeConfig(value: unknown): NodeProcessConfig {
  if (typeof value !== "object" || value === null)
    throw new Error("Expected a JSON object as the node configuration");
  const config = value as NodeProcessConfig;
  if (typeof config.nodeId !== "string" || config.nodeId === "")
    throw new Error("Expected `nodeId` to be a non-empty string");
  if (
    typeof config.cluster !== "object" ||
    config.cluster === null ||
    !Array.isArray(config.cluster.nodes)
  ) {
    throw new Error("Expected `cluster` to be a cluster configuration with `nodes`");
  }
  // A node outside `cluster.nodes` is a joiner (lesson 8): it starts from the initial ring and
  // asks to be let in. It still needs an address, like every node that may ever be a member.
  if (typeof config.peers !== "object" || config.peers === null) {
    throw new Error("Expected `peers` to map every possible member to its address");
  }
  if (!Object.hasOwn(config.peers, config.nodeId)) {
    const known = [...new Set([...config.cluster.nodes, ...Object.keys(config.peers)])];
    throw new Error(`Expected \`nodeId\` to be one of ${known.join(", ")}, got ${config.nodeId}`);
  }
  checkPort(config.httpPort, "httpPort");
  checkPort(config.peerPort, "peerPort");
  if (typeof config.dataDir !== "string" || config.dataDir === "")
    throw new Error("Expected `dataDir` to be a folder path");
  if (!["always", "interval", "never"].includes(config.sync)) {
    throw new Error(
      `Expected \`sync\` to be always, interval or never, got ${String(config.sync)}`,
    );
  }
  if (
    config.policies !== undefined &&
    (typeof config.policies !== "string" || config.policies === "")
  ) {
    throw new Error("Expected `policies` to be the path of a policies module");
  }
  for (const member of config.cluster.nodes) {
    if (!Object.hasOwn(config.peers, member)) {
      throw new Error(`Expected an address in \`peers\` for ${member}`);
    }
  }
  for (const [member, address] of Object.entries(config.peers)) {
    if (typeof address !== "object" || address === null) {
      throw new Error(`Expected \`peers.${member}\` to be { host, port }`);
    }
    assertLoopback(address.host, `the address of ${member}`);
    checkPort(address.port, `peers.${member}.port`);
  }
  return config;
}

function checkPort(port: unknown, name: string): void {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Expected \`${name}\` to be a port from 0 to 65535, got ${String(port)}`);
  }
}
