// Active anti-entropy (lesson 5 and the Dynamo paper's section 4.7): replicas of a partition
// compare hash trees (merkle.ts) at an interval and repair the keys they disagree on, so a
// replica that missed writes while partitioned converges after the heal without any client
// reading those keys. One exchange, between this node (A) and another replica (B):
//
//   A -> B  aae-root      root of A's tree for partition p
//   B -> A  aae-segments  B's 64 segment hashes, if the roots differ
//   A -> B  aae-keys      A's keys and digests for each segment that differs
//   B -> A  repair        B's version of every key that differs or that A lacks
//   B -> A  aae-want      the keys B lacks or holds differently: A answers with repairs
//
// Merging is what versions.ts's merge does everywhere: commutative and idempotent, so repairs
// in both directions converge whatever order they arrive in. `AntiEntropy` is the pure
// bookkeeping (trees, pairs, divergence); `AntiEntropyRounds` runs the rounds and owns the
// messages above, one exchange started per round while the node is not busy (admission.ts).

import type { FailureDetector } from "./failure-detector.ts";
import { PartitionTree, segmentCount } from "./merkle.ts";
import type { NodeContext } from "./node-context.ts";
import { splitStorageKey, type ReplicaStore } from "./replica-store.ts";
import type { NodeId, PeerMessage } from "./types.ts";
import { versionFingerprint, type VersionedObject } from "./versions.ts";

/** Keys a node sends back for one aae-want at most: the rest wait for the next exchange. */
export const antiEntropyKeysPerExchangeMax = 10_000;

type Message<Type extends PeerMessage["type"]> = Extract<PeerMessage, { type: Type }>;

export class AntiEntropy {
  private readonly trees = new Map<number, PartitionTree<VersionedObject>>();
  /** Every (partition, other replica) this node exchanges with, in a fixed order. */
  pairs: Array<[number, NodeId]> = [];
  private nextPair = 0;
  /** When each (partition, peer) was first seen to differ, until seen equal again. */
  private readonly divergedSince = new Map<string, number>();
  exchanges = 0;
  keysRepaired = 0;
  convergenceMsLast = 0;
  convergenceMsMax = 0;

  constructor(
    replicasOfPartition: NodeId[][],
    private readonly nodeId: NodeId,
  ) {
    this.setReplicas(replicasOfPartition);
  }

  /** The ring changed: exchange with the new replica sets (trees are per partition and stay). */
  setReplicas(replicasOfPartition: NodeId[][]): void {
    this.pairs = [];
    replicasOfPartition.forEach((replicas, partition) => {
      if (!replicas.includes(this.nodeId)) return;
      for (const peer of replicas) if (peer !== this.nodeId) this.pairs.push([partition, peer]);
    });
    this.nextPair = 0;
    this.divergedSince.clear();
  }

  /** Partitions this node holds keys of, by partition index. */
  partitionsWithKeys(): number[] {
    return [...this.trees.entries()]
      .filter(([, tree]) => tree.keyCount > 0)
      .map(([partition]) => partition)
      .sort((a, b) => a - b);
  }

  /** A partition's tree over the versions this node holds, each hashed as its fingerprint. */
  tree(partition: number): PartitionTree<VersionedObject> {
    let tree = this.trees.get(partition);
    if (tree === undefined) {
      this.trees.set(partition, (tree = new PartitionTree(versionFingerprint)));
    }
    return tree;
  }

  /** The next exchange to start, skipping peers believed down; undefined if none. */
  next(
    isUp: (peer: NodeId) => boolean,
  ): { partition: number; peer: NodeId; root: string } | undefined {
    for (let tried = 0; tried < this.pairs.length; tried += 1) {
      const [partition, peer] = this.pairs[this.nextPair]!;
      this.nextPair = (this.nextPair + 1) % this.pairs.length;
      if (!isUp(peer)) continue;
      this.exchanges += 1;
      return { partition, peer, root: this.tree(partition).root() };
    }
    return undefined;
  }

  /** B's side: our segments if the roots differ, undefined if they agree. */
  onRoot(partition: number, root: string): string[] | undefined {
    const tree = this.tree(partition);
    return tree.root() === root ? undefined : tree.segmentHashes();
  }

