// Gossip and membership changes (lesson 8, "scaling out"; the Dynamo paper's sections 4.8 and
// 4.8.1): how every node comes to agree on the ring without a master. Each heartbeat round a
// node pings every member (failure-detector.ts turns the answers, or their absence, into its
// own opinion of who is up) and sends its ring to one random member that seems up; whoever
// holds the older ring adopts the newer one (membership.ts's newerRing). A join or a leave
// computes a new claim (the `claim` policy), bumps the version, and lets gossip carry it.
// A node not among the initial members is a joiner: it asks a seed until it is in.
//
// Messages: ping / pong (liveness), ring (the ring itself), join-request (a joiner's ask).
// This module also owns the ring's derived views every other mechanism reads: a key's
// preference list and fallbacks (the `preferenceList` policy, cached), and each partition's
// replicas.

import { FailureDetector, type PeerView } from "./failure-detector.ts";
import {
  isWellFormedRing,
  newerRing,
  replicasOfPartitions,
  withMember,
  withoutMember,
  type MemberRing,
} from "./membership.ts";
import { PairMemo } from "./memo.ts";
import type { NodeContext } from "./node-context.ts";
import { storageKey } from "./replica-store.ts";
import { hashKey, partitionOf, preferenceList as ringPreferenceList } from "./ring.ts";
import type { NodeId } from "./types.ts";

/** Preference lists the node remembers at most, by (n, bucket, key). */
export const preferenceCacheSizeMax = 10_000;

/** Ring positions of keys (SHA-1, ring.ts's hashKey), shared by every node of the process: a
 * pure function of the key, and each node's preference cache starts cold (five simulated
 * nodes meeting a thousand keys hashed each of them five times, 3% of the simulator). */
const keyPositions = new Map<string, bigint>();

function positionOf(bucket: string, key: string): bigint {
  const name = storageKey(bucket, key);
  let position = keyPositions.get(name);
  if (position === undefined) {
    if (keyPositions.size >= preferenceCacheSizeMax) keyPositions.clear();
    position = hashKey(bucket, key);
    keyPositions.set(name, position);
  }
  return position;
}

/** Where a key's replicas live: its N primaries, and every other node as a fallback. */
export interface Placement {
  primaries: NodeId[];
  fallbacks: NodeId[];
}

export class Gossip {
  private currentRing: MemberRing;
  /** The N replicas of every partition under the current ring. */
  private replicasByPartition: NodeId[][];
  readonly detector: FailureDetector;
  /** Placements by N, then by storage key: hashing is the hot path of every request. */
  private readonly placementCache = new PairMemo<number, Placement>(preferenceCacheSizeMax);
  /** The reference preference list by (n, partition): it depends on a key only through the
   * key's partition, so a node makes one per partition instead of one per key (every node's
   * cache starts cold, and five simulated nodes meeting a thousand keys made five thousand). */
  private readonly placementByPartition = new Map<number, Array<Placement | undefined>>();
  /** A node not in the initial member list joins through this seed. */
  private readonly seed: NodeId | undefined;
  private everMember: boolean;

  constructor(
    private readonly context: NodeContext,
    /** Called with the new replica sets whenever the ring changes (anti-entropy's pairs). */
    private readonly onReplicasChanged: (replicasByPartition: NodeId[][]) => void,
  ) {
    const { config, nodeId, env, policies } = context;
    // A node that is not among the initial members is a joiner: it asks a seed to add it.
    this.seed = config.nodes.includes(nodeId) ? undefined : config.nodes[0];
    this.everMember = this.seed === undefined;
    const owners = policies.claim({
      members: config.nodes,
      partitionCount: config.partitionCount,
      targetN: config.defaults.n,
      currentOwners: undefined,
    });
    this.currentRing = {
      partitionCount: config.partitionCount,
      owners,
      members: [...config.nodes].sort(),
      version: 1,
    };
    const peers = this.currentRing.members.filter((node) => node !== nodeId);
    this.detector = new FailureDetector(peers, context.timing.suspicionMs, env.now());
    this.replicasByPartition = this.computeReplicas();
  }

  get ring(): MemberRing {
    return this.currentRing;
  }

  /** The replicas of one partition under the current ring. */
  replicasOf(partition: number): NodeId[] {
    return this.replicasByPartition[partition]!;
  }

  get allReplicas(): NodeId[][] {
    return this.replicasByPartition;
  }

  /** This node is always up to itself; every other node as the failure detector sees it. */
  isUp(node: NodeId, now: number = this.context.env.now()): boolean {
    return node === this.context.nodeId || this.detector.isUp(node, now);
  }

  members(): PeerView[] {
    return this.detector.view(this.context.env.now());
  }

