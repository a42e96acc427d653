// The Dynamo node (lessons 2, 4 and 6): one `handle(event)` that dispatches, a put and a get
// state machine in the manner of riak_kv's put/get FSMs, and the replica side that stores
// versions. I/O-free: everything it does goes through `env` (see types.ts).
//
// A put, start to finish (any node may coordinate any request):
//   1. The coordinating node asks one replica in the key's preference list to *mint* the new
//      version (itself, when it is a replica; else the first primary, then the next if that one
//      cannot be reached). Minting needs the replica's own copy: see versions.ts for why.
//   2. It sends the minted version to the other N-1 replicas and counts acknowledgements.
//   3. W acknowledgements: success. Too few replicas left to reach W: 503. Time bound: 504.
//      A write that fails after step 1 may still be on some replica, so the error says
//      `indeterminate`: the client must not assume it did not happen.
// A get sends to all N replicas, answers after R replies with the merge of what it saw, and
// keeps listening until all N answer or time runs out, then repairs stale replicas (read
// repair) and, when every replica holds the same tombstone, reaps it.

import { AntiEntropy } from "./anti-entropy.ts";
import { FailureDetector, type PeerView } from "./failure-detector.ts";
import { HintedHandoff, hintPrefix } from "./hinted-handoff.ts";
import {
  isWellFormedRing,
  newerRing,
  replicasOfPartitions,
  withMember,
  withoutMember,
  type MemberRing,
} from "./membership.ts";
import { freezeJson } from "./immutable.ts";
import {
  alarmThresholds,
  defaultPolicies,
  guardPolicies,
  PolicyError,
  withDefaults,
  type AlarmName,
  type Policies,
  type PolicyOverrides,
  type QuorumVerdict,
  type WriteTarget,
} from "./policies.ts";
import { hashKey, partitionOf, partitionOfKey, type PreferenceList } from "./ring.ts";
import type {
  ClientRequest,
  ClientResponse,
  ClusterConfig,
  Environment,
  NodeEvent,
  NodeId,
  PeerMessage,
  TimerId,
  Timing,
} from "./types.ts";
import { crdtApply, crdtValue, type CrdtOperation, type CrdtType } from "./crdt.ts";
import { crdtBucket, validateClientRequest, validateClusterConfig } from "./validate.ts";
import {
  contextTag,
  decodeContext,
  encodeContext,
  encodeVersion,
  crdtObject,
  crdtStateOf,
  isDeleted,
  merge,
  sameVersion,
  update,
  versionFingerprint,
  type VersionedObject,
} from "./versions.ts";

export interface NodeStats {
  requests: Record<ClientRequest["op"], Record<Outcome, number>>;
  /** Gets answered, by how many live siblings they returned ("0" = not found). */
  siblingsPerGet: Record<string, number>;
  readRepairsSent: number;
  repairsApplied: number;
  versionsMinted: number;
  replicaWrites: number;
  tombstonesReaped: number;
  fsmActive: number;
  /** Sloppy quorum: writes this node accepted on behalf of an unreachable primary. */
  hintsPending: number;
  hintsStored: number;
  handoffsSent: number;
  handoffsCompleted: number;
  antiEntropyExchanges: number;
  antiEntropyKeysRepaired: number;
  /** Milliseconds a replica pair took to agree again, last and worst (anti-entropy). */
  convergenceMsLast: number;
  convergenceMsMax: number;
  overloadRejections: number;
  heartbeatRounds: number;
  peersDown: number;
  ringVersion: number;
  /** Good / eligible client requests over the last minute, as an SLA counts (see availability()). */
  availabilityLastMinute: number;
  /** Partitions this node holds keys of but no longer owns, being handed to their owners. */
  transfersActive: number;
  transfersCompleted: number;
}

export type Outcome =
  "ok" | "not_found" | "bad_request" | "unavailable" | "timeout" | "overload" | "policy_failed";

export const defaultTiming: Timing = {
  heartbeatIntervalMs: 500,
  suspicionMs: 2_000,
  handoffIntervalMs: 1_000,
  handoffBatchMax: 50,
  antiEntropyIntervalMs: 1_000,
  requestsInFlightMax: 2_000,
  partitionRequestsInFlightMax: 500,
  hintCountMax: 100_000,
};

export interface Alarm {
  name: AlarmName;
  detail: string;
  /** Local clock (ms) when it fired. */
  sinceMs: number;
}

export { alarmThresholds };

/** A key-value request as the state machines run it; data-type requests are translated into
 * these, on their own buckets (validate.ts's crdtBucket). */
type KeyValueRequest = Extract<ClientRequest, { op: "get" | "put" | "delete" }>;

interface PutFsm {
  kind: "put";
  id: string;
  requestId: string;
  request: Extract<ClientRequest, { op: "put" | "delete" }>;
  /** The client's own operation name, for counting. */
  countAs: ClientRequest["op"];
  /** For a data type update: the operation the minting replica applies. */
  crdt: CrdtOperation | undefined;
  storageKey: string;
  w: number;
  /** Acknowledgements that must come from primaries (PW); 0 = sloppy quorum. */
  pw: number;
  preferenceList: NodeId[];
  /** Where the version goes: the primaries, with fallbacks for those believed down. */
  targets: WriteTarget[];
  /** Replicas that may mint the version, in the order they are tried. */
  candidates: NodeId[];
  attempt: number;
  coordinateTimer: TimerId | undefined;
  requestTimer: TimerId;
  /** Some attempt timed out: that replica may have stored the write. */
  maybeWritten: boolean;
  object: VersionedObject | undefined;
  acknowledged: Set<NodeId>;
  failed: Set<NodeId>;
  replied: boolean;
}

interface GetFsm {
  kind: "get";
  id: string;
  requestId: string;
  request: Extract<ClientRequest, { op: "get" }>;
  countAs: ClientRequest["op"];
  /** Set for a data type read: the answer is the type's value, not siblings. */
  crdt: CrdtType | undefined;
  r: number;
  preferenceList: NodeId[];
  replies: Map<NodeId, VersionedObject | null>;
  /** The merge of every reply so far, in arrival order (kept as replies come: the answer at R
   * and the read repair after N both need it, and a version can hold many siblings). */
  merged: VersionedObject | null;
  failed: Set<NodeId>;
  requestTimer: TimerId;
  replied: boolean;
}

type Fsm = PutFsm | GetFsm;

/** The window of the availability figure (GET /alarms, /metrics). */
export const availabilityWindowSeconds = 60;

const preferenceCacheSizeMax = 10_000;
/** Parsed versions (see `load`) and key partitions the node keeps at most; past it the cache
 * starts again. */
const parsedVersionCountMax = 100_000;

/** Store keys join bucket and key with a byte neither may contain (validate.ts refuses it). */
export function storageKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

