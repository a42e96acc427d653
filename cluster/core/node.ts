// The Dynamo node (every lesson; the Dynamo paper's section 4 as a whole): one `handle(event)`
// that dispatches, and the node's public queries. I/O-free: everything it does goes through
// `env` (see types.ts). Each mechanism lives in a module of its own, named the way the lessons
// name it; this file only builds them and routes events to them:
//
//   put-coordinator.ts     a write: minting, sloppy-quorum targets, the quorum verdict
//   get-coordinator.ts     a read: the quorum verdict, read repair, reaping tombstones
//   replica.ts             the replica side: mint, replicate, read, repair, reap
//   replica-store.ts       the versions a node holds: storage keys, the version cache
//   gossip.ts              membership: heartbeats, the ring by gossip, join and leave
//   ownership-transfer.ts  handing keys to a partition's new replicas after a ring change
//   hinted-handoff.ts      hints kept for unreachable primaries, and the rounds returning them
//   anti-entropy.ts        Merkle-tree exchanges between replicas, a round at a time
//   admission.ts           back pressure: how many requests a node takes on
//   node-health.ts         counters, availability, alarms
//   policies.ts            the decisions a lab may replace (the defaults are the reference)
//
// A put, start to finish: the client's node admits it (admission.ts), asks one replica to mint
// the new version (put-coordinator.ts -> replica.ts), sends it to the other targets, and
// answers once the write quorum says so. A get asks all N replicas, answers at R, and repairs
// stale replicas once all N answered. Background rounds (heartbeat, handoff, anti-entropy)
// run on timers the node sets itself, at a random offset so that nodes do not beat in step.

import { Admission } from "./admission.ts";
import { AntiEntropy, AntiEntropyRounds } from "./anti-entropy.ts";
import type { PeerView } from "./failure-detector.ts";
import { Gossip } from "./gossip.ts";
import { HandoffRounds, HintedHandoff, hintPrefix } from "./hinted-handoff.ts";
import type { MemberRing } from "./membership.ts";
import type { NodeContext } from "./node-context.ts";
import { newCounters, NodeHealth, type Alarm, type NodeStats } from "./node-health.ts";
import { OwnershipTransfer } from "./ownership-transfer.ts";
import {
  defaultPolicies,
  guardPolicies,
  PolicyError,
  withDefaults,
  type PolicyOverrides,
} from "./policies.ts";
import { GetCoordinator } from "./get-coordinator.ts";
import { PutCoordinator } from "./put-coordinator.ts";
import { Replica } from "./replica.ts";
import { ReplicaStore, storageKey } from "./replica-store.ts";
import { policyFailure, translate } from "./requests.ts";
import type {
  ClientRequest,
  ClusterConfig,
  Environment,
  NodeEvent,
  NodeId,
  PeerMessage,
  TimerPayload,
  Timing,
} from "./types.ts";
import { validateClientRequest, validateClusterConfig } from "./validate.ts";
import type { VersionedObject } from "./versions.ts";

export { alarmThresholds } from "./policies.ts";
export {
  availabilityWindowSeconds,
  type Alarm,
  type NodeStats,
  type Outcome,
} from "./node-health.ts";
export { storageKey } from "./replica-store.ts";
export { validateClientRequest } from "./validate.ts";

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

export interface DynamoNodeOptions {
  config: ClusterConfig;
  nodeId: NodeId;
  env: Environment;
  /** Functions a lab replaces (policies.ts); the rest stay the reference ones. */
  policies?: PolicyOverrides | undefined;
}

/** Each peer message type, and the mechanism's handler that receives it. */
type MessageRoutes = {
  [Type in PeerMessage["type"]]: (
    from: NodeId,
    message: Extract<PeerMessage, { type: Type }>,
  ) => void;
};

export class DynamoNode {
  readonly nodeId: NodeId;
  /** This start's actor id for minting dots (see versions.ts: node@incarnation). */
  readonly actor: string;
  private readonly context: NodeContext;
  private readonly gossip: Gossip;
  private readonly health: NodeHealth;
  private readonly store: ReplicaStore;
  private readonly admission: Admission;
  private readonly puts: PutCoordinator;
  private readonly gets: GetCoordinator;
  private readonly replica: Replica;
  private readonly hints: HintedHandoff;
  private readonly handoff: HandoffRounds;
  private readonly transfer: OwnershipTransfer;
  private readonly antiEntropy: AntiEntropy;
  private readonly antiEntropyRounds: AntiEntropyRounds;
  private readonly routes: MessageRoutes;
  /** Messages a node sends to itself, handled after the current event (never re-entrantly). */
  private readonly selfQueue: PeerMessage[] = [];
  private requestSequence = 0;