  placement(bucket: string, key: string, n: number): Placement {
    // Keyed by the remembered storage key (replica-store.ts): no string built per request.
    const name = storageKey(bucket, key);
    let placement = this.placementCache.get(n, name);
    if (placement === undefined) {
      const position = positionOf(bucket, key);
      placement =
        this.context.policies.preferenceList === ringPreferenceList
          ? this.partitionPlacement(position, n)
          : this.computePlacement(position, n);
      this.placementCache.set(n, name, placement);
    }
    return placement;
  }

  /** The reference placement of the key at `position`, made once per partition. */
  private partitionPlacement(position: bigint, n: number): Placement {
    const partition = partitionOf(position, this.ring.partitionCount);
    let byPartition = this.placementByPartition.get(n);
    if (byPartition === undefined) this.placementByPartition.set(n, (byPartition = []));
    let placement = byPartition[partition];
    if (placement === undefined) {
      placement = this.computePlacement(position, n);
      byPartition[partition] = placement;
    }
    return placement;
  }

  private computePlacement(position: bigint, n: number): Placement {
    const list = this.context.policies.preferenceList(this.ring, position, n);
    return { primaries: list.primaries.map((entry) => entry.node), fallbacks: list.fallbacks };
  }

  join(node: NodeId): MemberRing {
    const { config, policies } = this.context;
    this.adopt(withMember(this.currentRing, node, config.defaults.n, policies.claim));
    this.broadcastRing([node]);
    return this.currentRing;
  }

  leave(node: NodeId): MemberRing {
    const { config, policies } = this.context;
    this.adopt(withoutMember(this.currentRing, node, config.defaults.n, policies.claim));
    this.broadcastRing([node]);
    return this.currentRing;
  }

  /** One heartbeat round: ping everyone, gossip the ring to one member that seems up, and (a
   * joiner) ask to be let in. */
  heartbeatRound(): void {
    const { nodeId, env, counters } = this.context;
    counters.heartbeatRounds += 1;
    const peers = this.currentRing.members.filter((member) => member !== nodeId);
    for (const peer of peers) this.context.send(peer, { type: "ping" });
    const now = env.now();
    const upPeers = peers.filter((peer) => this.detector.isUp(peer, now));
    if (upPeers.length > 0) {
      const peer = upPeers[Math.floor(env.random() * upPeers.length)]!;
      this.context.send(peer, { type: "ring", ring: this.currentRing });
    }
    // A joiner asks until it is in; a node that was removed (leave) does not ask back in.
    if (this.currentRing.members.includes(nodeId)) this.everMember = true;
    if (this.seed !== undefined && !this.everMember) {
      this.context.send(this.seed, { type: "join-request" });
    }
  }

  onRing(from: NodeId, ring: MemberRing): void {
    if (!isWellFormedRing(ring, this.currentRing.partitionCount)) return;
    this.adopt(newerRing(this.currentRing, ring));
    // The sender is behind (a removed node that missed its removal, say): answer with ours, so
    // gossip to members alone still reaches everyone who gossips.
    if (JSON.stringify(ring) !== JSON.stringify(this.currentRing)) {
      this.context.send(from, { type: "ring", ring: this.currentRing });
    }
  }

  onJoinRequest(from: NodeId): void {
    if (!this.currentRing.members.includes(from)) this.join(from);
    else this.context.send(from, { type: "ring", ring: this.currentRing });
  }

  onPing(from: NodeId): void {
    this.context.send(from, { type: "pong" });
  }

  private replicaCount(): number {
    return Math.min(this.context.config.defaults.n, this.currentRing.members.length);
  }

  private computeReplicas(): NodeId[][] {
    const list = this.context.policies.preferenceList;
    return replicasOfPartitions(this.currentRing, this.replicaCount(), list);
  }

  private adopt(ring: MemberRing): void {
    if (ring === this.currentRing) return;
    if (JSON.stringify(ring) === JSON.stringify(this.currentRing)) return;
    const { nodeId, env } = this.context;
    this.currentRing = ring;
    // Once in, a node never asks to join again: a later ring without it means it was removed.
    if (ring.members.includes(nodeId)) this.everMember = true;
    this.placementCache.clear();
    this.placementByPartition.clear();
    this.replicasByPartition = this.computeReplicas();
    this.onReplicasChanged(this.replicasByPartition);
    this.detector.setPeers(
      ring.members.filter((member) => member !== nodeId),
      env.now(),
    );
    env.log("ring-changed", { version: ring.version, members: ring.members });
  }

  private broadcastRing(extra: NodeId[] = []): void {
    const targets = new Set([...this.currentRing.members, ...extra]);
    for (const member of targets) {
      if (member !== this.context.nodeId) {
        this.context.send(member, { type: "ring", ring: this.currentRing });
      }
    }
  }
}