export class DynamoNode {
  private currentRing: MemberRing;
  readonly nodeId: NodeId;
  /** This start's actor id for minting dots (see versions.ts: node@incarnation). */
  readonly actor: string;
  private readonly config: ClusterConfig;
  private readonly env: Environment;
  private readonly fsms = new Map<string, Fsm>();
  /** Messages a node sends to itself, handled after the current event (never re-entrantly). */
  private readonly selfQueue: PeerMessage[] = [];
  private fsmSequence = 0;
  /** Preference lists by (n, bucket, key): hashing is the hot path of every request. */
  private readonly preferenceCache = new Map<
    string,
    { primaries: NodeId[]; fallbacks: NodeId[] }
  >();
  /** The functions a lab may replace (policies.ts), guarded: one that throws fails a request,
   * never the node. */
  readonly policies: Policies;
  /** The last version read or written per storage key, with the stored text it stands for. */
  private readonly parsedVersions = new Map<string, { text: string; object: VersionedObject }>();
  private readonly partitionByKey = new Map<string, number>();
  private readonly counters: NodeStats;
  private readonly timing: Timing;
  private readonly detector: FailureDetector;
  private readonly hints: HintedHandoff;
  private readonly antiEntropy: AntiEntropy;
  private readonly activeAlarms = new Map<Alarm["name"], Alarm>();
  private overloadRejectionsSeen = 0;
  /** Client requests not answered yet: what the overload bound counts. A request that has its
   * answer but still waits for slow replicas (for read repair, say) no longer counts. */
  private awaitingReply = 0;
  /** The highest counter this actor has minted on any key (see versions.ts, counterFloor). */
  private mintedCounterMax = 0;
  private readonly awaitingByPartition = new Map<number, number>();
  /** Requests by second of the local clock, for the SLA availability figure. */
  private readonly availabilitySeconds = new Map<number, { good: number; eligible: number }>();
  /** The N replicas of every partition under the current ring. */
  private replicasByPartition: NodeId[][];
  /** Ownership transfers sent and not yet acknowledged by every new replica. */
  private readonly transfers = new Map<
    string,
    { key: string; text: string; waiting: Set<NodeId> }
  >();
  private transferSequence = 0;
  /** A node not in the initial member list joins through this seed. */
  private readonly seed: NodeId | undefined;
  private everMember: boolean;

  constructor(options: {
    config: ClusterConfig;
    nodeId: NodeId;
    env: Environment;
    policies?: PolicyOverrides | undefined;
  }) {
    const { config, nodeId, env } = options;
    this.policies =
      options.policies === undefined || options.policies === defaultPolicies
        ? defaultPolicies
        : guardPolicies(withDefaults(options.policies));
    for (const warning of validateClusterConfig(config)) env.log("config-warning", { warning });
    // A node that is not among the initial members is a joiner: it asks a seed to add it.
    this.seed = config.nodes.includes(nodeId) ? undefined : config.nodes[0];
    this.everMember = this.seed === undefined;
    this.config = config;
    this.nodeId = nodeId;
    this.env = env;
    this.currentRing = {
      partitionCount: config.partitionCount,
      owners: this.policies.claim({
        members: config.nodes,
        partitionCount: config.partitionCount,
        targetN: config.defaults.n,
        currentOwners: undefined,
      }),
      members: [...config.nodes].sort(),
      version: 1,
    };
    this.actor = `${nodeId}@${Math.floor(env.random() * 2 ** 32).toString(36)}`;
    const outcomes = (): Record<Outcome, number> => ({
      ok: 0,
      not_found: 0,
      bad_request: 0,
      unavailable: 0,
      timeout: 0,
      overload: 0,
      policy_failed: 0,
    });
    this.counters = {
      requests: {
        get: outcomes(),
        put: outcomes(),
        delete: outcomes(),
        "crdt-get": outcomes(),
        "crdt-update": outcomes(),
      },
      siblingsPerGet: {},
      readRepairsSent: 0,
      repairsApplied: 0,
      versionsMinted: 0,
      replicaWrites: 0,
      tombstonesReaped: 0,
      fsmActive: 0,
      hintsPending: 0,
      hintsStored: 0,
      handoffsSent: 0,
      handoffsCompleted: 0,
      antiEntropyExchanges: 0,
      antiEntropyKeysRepaired: 0,
      convergenceMsLast: 0,
      convergenceMsMax: 0,
      overloadRejections: 0,
      heartbeatRounds: 0,
      peersDown: 0,
      ringVersion: 1,
      availabilityLastMinute: 1,
      transfersActive: 0,
      transfersCompleted: 0,
    };
    this.timing = { ...defaultTiming, ...config.timing };
    const peers = this.currentRing.members.filter((node) => node !== nodeId);
    this.detector = new FailureDetector(peers, this.timing.suspicionMs, env.now());
    this.hints = new HintedHandoff(env.store, this.timing.hintCountMax);
    this.replicasByPartition = this.partitionReplicas();
    this.antiEntropy = new AntiEntropy(this.replicasByPartition, nodeId);
    for (const key of env.store.keys()) {
      if (!key.startsWith(hintPrefix)) this.noteStored(key, this.load(key));
    }
    // Background work starts at a random offset, so nodes do not beat in step.
    const jitter = (intervalMs: number) => Math.floor(env.random() * intervalMs) + 1;
    env.setTimer(jitter(this.timing.heartbeatIntervalMs), { kind: "heartbeat" });
    env.setTimer(jitter(this.timing.handoffIntervalMs), { kind: "handoff" });
    if (this.timing.antiEntropyIntervalMs > 0) {
      env.setTimer(jitter(this.timing.antiEntropyIntervalMs), { kind: "anti-entropy" });
    }
  }

  /** The ring as this node sees it (GET /ring). */
  get ring(): MemberRing {
    return this.currentRing;
  }

  /** Adds a member (npx neverstop join): a new claim moves as few partitions as it can, and
   * gossip spreads it. Returns the new ring. */
  join(node: NodeId): MemberRing {
    this.adopt(withMember(this.currentRing, node, this.config.defaults.n, this.policies.claim));
    this.broadcastRing([node]);
    return this.currentRing;
  }

  /** Removes a member (npx neverstop leave): its partitions move to the others, and it hands
   * its data over while it keeps running. Returns the new ring. */
  leave(node: NodeId): MemberRing {
    this.adopt(withoutMember(this.currentRing, node, this.config.defaults.n, this.policies.claim));
    this.broadcastRing([node]);
    return this.currentRing;
  }

  private replicaCount(): number {
    return Math.min(this.config.defaults.n, this.currentRing.members.length);
  }

  private partitionReplicas(): NodeId[][] {
    return replicasOfPartitions(
      this.currentRing,
      this.replicaCount(),
      this.policies.preferenceList,
    );
  }

