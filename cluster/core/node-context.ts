// What every mechanism of a node shares (lesson 1, "the world is concurrent"): who the node is,
// its configuration, its environment (the only way out to the world), its policies and its
// counters. DynamoNode builds one and hands it to each mechanism; nothing here decides anything.

import type { NodeStats } from "./node-health.ts";
import type { Policies } from "./policies.ts";
import type { ClusterConfig, Environment, NodeId, PeerMessage, Timing } from "./types.ts";

export interface NodeContext {
  readonly nodeId: NodeId;
  /** This start's actor id for minting dots (see versions.ts: node@incarnation). */
  readonly actor: string;
  readonly config: ClusterConfig;
  readonly timing: Timing;
  readonly env: Environment;
  readonly policies: Policies;
  /** Counters the mechanisms bump; stats() reads them (node-health.ts). */
  readonly counters: NodeStats;
  /** Sends to a peer; a message to this node itself runs after the current event, never
   * re-entrantly. */
  send(to: NodeId, message: PeerMessage): void;
  /** A fresh id for a coordinator's state machine, unique across this start. */
  nextRequestId(): string;
}

/** No replica has failed a request yet: one set shared by every request until one does (most
 * never see one), read-only so that none can add to it; withFailure makes a request its own. */
export const noFailures: ReadonlySet<NodeId> = new Set();

/** `failed` with `node` added, as a new set (failures are rare: copying is cheap enough). */
export function withFailure(failed: ReadonlySet<NodeId>, node: NodeId): ReadonlySet<NodeId> {
  if (failed.has(node)) return failed;
  const next = new Set(failed);
  next.add(node);
  return next;
}

/** `failed` without `node`, as a new set when it held it. */
export function withoutFailure(failed: ReadonlySet<NodeId>, node: NodeId): ReadonlySet<NodeId> {
  if (!failed.has(node)) return failed;
  const next = new Set(failed);
  next.delete(node);
  return next;
}