  /** A's side: the keys of every segment that differs from B's. */
  onSegments(
    partition: number,
    theirs: string[],
  ): Array<{ segment: number; keys: Record<string, string> }> {
    const tree = this.tree(partition);
    const mine = tree.segmentHashes();
    const differing: Array<{ segment: number; keys: Record<string, string> }> = [];
    for (let segment = 0; segment < segmentCount; segment += 1) {
      if (mine[segment] !== theirs[segment])
        differing.push({ segment, keys: tree.keysOf(segment) });
    }
    return differing;
  }

  /** B's side: which keys to send A (repair) and which to ask A for (want). */
  onKeys(
    partition: number,
    segment: number,
    theirs: Record<string, string>,
  ): { repair: string[]; want: string[] } {
    const mine = this.tree(partition).keysOf(segment);
    const repair: string[] = [];
    const want: string[] = [];
    for (const [key, digest] of Object.entries(mine)) {
      if (theirs[key] !== digest) repair.push(key);
    }
    for (const [key, digest] of Object.entries(theirs)) {
      if (mine[key] !== digest) want.push(key);
    }
    this.keysRepaired += repair.length;
    return { repair: repair.sort(), want: want.sort() };
  }

  /** Tracks how long a pair stayed divergent: the convergence time the metrics report. */
  noteComparison(partition: number, peer: NodeId, equal: boolean, nowMs: number): void {
    const name = `${partition}:${peer}`;
    const since = this.divergedSince.get(name);
    if (!equal) {
      if (since === undefined) this.divergedSince.set(name, nowMs);
      return;
    }
    if (since === undefined) return;
    this.divergedSince.delete(name);
    this.convergenceMsLast = nowMs - since;
    this.convergenceMsMax = Math.max(this.convergenceMsMax, this.convergenceMsLast);
  }

  /** The longest a pair has been divergent right now (0 when all agree). */
  divergedForMs(nowMs: number): number {
    let longest = 0;
    for (const since of this.divergedSince.values()) longest = Math.max(longest, nowMs - since);
    return longest;
  }
}

export class AntiEntropyRounds {
  constructor(
    private readonly context: NodeContext,
    private readonly antiEntropy: AntiEntropy,
    private readonly store: ReplicaStore,
    private readonly detector: FailureDetector,
  ) {}

  /** One round: start an exchange with the next (partition, replica) pair that seems up. */
  round(): void {
    const now = this.context.env.now();
    const exchange = this.antiEntropy.next((peer) => this.detector.isUp(peer, now));
    if (exchange === undefined) return;
    const { partition, root } = exchange;
    this.context.send(exchange.peer, { type: "aae-root", partition, root });
  }

  onRoot(from: NodeId, message: Message<"aae-root">): void {
    const segments = this.antiEntropy.onRoot(message.partition, message.root) ?? [];
    this.context.send(from, { type: "aae-segments", partition: message.partition, segments });
  }

  onSegments(from: NodeId, message: Message<"aae-segments">): void {
    const { partition, segments } = message;
    const equal = segments.length === 0;
    this.antiEntropy.noteComparison(partition, from, equal, this.context.env.now());
    if (equal) return;
    for (const { segment, keys } of this.antiEntropy.onSegments(partition, segments)) {
      this.context.send(from, { type: "aae-keys", partition, segment, keys });
    }
  }

  onKeys(from: NodeId, message: Message<"aae-keys">): void {
    const { partition, segment, keys } = message;
    const { repair, want } = this.antiEntropy.onKeys(partition, segment, keys);
    this.sendRepairs(from, repair);
    if (want.length > 0) this.context.send(from, { type: "aae-want", storageKeys: want });
  }

  onWant(from: NodeId, message: Message<"aae-want">): void {
    this.sendRepairs(from, message.storageKeys.slice(0, antiEntropyKeysPerExchangeMax));
  }

  private sendRepairs(to: NodeId, keys: string[]): void {
    for (const storageKey of keys) {
      const object = this.store.load(storageKey);
      if (object === null) continue;
      const { bucket, key } = splitStorageKey(storageKey);
      this.context.send(to, { type: "repair", bucket, key, object });
    }
  }
}