  private adopt(ring: MemberRing): void {
    if (ring === this.currentRing) return;
    if (JSON.stringify(ring) === JSON.stringify(this.currentRing)) return;
    this.currentRing = ring;
    // Once in, a node never asks to join again: a later ring without it means it was removed.
    if (ring.members.includes(this.nodeId)) this.everMember = true;
    this.preferenceCache.clear();
    this.replicasByPartition = this.partitionReplicas();
    this.antiEntropy.setReplicas(this.replicasByPartition);
    this.detector.setPeers(
      ring.members.filter((member) => member !== this.nodeId),
      this.env.now(),
    );
    this.env.log("ring-changed", { version: ring.version, members: ring.members });
  }

  private broadcastRing(extra: NodeId[] = []): void {
    const targets = new Set([...this.currentRing.members, ...extra]);
    for (const member of targets) {
      if (member !== this.nodeId) this.sendTo(member, { type: "ring", ring: this.currentRing });
    }
  }

  /** This node's opinion of every peer (GET /members). */
  members(): PeerView[] {
    return this.detector.view(this.env.now());
  }

  /** Alarms in force (GET /alarms), oldest first. */
  alarms(): Alarm[] {
    return [...this.activeAlarms.values()].sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** The one entry point: the runtime calls it for every event, one at a time. */
  handle(event: NodeEvent): void {
    this.dispatchGuarded(event);
    for (let message = this.selfQueue.shift(); message; message = this.selfQueue.shift()) {
      this.dispatchGuarded({ type: "peer", from: this.nodeId, message });
    }
  }

  /** A policy that throws where no request can take the blame (gossip adopting a ring, say)
   * costs that one event and a log line, never the node. */
  private dispatchGuarded(event: NodeEvent): void {
    try {
      this.dispatch(event);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      this.env.log("policy-failed", { policy: error.policy, detail: error.message });
    }
  }

  stats(): NodeStats {
    return {
      ...this.counters,
      fsmActive: this.fsms.size,
      hintsPending: this.hints.count(),
      handoffsCompleted: this.hints.handedOff,
      antiEntropyExchanges: this.antiEntropy.exchanges,
      antiEntropyKeysRepaired: this.antiEntropy.keysRepaired,
      convergenceMsLast: this.antiEntropy.convergenceMsLast,
      convergenceMsMax: this.antiEntropy.convergenceMsMax,
      peersDown: this.detector.view(this.env.now()).filter((peer) => !peer.up).length,
      ringVersion: this.currentRing.version,
      transfersActive: this.partitionsToTransfer().length,
      availabilityLastMinute: this.availability().ratio,
    };
  }

  /** This node's own replica of a key (for debugging and convergence checks). */
  inspect(bucket: string, key: string): VersionedObject | null {
    return this.load(storageKey(bucket, key));
  }

  /** The preference list of a key: the first N distinct owners clockwise from its hash. */
  preferenceListOf(bucket: string, key: string, n: number): NodeId[] {
    return this.placement(bucket, key, n).primaries;
  }

  private placement(
    bucket: string,
    key: string,
    n: number,
  ): { primaries: NodeId[]; fallbacks: NodeId[] } {
    const cacheKey = `${n}\u0000${bucket}\u0000${key}`;
    let placement = this.preferenceCache.get(cacheKey);
    if (placement === undefined) {
      if (this.preferenceCache.size >= preferenceCacheSizeMax) this.preferenceCache.clear();
      const list: PreferenceList = this.policies.preferenceList(this.ring, hashKey(bucket, key), n);
      placement = {
        primaries: list.primaries.map((entry) => entry.node),
        fallbacks: list.fallbacks,
      };
      this.preferenceCache.set(cacheKey, placement);
    }
    return placement;
  }

  private dispatch(event: NodeEvent): void {
    switch (event.type) {
      case "client":
        return this.onClientRequest(event.requestId, event.request);
      case "peer":
        if (event.from !== this.nodeId) this.detector.heard(event.from, this.env.now());
        return this.onPeerMessage(event.from, event.message);
      case "send-failed":
        this.detector.sendFailed(event.to, this.env.now());
        return this.onSendFailed(event.to, event.message);
      case "timer":
        return this.onTimer(event.timer);
    }
  }

  // --- coordinator side -------------------------------------------------------------------

  /** Data-type requests become key-value requests on the type's own bucket. */
  private translate(request: ClientRequest): {
    request: KeyValueRequest;
    crdt: CrdtOperation | undefined;
    crdtType: CrdtType | undefined;
  } {
    if (request.op === "crdt-get") {
      const { crdt, ...rest } = request;
      const translated = { ...rest, op: "get" as const, bucket: crdtBucket(crdt, request.bucket) };
      return { request: translated, crdt: undefined, crdtType: crdt };
    }
    if (request.op === "crdt-update") {
      const { crdt, operation, context, ...rest } = request;
      const translated = {
        ...rest,
        op: "put" as const,
        bucket: crdtBucket(crdt, request.bucket),
        value: null,
      };
      const contextClock = context === undefined ? undefined : decodeContext(context)?.clock;
      const withContext =
        crdt === "or-set" && contextClock !== undefined
          ? { ...(operation as CrdtOperation), context: contextClock }
          : (operation as CrdtOperation);
      return { request: translated, crdt: withContext, crdtType: crdt };
    }
    return { request, crdt: undefined, crdtType: undefined };
  }

  private onClientRequest(requestId: string, clientRequest: ClientRequest): void {
    const problem = validateClientRequest(clientRequest, this.config);
    const countAs = clientRequest.op;
    const { request, crdt, crdtType } = this.translate(clientRequest);
    if (problem !== undefined) {
      this.count(countAs, "bad_request");
      this.env.reply(requestId, { status: 400, body: { error: "bad_request", detail: problem } });
      return;
    }
    try {
      this.startRequest(requestId, countAs, request, crdt, crdtType);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      // Nothing was taken yet (budget, timer, state machine): only the answer is owed.
      this.count(countAs, "policy_failed");
      this.env.log("policy-failed", { policy: error.policy, detail: error.message });
      this.env.reply(requestId, policyFailure(error, false));
    }
  }

  private startRequest(
    requestId: string,
    countAs: ClientRequest["op"],
    request: KeyValueRequest,
    crdt: CrdtOperation | undefined,
    crdtType: CrdtType | undefined,
  ): void {
    const partition = this.partitionOfStorageKey(storageKey(request.bucket, request.key));
    const inPartition = this.awaitingByPartition.get(partition) ?? 0;
    const decision = this.policies.admit({
      requestsAwaiting: this.awaitingReply,
      requestsInFlightMax: this.timing.requestsInFlightMax,
      partition,
      partitionRequestsAwaiting: inPartition,
      partitionRequestsInFlightMax: this.timing.partitionRequestsInFlightMax,
      random: () => this.env.random(),
    });
    if (!decision.admit) {
      // Back pressure: refuse at once, and say when to come back, instead of queuing without
      // limit until every request times out (lesson 9).
      this.count(countAs, "overload");
      this.counters.overloadRejections += 1;
      this.env.reply(requestId, {
        status: 503,
        body: { error: "overload", detail: decision.detail, retryAfterMs: decision.retryAfterMs },
      });
      return;
    }
    const n = request.n ?? this.config.defaults.n;
    const list = this.preferenceListOf(request.bucket, request.key, n);
    if (request.op === "get") {
      this.takeBudget(partition, inPartition);
      this.startGet(requestId, countAs, request, crdtType, list);
      return;
    }
    const pw = request.pw ?? 0;
    const primariesUp = list.filter(
      (node) => node === this.nodeId || this.detector.isUp(node, this.env.now()),
    ).length;
    if (primariesUp < pw) {
      // Riak's pw_val_unsatisfied: refuse before writing anything, so the client knows the
      // write did not happen (a definite failure, not an indeterminate one).
      this.count(countAs, "unavailable");
      this.env.reply(requestId, {
        status: 503,
        body: {
          error: "unavailable",
          detail: `Only ${primariesUp} of ${list.length} primaries are reachable from ${this.nodeId}; PW=${pw} needs ${pw}`,
        },
      });
      return;
    }
    const targets = this.writeTargets(request.bucket, request.key, n, pw);
    this.takeBudget(partition, inPartition);
    this.startPut(requestId, countAs, request, crdt, list, targets);
  }

  private takeBudget(partition: number, inPartition: number): void {
    this.awaitingReply += 1;
    this.awaitingByPartition.set(partition, inPartition + 1);
  }

  private startGet(
    requestId: string,
    countAs: ClientRequest["op"],
    request: Extract<ClientRequest, { op: "get" }>,
    crdtType: CrdtType | undefined,
    list: NodeId[],
  ): void {
    const id = `${this.actor}:${(this.fsmSequence += 1)}`;
    const timeoutMs = request.timeoutMs ?? this.config.defaults.timeoutMs;
    const requestTimer = this.env.setTimer(timeoutMs, { kind: "request-timeout", fsmId: id });
    const fsm: GetFsm = {
      kind: "get",
      id,
      requestId,
      request,
      countAs,
      crdt: crdtType,
      r: request.r ?? this.config.defaults.r,
      preferenceList: list,
      replies: new Map(),
      merged: null,
      failed: new Set(),
      requestTimer,
      replied: false,
    };
    this.fsms.set(id, fsm);
    for (const replica of list) {
      this.sendTo(replica, { type: "read", id, bucket: request.bucket, key: request.key });
    }
  }

  private startPut(
    requestId: string,
    countAs: ClientRequest["op"],
    request: Extract<ClientRequest, { op: "put" | "delete" }>,
    crdt: CrdtOperation | undefined,
    list: NodeId[],
    targets: WriteTarget[],
  ): void {
    const id = `${this.actor}:${(this.fsmSequence += 1)}`;
    const timeoutMs = request.timeoutMs ?? this.config.defaults.timeoutMs;
    const requestTimer = this.env.setTimer(timeoutMs, { kind: "request-timeout", fsmId: id });
    const fsm: PutFsm = {
      kind: "put",
      id,
      requestId,
      request,
      countAs,
      crdt,
      storageKey: storageKey(request.bucket, request.key),
      w: request.w ?? this.config.defaults.w,
      pw: request.pw ?? 0,
      preferenceList: list,
      targets,
      candidates: this.mintingCandidates(list),
      attempt: -1,
      coordinateTimer: undefined,
      requestTimer,
      maybeWritten: false,
      object: undefined,
      acknowledged: new Set(),
      failed: new Set(),
      replied: false,
    };
    this.fsms.set(id, fsm);
    this.tryNextCoordinator(fsm);
  }

  /** Sloppy quorum (policies.ts's sloppyQuorumTargets): who receives the write. */
  private writeTargets(bucket: string, key: string, n: number, pw: number): WriteTarget[] {
    const { primaries, fallbacks } = this.placement(bucket, key, n);
    const now = this.env.now();
    return this.policies.sloppyQuorumTargets({
      primaries,
      fallbacks,
      isUp: (node) => node === this.nodeId || this.detector.isUp(node, now),
      pw,
    });
  }

  /** Primaries that may mint a version: this node first if it is one, then those believed up. */
  private mintingCandidates(primaries: NodeId[]): NodeId[] {
    const ordered = primaries.includes(this.nodeId)
      ? [this.nodeId, ...primaries.filter((node) => node !== this.nodeId)]
      : primaries;
    const now = this.env.now();
    const up = ordered.filter((node) => node === this.nodeId || this.detector.isUp(node, now));
    return [...up, ...ordered.filter((node) => !up.includes(node))];
  }

  private tryNextCoordinator(fsm: PutFsm): void {
    if (fsm.coordinateTimer !== undefined) this.env.cancelTimer(fsm.coordinateTimer);
    fsm.coordinateTimer = undefined;
    fsm.attempt += 1;
    const candidate = fsm.candidates[fsm.attempt];
    if (candidate === undefined) {
      this.finishPut(fsm, {
        status: 503,
        body: {
          error: "unavailable",
          detail: `No replica of the preference list (${fsm.preferenceList.join(", ")}) could be reached to coordinate the write`,
          indeterminate: fsm.maybeWritten,
        },
      });
      return;
    }
    const { request } = fsm;
    const timeoutMs = request.timeoutMs ?? this.config.defaults.timeoutMs;
    fsm.coordinateTimer = this.env.setTimer(
      Math.max(1, Math.floor(timeoutMs / fsm.candidates.length)),
      {
        kind: "coordinate-timeout",
        fsmId: fsm.id,
        attempt: fsm.attempt,
      },
    );
    this.sendTo(candidate, {
      type: "coordinate-put",
      id: fsm.id,
      bucket: request.bucket,
      key: request.key,
      mode: this.config.bucketModes[request.bucket] ?? "causal",
      value: request.op === "put" ? request.value : null,
      tombstone: request.op === "delete",
      context: request.context === undefined ? {} : (decodeContext(request.context)?.clock ?? {}),
      timestamp: this.env.now(),
      ...(fsm.crdt === undefined ? {} : { crdt: fsm.crdt }),
    });
  }

  private onMinted(fsm: PutFsm, from: NodeId, object: VersionedObject): void {
    if (fsm.object !== undefined) return; // a slow earlier attempt answered late: one is enough
    if (fsm.coordinateTimer !== undefined) this.env.cancelTimer(fsm.coordinateTimer);
    fsm.coordinateTimer = undefined;
    fsm.object = object;
    fsm.acknowledged.add(from);
    // The minter was believed down when targets were chosen: it is a target again.
    fsm.targets = fsm.targets.map((target) => (target.hintFor === from ? { node: from } : target));
    for (const target of fsm.targets) {
      if (target.node === from) continue;
      this.sendTo(target.node, {
        type: "replicate",
        id: fsm.id,
        bucket: fsm.request.bucket,
        key: fsm.request.key,
        object,
        ...(target.hintFor === undefined ? {} : { hintFor: target.hintFor }),
      });
    }
    this.progressPut(fsm);
  }

  private progressPut(fsm: PutFsm): void {
    const n = fsm.targets.length;
    const acknowledged = fsm.acknowledged.size;
    const stillPossible = n - acknowledged - fsm.failed.size;
    const isPrimary = (target: WriteTarget) => target.hintFor === undefined;
    if (!fsm.replied) {
      const verdict = this.policyVerdict(fsm, () =>
        this.policies.writeQuorum({
          w: fsm.w,
          pw: fsm.pw,
          targetCount: n,
          acknowledged,
          failed: fsm.failed.size,
          primariesAcknowledged: fsm.targets.filter(
            (t) => isPrimary(t) && fsm.acknowledged.has(t.node),
          ).length,
          primariesPending: fsm.targets.filter(
            (t) => isPrimary(t) && !fsm.acknowledged.has(t.node) && !fsm.failed.has(t.node),
          ).length,
        }),
      );
      if (verdict === undefined) return;
      if (verdict.kind === "ok") {
        this.replyPut(fsm, {
          status: 204,
          context: encodeContext(
            fsm.object!.clock,
            contextTag(fsm.request.bucket, fsm.request.key),
          ),
        });
      } else if (verdict.kind === "unavailable") {
        this.replyPut(fsm, {
          status: 503,
          body: { error: "unavailable", detail: verdict.detail, indeterminate: true },
        });
      }
    }
    if (stillPossible === 0) {
      // Every replica answered. A tombstone that every replica holds can be reaped.
      const allPrimaries = fsm.targets.every(isPrimary);
      if (
        fsm.request.op === "delete" &&
        allPrimaries &&
        acknowledged === n &&
        fsm.object !== undefined
      ) {
        for (const replica of fsm.preferenceList) {
          this.sendTo(replica, {
            type: "reap",
            bucket: fsm.request.bucket,
            key: fsm.request.key,
            clock: fsm.object.clock,
          });
        }
      }
      this.retire(fsm);
    }
  }

  private replyPut(fsm: PutFsm, response: ClientResponse): void {
    if (!fsm.replied) this.answered(fsm.request.bucket, fsm.request.key, response);
    fsm.replied = true;
    this.count(fsm.countAs, outcomeOf(response));
    this.env.reply(fsm.requestId, response);
  }

  private finishPut(fsm: PutFsm, response: ClientResponse): void {
    if (!fsm.replied) this.replyPut(fsm, response);
    this.retire(fsm);
  }

  /** Asks a quorum policy; one that throws fails this request with a 500 (a write may have
   * landed on some replica: indeterminate) and the state machine ends. */
  private policyVerdict(fsm: Fsm, ask: () => QuorumVerdict): QuorumVerdict | undefined {
    try {
      return ask();
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      this.env.log("policy-failed", { policy: error.policy, detail: error.message });
      const response = policyFailure(error, fsm.kind === "put");
      if (fsm.kind === "put") this.finishPut(fsm, response);
      else {
        if (!fsm.replied) this.replyGet(fsm, response);
        this.retire(fsm);
      }
      return undefined;
    }
  }

  private onReadReply(fsm: GetFsm, from: NodeId, object: VersionedObject | null): void {
    if (fsm.replies.has(from)) return; // a duplicated message
    fsm.replies.set(from, object);
    fsm.merged = merge(fsm.merged, object);
    this.progressGet(fsm);
  }

  private progressGet(fsm: GetFsm): void {
    const n = fsm.preferenceList.length;
    const answered = fsm.replies.size;
    const stillPossible = n - answered - fsm.failed.size;
    if (!fsm.replied) {
      const verdict = this.policyVerdict(fsm, () => {
        const tally = { r: fsm.r, replicaCount: n, answered, failed: fsm.failed.size };
        const verdict = this.policies.readQuorum(tally);
        // The resolver runs here too, so that a resolver that throws fails this read alone.
        return verdict.kind === "ok" ? { kind: "ok", response: this.readResponse(fsm) } : verdict;
      });
      if (verdict === undefined) return;
      if (verdict.kind === "ok") this.replyGet(fsm, (verdict as ReadAnswer).response);
      else if (verdict.kind === "unavailable") {
        this.replyGet(fsm, { status: 503, body: { error: "unavailable", detail: verdict.detail } });
      }
    }
    if (stillPossible === 0) this.finishGet(fsm);
  }

  private readResponse(fsm: GetFsm): ClientResponse {
    const merged = fsm.merged;
    const tag = contextTag(fsm.request.bucket, fsm.request.key);
    if (merged === null || isDeleted(merged)) {
      const detail = `${fsm.request.bucket}/${fsm.request.key} not found`;
      return merged === null
        ? { status: 404, body: { error: "not_found", detail } }
        : {
            status: 404,
            body: { error: "not_found", detail, context: encodeContext(merged.clock, tag) },
          };
    }
    if (fsm.crdt !== undefined) {
      const state = crdtStateOf(merged);
      const clock = state.type === "or-set" ? state.state.clock : {};
      return {
        status: 200,
        body: { crdt: fsm.crdt, value: crdtValue(state), context: encodeContext(clock, tag) },
      };
    }
    const resolve = this.policies.resolveSiblings[merged.mode === "lww" ? "lww" : "causal"];
    const stored = merged.siblings.filter((sibling) => !sibling.tombstone);
    const live =
      stored.length > 0
        ? resolve(stored, { bucket: fsm.request.bucket, key: fsm.request.key })
        : stored;
    return {
      status: 200,
      body: {
        siblings: live.map((sibling) => sibling.value),
        context: encodeContext(merged.clock, tag),
      },
    };
  }

  private replyGet(fsm: GetFsm, response: ClientResponse): void {
    if (!fsm.replied) this.answered(fsm.request.bucket, fsm.request.key, response);
    fsm.replied = true;
    this.count(fsm.countAs, outcomeOf(response));
    if (fsm.crdt === undefined && (response.status === 200 || response.status === 404)) {
      const siblings =
        response.status === 200 && "siblings" in response.body
          ? String(response.body.siblings.length)
          : "0";
      this.counters.siblingsPerGet[siblings] = (this.counters.siblingsPerGet[siblings] ?? 0) + 1;
    }
    this.env.reply(fsm.requestId, response);
  }

  /** After every replica answered (or time ran out): read repair, then reap if all agree. */
  private finishGet(fsm: GetFsm): void {
    const merged = fsm.merged;
    if (merged !== null) {
      for (const [replica, object] of fsm.replies) {
        if (sameVersion(object, merged)) continue;
        this.counters.readRepairsSent += 1;
        this.sendTo(replica, {
          type: "repair",
          bucket: fsm.request.bucket,
          key: fsm.request.key,
          object: merged,
        });
      }
      const everyReplicaHasIt = fsm.replies.size === fsm.preferenceList.length;
      if (everyReplicaHasIt && isDeleted(merged)) {
        const allSame = [...fsm.replies.values()].every((object) => sameVersion(object, merged));
        for (const replica of allSame ? fsm.preferenceList : []) {
          const { bucket, key } = fsm.request;
          this.sendTo(replica, { type: "reap", bucket, key, clock: merged.clock });
        }
      }
    }
    this.retire(fsm);
  }

  private retire(fsm: Fsm): void {
    this.env.cancelTimer(fsm.requestTimer);
    if (fsm.kind === "put" && fsm.coordinateTimer !== undefined) {
      this.env.cancelTimer(fsm.coordinateTimer);
    }
    this.fsms.delete(fsm.id);
  }

  private onTimer(timer: Extract<NodeEvent, { type: "timer" }>["timer"]): void {
    if (timer.kind === "heartbeat") return this.onHeartbeat();
    if (timer.kind === "handoff") return this.onHandoffRound();
    if (timer.kind === "anti-entropy") return this.onAntiEntropyRound();
    const fsm = this.fsms.get(timer.fsmId);
    if (fsm === undefined) return;
    if (timer.kind === "coordinate-timeout") {
      if (fsm.kind !== "put" || fsm.object !== undefined || timer.attempt !== fsm.attempt) return;
      fsm.coordinateTimer = undefined;
      fsm.maybeWritten = true;
      this.tryNextCoordinator(fsm);
      return;
    }
    if (timer.kind !== "request-timeout") return;
    const timeoutMs = fsm.request.timeoutMs ?? this.config.defaults.timeoutMs;
    if (fsm.kind === "get") {
      if (!fsm.replied) {
        this.replyGet(fsm, {
          status: 504,
          body: {
            error: "timeout",
            detail: `Timed out after ${timeoutMs} ms with ${fsm.replies.size} of R=${fsm.r} replies`,
          },
        });
      }
      this.finishGet(fsm);
      return;
    }
    this.finishPut(fsm, {
      status: 504,
      body: {
        error: "timeout",
        detail: `Timed out after ${timeoutMs} ms with ${fsm.acknowledged.size} of W=${fsm.w} acknowledgements`,
        indeterminate: fsm.maybeWritten || fsm.object !== undefined,
      },
    });
  }

  private onSendFailed(to: NodeId, message: PeerMessage): void {
    if (!("id" in message)) return; // repair and reap are best effort
    const fsm = this.fsms.get(message.id);
    if (fsm === undefined) return;
    if (fsm.kind === "get" && message.type === "read") {
      fsm.failed.add(to);
      this.progressGet(fsm);
    } else if (fsm.kind === "put" && message.type === "coordinate-put") {
      if (fsm.object === undefined && fsm.candidates[fsm.attempt] === to) {
        fsm.failed.add(to);
        this.tryNextCoordinator(fsm);
      }
    } else if (fsm.kind === "put" && message.type === "replicate") {
      fsm.failed.add(to);
      this.progressPut(fsm);
    }
  }

  // --- replica side -----------------------------------------------------------------------

  private onPeerMessage(from: NodeId, message: PeerMessage): void {
    switch (message.type) {
      case "coordinate-put": {
        const key = storageKey(message.bucket, message.key);
        if (message.crdt !== undefined) {
          // A data type: apply the operation to this replica's state (its own join does the
          // rest on every other replica). A type mismatch or a full set is refused here.
          const local = this.load(key);
          let object: VersionedObject;
          try {
            const state = crdtApply(
              local === null ? null : crdtStateOf(local),
              message.crdt,
              this.actor,
            );
            object = crdtObject(state);
          } catch (error) {
            const detail = error instanceof Error ? error.message : String(error);
            this.sendTo(from, { type: "coordinate-put-refused", id: message.id, detail });
            return;
          }
          this.save(key, object);
          this.counters.versionsMinted += 1;
          this.sendTo(from, { type: "coordinate-put-ok", id: message.id, object });
          return;
        }
        const local = this.load(key);
        const object = update(local, {
          mode: message.mode,
          value: message.value,
          tombstone: message.tombstone,
          context: message.context,
          actor: this.actor,
          timestamp: message.timestamp,
          // A key with no copy here may have been reaped: never reuse one of our dots.
          counterFloor: local === null ? this.mintedCounterMax : 0,
        });
        this.mintedCounterMax = Math.max(this.mintedCounterMax, object.clock[this.actor] ?? 0);
        this.save(key, object);
        this.counters.versionsMinted += 1;
        this.sendTo(from, { type: "coordinate-put-ok", id: message.id, object });
        return;
      }
      case "replicate": {
        const key = storageKey(message.bucket, message.key);
        if (message.hintFor !== undefined && message.hintFor !== this.nodeId) {
          if (!this.hints.keep(message.hintFor, key, message.object)) return; // too many hints
          this.counters.hintsStored += 1;
        } else {
          this.applyVersion(key, message.object);
        }
        this.sendTo(from, { type: "replicate-ok", id: message.id });
        return;
      }
      case "handoff": {
        this.applyVersion(storageKey(message.bucket, message.key), message.object);
        this.sendTo(from, { type: "handoff-ok", id: message.id });
        return;
      }
      case "handoff-ok":
        if (message.id.startsWith("t")) this.onTransferAcknowledged(from, message.id);
        else this.hints.acknowledged(message.id);
        return;
      case "ring":
        if (isWellFormedRing(message.ring, this.currentRing.partitionCount)) {
          const newer = newerRing(this.currentRing, message.ring);
          this.adopt(newer);
          // The sender is behind (a removed node that missed its removal, say): answer with
          // ours, so gossip to members alone still reaches everyone who gossips.
          if (JSON.stringify(message.ring) !== JSON.stringify(this.currentRing)) {
            this.sendTo(from, { type: "ring", ring: this.currentRing });
          }
        }
        return;
      case "join-request":
        if (!this.currentRing.members.includes(from)) this.join(from);
        else this.sendTo(from, { type: "ring", ring: this.currentRing });
        return;
      case "ping":
        this.sendTo(from, { type: "pong" });
        return;
      case "pong":
        return;
      case "aae-root": {
        const segments = this.antiEntropy.onRoot(message.partition, message.root) ?? [];
        this.sendTo(from, { type: "aae-segments", partition: message.partition, segments });
        return;
      }
      case "aae-segments": {
        const equal = message.segments.length === 0;
        this.antiEntropy.noteComparison(message.partition, from, equal, this.env.now());
        if (equal) return;
        for (const { segment, keys } of this.antiEntropy.onSegments(
          message.partition,
          message.segments,
        )) {
          this.sendTo(from, { type: "aae-keys", partition: message.partition, segment, keys });
        }
        return;
      }
      case "aae-keys": {
        const { repair, want } = this.antiEntropy.onKeys(
          message.partition,
          message.segment,
          message.keys,
        );
        this.sendRepairs(from, repair);
        if (want.length > 0) this.sendTo(from, { type: "aae-want", storageKeys: want });
        return;
      }
      case "aae-want":
        this.sendRepairs(from, message.storageKeys.slice(0, 10_000));
        return;
      case "repair": {
        if (this.applyVersion(storageKey(message.bucket, message.key), message.object)) {
          this.counters.repairsApplied += 1;
        }
        return;
      }
      case "read": {
        const object = this.load(storageKey(message.bucket, message.key));
        this.sendTo(from, { type: "read-reply", id: message.id, object });
        return;
      }
      case "reap": {
        const key = storageKey(message.bucket, message.key);
        const local = this.load(key);
        const tombstoneOnly = local !== null && isDeleted(local);
        if (tombstoneOnly && sameVersion(local, { ...local, clock: message.clock })) {
          this.remove(key);
          this.counters.tombstonesReaped += 1;
        }
        return;
      }
      case "coordinate-put-refused": {
        const fsm = this.fsms.get(message.id);
        if (fsm?.kind === "put" && fsm.object === undefined) {
          this.finishPut(fsm, {
            status: 400,
            body: { error: "bad_request", detail: message.detail },
          });
        }
        return;
      }
      case "coordinate-put-ok": {
        const fsm = this.fsms.get(message.id);
        if (fsm?.kind === "put") this.onMinted(fsm, from, message.object);
        return;
      }
      case "replicate-ok": {
        const fsm = this.fsms.get(message.id);
        if (fsm?.kind === "put" && fsm.targets.some((target) => target.node === from)) {
          fsm.acknowledged.add(from);
          fsm.failed.delete(from);
          this.progressPut(fsm);
        }
        return;
      }
      case "read-reply": {
        const fsm = this.fsms.get(message.id);
        if (fsm?.kind === "get" && fsm.preferenceList.includes(from)) {
          this.onReadReply(fsm, from, message.object);
        }
        return;
      }
    }
  }

  /** Merges an incoming version into the local one; true when the local one changed. */
  private applyVersion(key: string, incoming: VersionedObject): boolean {
    const local = this.load(key);
    const merged = merge(local, incoming)!;
    if (sameVersion(local, merged)) return false;
    this.save(key, merged);
    this.counters.replicaWrites += 1;
    return true;
  }

  /**
   * The version stored under `key`. The store holds text (it is bytes on a disk); parsing it on
   * every read was a fifth of the simulator's time, so the node keeps the object it last read or
   * wrote for each key, with the text it stands for, and parses again only when the stored text
   * is not that text (another writer, a restart). The objects are frozen (immutable.ts): a
   * caller that tried to change one in place would throw, not corrupt what the next read sees.
   */
  private load(key: string): VersionedObject | null {
    const text = this.env.store.get(key);
    if (text === undefined) return null;
    const cached = this.parsedVersions.get(key);
    if (cached !== undefined && cached.text === text) return cached.object;
    const object = freezeJson(JSON.parse(text) as VersionedObject);
    this.remember(key, text, object);
    return object;
  }

  private save(key: string, object: VersionedObject): void {
    freezeJson(object); // first: encodeVersion reuses the text of siblings that are frozen
    const text = encodeVersion(object);
    this.env.store.put(key, text);
    this.remember(key, text, object);
    this.noteStored(key, object);
  }

  private remove(key: string): void {
    this.env.store.delete(key);
    this.parsedVersions.delete(key);
    this.noteStored(key, null);
  }

  private remember(key: string, text: string, object: VersionedObject): void {
    if (this.parsedVersions.size >= parsedVersionCountMax) this.parsedVersions.clear();
    this.parsedVersions.set(key, { text, object });
  }

  /** Keeps the anti-entropy tree of the key's partition up to date (O(1) per write). The tree
   * hashes the version's fingerprint (clock and dots), not its whole JSON text. */
  private noteStored(key: string, object: VersionedObject | null): void {
    const partition = this.partitionOfStorageKey(key);
    this.antiEntropy
      .tree(partition)
      .set(key, object === null ? undefined : versionFingerprint(object));
  }

  /** A key's partition, memoised: Q never changes, and every write asks. */
  private partitionOfStorageKey(key: string): number {
    let partition = this.partitionByKey.get(key);
    if (partition === undefined) {
      const separator = key.indexOf("\u0000");
      const bucket = key.slice(0, separator);
      partition = partitionOfKey(bucket, key.slice(separator + 1), this.ring.partitionCount);
      if (this.partitionByKey.size >= parsedVersionCountMax) this.partitionByKey.clear();
      this.partitionByKey.set(key, partition);
    }
    return partition;
  }

  private sendRepairs(to: NodeId, keys: string[]): void {
    for (const key of keys) {
      const object = this.load(key);
      if (object === null) continue;
      const separator = key.indexOf("\u0000");
      this.sendTo(to, {
        type: "repair",
        bucket: key.slice(0, separator),
        key: key.slice(separator + 1),
        object,
      });
    }
  }

  // --- background work: heartbeats, handoff, anti-entropy, alarms -----------------------

  /** Background work yields to foreground load: skip a round when half the budget is in use. */
  private busy(): boolean {
    return this.awaitingReply > this.timing.requestsInFlightMax / 2;
  }

  private onHeartbeat(): void {
    this.counters.heartbeatRounds += 1;
    const peers = this.currentRing.members.filter((member) => member !== this.nodeId);
    for (const peer of peers) this.sendTo(peer, { type: "ping" });
    // Gossip: the ring to one random member that seems up.
    const now = this.env.now();
    const upPeers = peers.filter((peer) => this.detector.isUp(peer, now));
    if (upPeers.length > 0) {
      const peer = upPeers[Math.floor(this.env.random() * upPeers.length)]!;
      this.sendTo(peer, { type: "ring", ring: this.currentRing });
    }
    // A joiner asks until it is in; a node that was removed (leave) does not ask back in.
    if (this.currentRing.members.includes(this.nodeId)) this.everMember = true;
    if (this.seed !== undefined && !this.everMember) {
      this.sendTo(this.seed, { type: "join-request" });
    }
    this.updateAlarms();
    this.env.setTimer(this.timing.heartbeatIntervalMs, { kind: "heartbeat" });
  }

  /** Partitions whose keys this node still holds but no longer replicates. */
  private partitionsToTransfer(): number[] {
    return this.antiEntropy
      .partitionsWithKeys()
      .filter((partition) => !this.replicasByPartition[partition]!.includes(this.nodeId));
  }

  /**
   * Ownership handoff after a ring change: at most 2 partitions at a time, a batch of keys per
   * round, each sent to every new replica; a key is dropped here only once all of them have it.
   */
  private transferRound(): void {
    this.transfers.clear(); // unacknowledged batches are offered again
    const now = this.env.now();
    for (const partition of this.partitionsToTransfer().slice(0, 2)) {
      const replicas = this.replicasByPartition[partition]!;
      if (!replicas.every((replica) => this.detector.isUp(replica, now))) continue;
      for (const key of this.antiEntropy
        .tree(partition)
        .keys()
        .slice(0, this.timing.handoffBatchMax)) {
        const text = this.env.store.get(key);
        if (text === undefined) continue;
        const id = `t${(this.transferSequence += 1)}`;
        this.transfers.set(id, { key, text, waiting: new Set(replicas) });
        const separator = key.indexOf("\u0000");
        for (const replica of replicas) {
          this.sendTo(replica, {
            type: "handoff",
            id,
            bucket: key.slice(0, separator),
            key: key.slice(separator + 1),
            object: JSON.parse(text) as VersionedObject,
          });
        }
      }
    }
  }

  private onTransferAcknowledged(from: NodeId, id: string): void {
    const transfer = this.transfers.get(id);
    if (transfer === undefined) return;
    transfer.waiting.delete(from);
    if (transfer.waiting.size > 0) return;
    this.transfers.delete(id);
    // Drop our copy only if nothing newer arrived meanwhile and we are still not a replica.
    if (this.env.store.get(transfer.key) !== transfer.text) return;
    const separator = transfer.key.indexOf("\u0000");
    const hash = hashKey(transfer.key.slice(0, separator), transfer.key.slice(separator + 1));
    const partition = partitionOf(hash, this.currentRing.partitionCount);
    if (this.replicasByPartition[partition]!.includes(this.nodeId)) return;
    this.remove(transfer.key);
    this.counters.transfersCompleted += 1;
  }

  private onHandoffRound(): void {
    this.hints.expireInFlight();
    if (!this.busy()) this.transferRound();
    const now = this.env.now();
    if (!this.busy()) {
      for (const primary of this.hints.primaries()) {
        if (!this.detector.isUp(primary, now)) continue;
        for (const item of this.hints.batch(primary, this.timing.handoffBatchMax)) {
          const separator = item.storageKey.indexOf("\u0000");
          this.counters.handoffsSent += 1;
          this.sendTo(primary, {
            type: "handoff",
            id: item.id,
            bucket: item.storageKey.slice(0, separator),
            key: item.storageKey.slice(separator + 1),
            object: item.object,
          });
        }
      }
    }
    this.env.setTimer(this.timing.handoffIntervalMs, { kind: "handoff" });
  }

  private onAntiEntropyRound(): void {
    const now = this.env.now();
    if (!this.busy()) {
      const exchange = this.antiEntropy.next((peer) => this.detector.isUp(peer, now));
      if (exchange !== undefined) {
        this.sendTo(exchange.peer, {
          type: "aae-root",
          partition: exchange.partition,
          root: exchange.root,
        });
      }
    }
    this.env.setTimer(this.timing.antiEntropyIntervalMs, { kind: "anti-entropy" });
  }

  private updateAlarms(): void {
    const now = this.env.now();
    const down = this.detector
      .view(now)
      .filter((peer) => !peer.up)
      .map((peer) => peer.node);
    const rejections = this.counters.overloadRejections - this.overloadRejectionsSeen;
    this.overloadRejectionsSeen = this.counters.overloadRejections;
    let rules;
    try {
      rules = this.policies.alarmRules({
        nodeId: this.nodeId,
        peersDown: down,
        overloadRejections: rejections,
        hintsPending: this.hints.count(),
        divergedMs: this.antiEntropy.divergedForMs(now),
      });
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      this.env.log("policy-failed", { policy: error.policy, detail: error.message });
      return;
    }
    for (const rule of rules) this.setAlarm(rule.name, rule.active, rule.detail);
  }

  private setAlarm(name: Alarm["name"], active: boolean, detail: string): void {
    const current = this.activeAlarms.get(name);
    if (!active) {
      if (current !== undefined) this.env.log("alarm-cleared", { alarm: name });
      this.activeAlarms.delete(name);
    } else if (current === undefined) {
      this.activeAlarms.set(name, { name, detail, sinceMs: this.env.now() });
      this.env.log("alarm-raised", { alarm: name, detail });
    } else {
      current.detail = detail;
    }
  }

  private sendTo(to: NodeId, message: PeerMessage): void {
    if (to === this.nodeId) this.selfQueue.push(message);
    else this.env.send(to, message);
  }

  private count(op: ClientRequest["op"], outcome: Outcome): void {
    this.counters.requests[op][outcome] += 1;
    // Availability the way an SLA counts it: a request the client got wrong (400) is not the
    // service's fault and is left out; "not found" is a correct answer; unavailable, timeout and
    // overload are the service failing its client.
    if (outcome === "bad_request") return;
    const second = Math.floor(this.env.now() / 1000);
    let bucket = this.availabilitySeconds.get(second);
    if (bucket === undefined) {
      this.availabilitySeconds.set(second, (bucket = { good: 0, eligible: 0 }));
      for (const old of this.availabilitySeconds.keys()) {
        if (old <= second - availabilityWindowSeconds) this.availabilitySeconds.delete(old);
      }
    }
    bucket.eligible += 1;
    if (outcome === "ok" || outcome === "not_found") bucket.good += 1;
  }

  /** A client request got its answer: it leaves the overload budget. */
  private answered(bucket: string, key: string, _response: ClientResponse): void {
    this.awaitingReply -= 1;
    const partition = this.partitionOfStorageKey(storageKey(bucket, key));
    const left = (this.awaitingByPartition.get(partition) ?? 1) - 1;
    if (left > 0) this.awaitingByPartition.set(partition, left);
    else this.awaitingByPartition.delete(partition);
  }

  /** Good requests over eligible ones in the last minute (1 when there were none), as a
   * five-nines SLA counts: 0.99999 allows one failed request in 100,000. */
  availability(): { windowSeconds: number; good: number; eligible: number; ratio: number } {
    const now = Math.floor(this.env.now() / 1000);
    let good = 0;
    let eligible = 0;
    for (const [second, bucket] of this.availabilitySeconds) {
      if (second <= now - availabilityWindowSeconds) continue;
      good += bucket.good;
      eligible += bucket.eligible;
    }
    return {
      windowSeconds: availabilityWindowSeconds,
      good,
      eligible,
      ratio: eligible === 0 ? 1 : good / eligible,
    };
  }
}

/** A read's verdict with its answer (the resolver ran inside the guarded call). */
type ReadAnswer = { kind: "ok"; response: ClientResponse };

/** The answer to a request whose policy threw or broke its contract. */
function policyFailure(error: PolicyError, indeterminate: boolean): ClientResponse {
  return {
    status: 500,
    body: {
      error: "policy_failed",
      detail: error.message,
      ...(indeterminate ? { indeterminate } : {}),
    },
  };
}

function outcomeOf(response: ClientResponse): Outcome {
  if (response.status === 200 || response.status === 204) return "ok";
  return response.body.error;
}

export { validateClientRequest } from "./validate.ts";