  constructor(options: DynamoNodeOptions) {
    const { config, nodeId, env } = options;
    for (const warning of validateClusterConfig(config)) env.log("config-warning", { warning });
    this.nodeId = nodeId;
    this.actor = `${nodeId}@${Math.floor(env.random() * 2 ** 32).toString(36)}`;
    this.context = {
      nodeId,
      actor: this.actor,
      config,
      timing: { ...defaultTiming, ...config.timing },
      env,
      policies: chosenPolicies(options.policies),
      counters: newCounters(),
      send: (to, message) => {
        if (to === nodeId) this.selfQueue.push(message);
        else env.send(to, message);
      },
      nextRequestId: () => `${this.actor}:${(this.requestSequence += 1)}`,
    };
    const context = this.context;
    this.gossip = new Gossip(context, (replicas) => this.antiEntropy.setReplicas(replicas));
    this.hints = new HintedHandoff(env.store, context.timing.hintCountMax);
    this.antiEntropy = new AntiEntropy(this.gossip.allReplicas, nodeId);
    this.store = new ReplicaStore(env, config.partitionCount, this.antiEntropy, context.counters);
    for (const key of env.store.keys()) {
      if (!key.startsWith(hintPrefix)) this.store.noteStored(key, this.store.load(key));
    }
    this.health = new NodeHealth(context);
    this.admission = new Admission(context, this.health, this.store);
    this.puts = new PutCoordinator(context, this.gossip, this.admission, this.health);
    this.gets = new GetCoordinator(context, this.gossip, this.admission, this.health);
    this.replica = new Replica(context, this.store, this.hints);
    this.handoff = new HandoffRounds(context, this.hints, this.store, this.gossip.detector);
    this.transfer = new OwnershipTransfer(context, this.gossip, this.store, this.antiEntropy);
    const { detector } = this.gossip;
    this.antiEntropyRounds = new AntiEntropyRounds(context, this.antiEntropy, this.store, detector);
    this.routes = this.messageRoutes();
    this.startBackgroundRounds();
  }

  /** The ring as this node sees it (GET /ring). */
  get ring(): MemberRing {
    return this.gossip.ring;
  }

  /** Adds a member (npx neverstop join): a new claim moves as few partitions as it can, and
   * gossip spreads it. Returns the new ring. */
  join(node: NodeId): MemberRing {
    return this.gossip.join(node);
  }

  /** Removes a member (npx neverstop leave): its partitions move to the others, and it hands
   * its data over while it keeps running. Returns the new ring. */
  leave(node: NodeId): MemberRing {
    return this.gossip.leave(node);
  }

  /** This node's opinion of every peer (GET /members). */
  members(): PeerView[] {
    return this.gossip.members();
  }

  /** Alarms in force (GET /alarms), oldest first. */
  alarms(): Alarm[] {
    return this.health.alarms();
  }

  /** Good requests over eligible ones in the last minute (node-health.ts). */
  availability(): ReturnType<NodeHealth["availability"]> {
    return this.health.availability();
  }

  stats(): NodeStats {
    const now = this.context.env.now();
    const antiEntropy = this.antiEntropy;
    return {
      ...this.context.counters,
      fsmActive: this.puts.size + this.gets.size,
      hintsPending: this.hints.count(),
      handoffsCompleted: this.hints.handedOff,
      antiEntropyExchanges: antiEntropy.exchanges,
      antiEntropyKeysRepaired: antiEntropy.keysRepaired,
      convergenceMsLast: antiEntropy.convergenceMsLast,
      convergenceMsMax: antiEntropy.convergenceMsMax,
      peersDown: this.gossip.detector.view(now).filter((peer) => !peer.up).length,
      ringVersion: this.gossip.ring.version,
      transfersActive: this.transfer.partitionsToTransfer().length,
      availabilityLastMinute: this.health.availability().ratio,
    };
  }

  /** This node's own replica of a key (for debugging and convergence checks). */
  inspect(bucket: string, key: string): VersionedObject | null {
    return this.store.load(storageKey(bucket, key));
  }

  /** The preference list of a key: the first N distinct owners clockwise from its hash. */
  preferenceListOf(bucket: string, key: string, n: number): NodeId[] {
    return this.gossip.placement(bucket, key, n).primaries;
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
      this.context.env.log("policy-failed", { policy: error.policy, detail: error.message });
    }
  }

  private dispatch(event: NodeEvent): void {
    // No local helper closure here: this runs for every event, and a named closure costs a
    // call to the loader's function-naming helper each time.
    const env = this.context.env;
    switch (event.type) {
      case "client":
        return this.onClientRequest(event.requestId, event.request);
      case "peer": {
        if (event.from !== this.nodeId) this.gossip.detector.heard(event.from, env.now());
        const route = this.routes[event.message.type] as (from: NodeId, m: PeerMessage) => void;
        return route(event.from, event.message);
      }
      case "send-failed":
        this.gossip.detector.sendFailed(event.to, env.now());
        // Only requests wait for answers; repair, reap and the rest are best effort.
        this.gets.onSendFailed(event.to, event.message);
        this.puts.onSendFailed(event.to, event.message);
        return;
      case "timer":
        return this.onTimer(event.timer);
    }
  }

  /** Validation, admission, then the put or get coordinator. A policy that fails before the
   * request started fails it with a 500; nothing was taken yet, only the answer is owed. */
  private onClientRequest(requestId: string, clientRequest: ClientRequest): void {
    const { config, env } = this.context;
    const problem = validateClientRequest(clientRequest, config);
    const countAs = clientRequest.op;
    const { request, crdt, crdtType } = translate(clientRequest);
    if (problem !== undefined) {
      this.health.count(countAs, "bad_request");
      env.reply(requestId, { status: 400, body: { error: "bad_request", detail: problem } });
      return;
    }
    try {
      const key = storageKey(request.bucket, request.key);
      const partition = this.admission.admit(requestId, countAs, key);
      if (partition === undefined) return;
      if (request.op === "get")
        this.gets.start({ requestId, countAs, request, crdtType, partition });
      else this.puts.start({ requestId, countAs, request, crdt, partition });
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      this.health.count(countAs, "policy_failed");
      env.log("policy-failed", { policy: error.policy, detail: error.message });
      env.reply(requestId, policyFailure(error, false));
    }
  }

  private messageRoutes(): MessageRoutes {
    const { replica, puts, gets, gossip, handoff, transfer } = this;
    const rounds = this.antiEntropyRounds;
    return {
      mint: (from, message) => replica.onMint(from, message),
      "mint-ok": (from, message) => puts.onMintOk(from, message.id, message.object),
      "mint-refused": (_from, message) => puts.onMintRefused(message.id, message.detail),
      replicate: (from, message) => replica.onReplicate(from, message),
      "replicate-ok": (from, message) => puts.onReplicateOk(from, message.id),
      read: (from, message) => replica.onRead(from, message),
      "read-reply": (from, message) => gets.onReadReply(from, message.id, message.object),
      repair: (_from, message) => replica.onRepair(message),
      reap: (_from, message) => replica.onReap(message),
      ping: (from) => gossip.onPing(from),
      pong: () => {},
      ring: (from, message) => gossip.onRing(from, message.ring),
      "join-request": (from) => gossip.onJoinRequest(from),
      handoff: (from, message) => handoff.onHandoff(from, message),
      "handoff-ok": (_from, message) => handoff.onHandoffOk(message.id),
      transfer: (from, message) => transfer.onTransfer(from, message),
      "transfer-ok": (from, message) => transfer.onTransferOk(from, message.id),
      "aae-root": (from, message) => rounds.onRoot(from, message),
      "aae-segments": (from, message) => rounds.onSegments(from, message),
      "aae-keys": (from, message) => rounds.onKeys(from, message),
      "aae-want": (from, message) => rounds.onWant(from, message),
    };
  }

  /** Background work starts at a random offset, so nodes do not beat in step. */
  private startBackgroundRounds(): void {
    const { env, timing } = this.context;
    const jitter = (intervalMs: number) => Math.floor(env.random() * intervalMs) + 1;
    env.setTimer(jitter(timing.heartbeatIntervalMs), { kind: "heartbeat" });
    env.setTimer(jitter(timing.handoffIntervalMs), { kind: "handoff" });
    if (timing.antiEntropyIntervalMs > 0) {
      env.setTimer(jitter(timing.antiEntropyIntervalMs), { kind: "anti-entropy" });
    }
  }

  /** Background rounds yield to foreground load (admission.ts's busy) and set their next
   * timer; request timers go to the coordinator that owns the request. */
  private onTimer(timer: TimerPayload): void {
    const { env, timing } = this.context;
    switch (timer.kind) {
      case "heartbeat":
        this.gossip.heartbeatRound();
        this.checkAlarms();
        env.setTimer(timing.heartbeatIntervalMs, { kind: "heartbeat" });
        return;
      case "handoff":
        this.hints.expireInFlight();
        if (!this.admission.busy()) this.transfer.round();
        if (!this.admission.busy()) this.handoff.round();
        env.setTimer(timing.handoffIntervalMs, { kind: "handoff" });
        return;
      case "anti-entropy":
        if (!this.admission.busy()) this.antiEntropyRounds.round();
        env.setTimer(timing.antiEntropyIntervalMs, { kind: "anti-entropy" });
        return;
      case "mint-timeout":
        return this.puts.onMintTimeout(timer.fsmId, timer.attempt);
      case "request-timeout":
        if (!this.puts.onRequestTimeout(timer.fsmId)) this.gets.onRequestTimeout(timer.fsmId);
        return;
    }
  }

  private checkAlarms(): void {
    const now = this.context.env.now();
    const peersDown = this.gossip.detector
      .view(now)
      .filter((peer) => !peer.up)
      .map((peer) => peer.node);
    this.health.checkAlarms({
      peersDown,
      hintsPending: this.hints.count(),
      divergedMs: this.antiEntropy.divergedForMs(now),
    });
  }
}

/** The reference policies as they are (the hot path pays nothing), or a lab's over them,
 * guarded so that one that throws fails a request, never the node. */
function chosenPolicies(overrides: PolicyOverrides | undefined) {
  if (overrides === undefined || overrides === defaultPolicies) return defaultPolicies;
  return guardPolicies(withDefaults(overrides));
}
