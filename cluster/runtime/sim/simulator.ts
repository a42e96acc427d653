// The deterministic simulator (lessons 1 and 3, and every lab): the whole cluster in one
// process under a seeded discrete-event scheduler. Every node is the same cluster/core code the
// real runtime runs; only the Environment differs: virtual time, a simulated network (network.ts),
// simulated disks that lose unsynced writes on a crash, and clients whose requests travel the
// same kind of links. A run is a pure function of (config, workload, fault schedule, seed): run it
// twice and the histories and message traces are byte-identical (simulator.test.ts proves it).
//
// No Node built-ins and no wall clock: this file runs in the browser too.

import { freezeJson } from "../../core/immutable.ts";
import { DynamoNode } from "../../core/node.ts";
import type { PolicyOverrides } from "../../core/policies.ts";
import type {
  ClientRequest,
  ClientResponse,
  ClusterConfig,
  Environment,
  NodeEvent,
  NodeId,
  PeerMessage,
  TimerPayload,
} from "../../core/types.ts";
import { SimulatedDisk } from "../../storage/simulated-disk.ts";
import type { KeyValueStore, SyncPolicy } from "../../storage/store.ts";
import { defaultLinkBehaviour, LinkTable, type LinkBehaviour } from "./network.ts";
import { Random } from "./random.ts";
import { Scheduler, Task, type ScheduledEvent } from "./scheduler.ts";

/** The node a simulation hosts: DynamoNode, or a stand-in a test builds (see the
 * nondeterminism test), as long as it takes events through `handle`. */
export interface SimulatedNode {
  handle(event: NodeEvent): void;
}

export type NodeFactory = (options: {
  config: ClusterConfig;
  nodeId: NodeId;
  env: Environment;
  /** The simulation's policies (SimulationOptions.policies), for a factory that builds a
   * DynamoNode; undefined means the reference ones. */
  policies: PolicyOverrides | undefined;
}) => SimulatedNode;

export interface SimulationOptions {
  config: ClusterConfig;
  seed: number | string;
  sync?: SyncPolicy;
  link?: LinkBehaviour;
  /** Record every send, delivery and drop (the course site draws them). */
  trace?: boolean;
  nodeFactory?: NodeFactory | undefined;
  /** Functions a lab replaces (cluster/core/policies.ts); every node runs the same ones. */
  policies?: PolicyOverrides | undefined;
}

/** One line of the message trace: [timeMs, event, from, to, message type]. */
export type TraceEntry = [number, "send" | "deliver" | "drop" | "refuse", string, string, string];

/** What a simulated client hears back: a node's response, or nothing it can interpret. */
export type ClientOutcome =
  | { kind: "response"; response: ClientResponse }
  | { kind: "refused" } // the connection was refused: the request never reached a node
  | { kind: "timeout" }; // no answer in time: the request may or may not have happened

interface Host {
  id: NodeId;
  disk: SimulatedDisk;
  store: KeyValueStore | undefined;
  node: SimulatedNode | undefined;
  /** Bumped on every crash: events addressed to an older incarnation are void. */
  incarnation: number;
  up: boolean;
  paused: boolean;
  /** Events that arrived while paused, run in order on resume. */
  held: Array<() => void>;
  clockOffsetMs: number;
  /** Extra milliseconds of local time per millisecond of virtual time. */
  clockDrift: number;
  random: Random;
  /** Timers set and not yet fired or cancelled, by id, so that cancelling one (most are: see
   * scheduler.ts) takes its event out of the queue. */
  timers: Map<number, ScheduledEvent>;
}

export const clientEndpoint = "client";

/** A client request in flight: whom it went to, whether it ended, the event that times it
 * out, and who hears the outcome. */
class ClientCall {
  finished = false;
  timeout: ScheduledEvent | undefined = undefined;

  constructor(
    readonly requestId: string,
    readonly nodeId: NodeId,
    readonly done: (outcome: ClientOutcome) => void,
  ) {}
}

export interface SimulationSnapshot {
  timeMs: number;
  cutLinks: string[];
  nodes: Array<{
    id: NodeId;
    up: boolean;
    paused: boolean;
    clockMs: number;
    keyCount: number;
    unsyncedWrites: number;
    partitions?: number[];
    stats?: ReturnType<DynamoNode["stats"]>;
  }>;
}

export class Simulation {
  readonly scheduler = new Scheduler();
  readonly links: LinkTable;
  readonly config: ClusterConfig;
  readonly trace: TraceEntry[] = [];
  /** Counts of delivered, dropped and refused node-to-node messages. */
  readonly messageCounts = { sent: 0, delivered: 0, dropped: 0, refused: 0 };
  private readonly hosts = new Map<NodeId, Host>();
  private readonly random: Random;
  private readonly networkRandom: Random;
  private readonly syncPolicy: SyncPolicy;
  private readonly tracing: boolean;
  private readonly nodeFactory: NodeFactory;
  private readonly policies: PolicyOverrides | undefined;
  private timerSequence = 0;
  private requestSequence = 0;
  private readonly pendingRequests = new Map<string, ClientCall>();

  constructor(options: SimulationOptions) {
    this.config = options.config;
    this.random = new Random(options.seed);
    this.networkRandom = this.random.fork("network");
    this.links = new LinkTable(options.link ?? defaultLinkBehaviour);
    this.syncPolicy = options.sync ?? { kind: "always" };
    this.tracing = options.trace ?? false;
    this.nodeFactory = options.nodeFactory ?? ((nodeOptions) => new DynamoNode(nodeOptions));
    this.policies = options.policies;
    for (const id of options.config.nodes) this.addNode(id);
  }

  /**
   * Starts a node with a fresh disk. The constructor adds the initial members this way; a node
   * added later is not in the initial member list (lesson 8, "scaling out"): it boots with the
   * initial ring and asks a seed to let it join; gossip does the rest.
   */
  addNode(id: NodeId): void {
    if (this.hosts.has(id)) throw new RangeError(`Node ${id} already exists`);
    const host: Host = {
      id,
      disk: new SimulatedDisk({ name: id }),
      store: undefined,
      node: undefined,
      incarnation: 0,
      up: false,
      paused: false,
      held: [],
      clockOffsetMs: 0,
      clockDrift: 0,
      random: this.random.fork(`node:${id}`),
      timers: new Map(),
    };
    this.hosts.set(id, host);
    this.boot(host);
  }

  /** Virtual time in milliseconds since the start. */
  get now(): number {
    return this.scheduler.now;
  }

  nodeIds(): NodeId[] {
    return [...this.hosts.keys()];
  }

  node(id: NodeId): SimulatedNode | undefined {
    return this.host(id).node;
  }

  isUp(id: NodeId): boolean {
    return this.host(id).up;
  }

  run(forMs: number): void {
    this.scheduler.runUntil(this.scheduler.now + forMs);
  }

  runUntil(timeMs: number): void {
    this.scheduler.runUntil(timeMs);
  }

  /** Schedules an action (a client's next step, a fault) at a virtual time. */
  at(timeMs: number, action: () => void): void {
    this.scheduler.at(timeMs, action);
  }

  after(delayMs: number, action: () => void): void {
    this.scheduler.after(delayMs, action);
  }

  /**
   * A compact picture of every node at this instant, for the course site's ring and node views:
   * liveness, local clock, ring ownership, stored keys and (for DynamoNode) its counters.
   */
  snapshot(): SimulationSnapshot {
    return {
      timeMs: this.scheduler.now,
      cutLinks: this.links.cutLinks(),
      nodes: [...this.hosts.values()].map((host) => {
        const node = host.node;
        return {
          id: host.id,
          up: host.up,
          paused: host.paused,
          clockMs: this.localClock(host),
          keyCount: host.store?.stats().keyCount ?? 0,
          unsyncedWrites: host.disk.unsyncedWriteCount(),
          ...(node instanceof DynamoNode
            ? {
                partitions: node.ring.owners.flatMap((owner, index) =>
                  owner === host.id ? [index] : [],
                ),
                stats: node.stats(),
              }
            : {}),
        };
      }),
    };
  }

  // --- faults -----------------------------------------------------------------------------

  /** kill -9: the process is gone, unsynced writes with it, timers and in-flight work void. */
  crash(id: NodeId): void {
    const host = this.host(id);
    if (!host.up) return;
    host.up = false;
    host.paused = false;
    host.held = [];
    host.incarnation += 1;
    for (const timer of host.timers.values()) this.scheduler.cancel(timer);
    host.timers.clear();
    host.node = undefined;
    host.store = undefined;
    host.disk.crash();
  }

  restart(id: NodeId): void {
    const host = this.host(id);
    if (host.up) return;
    this.boot(host);
  }

  /** SIGSTOP: the node keeps its state but handles nothing until resumed. */
  pause(id: NodeId): void {
    const host = this.host(id);
    if (host.up) host.paused = true;
  }

  resume(id: NodeId): void {
    const host = this.host(id);
    if (!host.paused) return;
    host.paused = false;
    const held = host.held;
    host.held = [];
    for (const action of held) this.scheduler.after(0, action);
  }

  /** Shifts a node's clock (lww buckets feel it; quorum logic does not read clocks). */
  skewClock(id: NodeId, offsetMs: number, drift = 0): void {
    const host = this.host(id);
    host.clockOffsetMs = offsetMs;
    host.clockDrift = drift;
  }

  // --- clients ----------------------------------------------------------------------------

  /**
   * Sends a client request to `nodeId` over the `client->nodeId` link. `done` is called exactly
   * once: with the node's response, "refused" (link refused or node down), or "timeout" after
   * `clientTimeoutMs` of virtual time with no answer.
   */
  request(
    nodeId: NodeId,
    request: ClientRequest,
    clientTimeoutMs: number,
    done: (outcome: ClientOutcome) => void,
  ): void {
    const requestId = `r${(this.requestSequence += 1)}`;
    const call = new ClientCall(requestId, nodeId, done);
    const timeout = new ClientEvent(this, "timeout", call, undefined, 0, undefined);
    this.scheduler.schedule(timeout, this.scheduler.now + Math.max(0, clientTimeoutMs));
    call.timeout = timeout;
    const host = this.host(nodeId);
    const cut = this.links.cutOf(clientEndpoint, nodeId);
    if (cut === "refuse" || (cut === undefined && !host.up)) {
      this.scheduler.after(0.1, () => this.finishCall(call, { kind: "refused" }));
      return;
    }
    if (
      cut === "drop" ||
      this.networkRandom.chance(this.links.behaviour(clientEndpoint, nodeId).lossRate)
    ) {
      return;
    }
    this.pendingRequests.set(requestId, call);
    const incarnation = host.incarnation;
    const delay = this.links.sampleLatency(clientEndpoint, nodeId, this.networkRandom);
    const arrival = new ClientEvent(this, "arrival", call, host, incarnation, jsonCopy(request));
    this.scheduler.schedule(arrival, this.scheduler.now + Math.max(0, delay));
  }

  // --- internals --------------------------------------------------------------------------

  /** @internal Ends a client request, once (its ClientEvents call it). */
  finishCall(call: ClientCall, outcome: ClientOutcome): void {
    if (call.finished) return;
    call.finished = true;
    // A no-op when it is the timeout that finishes.
    if (call.timeout !== undefined) this.scheduler.cancel(call.timeout);
    this.pendingRequests.delete(call.requestId);
    call.done(outcome);
  }

  /** A node answered `call`: the answer travels back over the node->client direction of the
   * link, as text would (a copy). */
  private answerCall(call: ClientCall, response: ClientResponse): void {
    if (this.links.cutOf(call.nodeId, clientEndpoint) !== undefined) return;
    const delay = this.links.sampleLatency(call.nodeId, clientEndpoint, this.networkRandom);
    const answer = new ClientEvent(this, "answer", call, undefined, 0, jsonCopy(response));
    this.scheduler.schedule(answer, this.scheduler.now + Math.max(0, delay));
  }

  private host(id: NodeId): Host {
    const host = this.hosts.get(id);
    if (host === undefined)
      throw new RangeError(`Unknown node ${id}; nodes are ${this.nodeIds().join(", ")}`);
    return host;
  }

  private boot(host: Host): void {
    host.up = true;
    host.paused = false;
    host.store = host.disk.open({ syncPolicy: this.syncPolicy, now: () => this.localClock(host) });
    const env = this.environment(host, host.incarnation, host.store);
    host.node = this.nodeFactory({
      config: this.config,
      nodeId: host.id,
      env,
      policies: this.policies,
    });
  }

  private localClock(host: Host): number {
    return this.scheduler.now * (1 + host.clockDrift) + host.clockOffsetMs;
  }

  /** Runs an event on a node if it is the same incarnation and up; holds it while paused. */
  /** @internal Hands `event` to the node, unless it crashed since (or holds it while paused). */
  deliverToNode(host: Host, incarnation: number, event: NodeEvent): void {
    if (host.incarnation !== incarnation || !host.up) return;
    if (host.paused) {
      host.held.push(() => this.deliverToNode(host, incarnation, event));
      return;
    }
    host.node!.handle(event);
  }

  private environment(host: Host, incarnation: number, store: KeyValueStore): Environment {
    return {
      now: () => this.localClock(host),
      random: () => host.random.next(),
      send: (to, message) => this.transmit(host, to, message),
      setTimer: (afterMs, timer: TimerPayload) => {
        const id = (this.timerSequence += 1);
        const event = new TimerFiring(this, host, incarnation, id, timer);
        this.scheduler.schedule(event, this.scheduler.now + Math.max(0, afterMs));
        host.timers.set(id, event);
        return id;
      },
      cancelTimer: (id) => {
        const event = host.timers.get(id);
        if (event === undefined) return;
        this.scheduler.cancel(event);
        host.timers.delete(id);
      },
      reply: (requestId, response) => {
        const call = this.pendingRequests.get(requestId);
        if (call === undefined) return;
        this.pendingRequests.delete(requestId);
        this.answerCall(call, response);
      },
      store,
      log: () => {},
    };
  }

  private transmit(fromHost: Host, to: NodeId, message: PeerMessage): void {
    const from = fromHost.id;
    const target = this.host(to);
    const cut = this.links.cutOf(from, to);
    this.messageCounts.sent += 1;
    if (this.tracing) this.trace.push([this.scheduler.now, "send", from, to, message.type]);
    const senderIncarnation = fromHost.incarnation;
    if (cut === "refuse" || (cut === undefined && !target.up)) {
      // Like a refused TCP connection: the sender hears about it almost at once.
      this.messageCounts.refused += 1;
      if (this.tracing) this.trace.push([this.scheduler.now, "refuse", from, to, message.type]);
      this.scheduler.after(0.1, () =>
        this.deliverToNode(fromHost, senderIncarnation, { type: "send-failed", to, message }),
      );
      return;
    }
    const behaviour = this.links.behaviour(from, to);
    if (cut === "drop" || this.networkRandom.chance(behaviour.lossRate)) {
      this.messageCounts.dropped += 1;
      if (this.tracing) this.trace.push([this.scheduler.now, "drop", from, to, message.type]);
      return;
    }
    const copies = this.networkRandom.chance(behaviour.duplicateRate) ? 2 : 1;
    // Over TCP the receiver gets a copy; here it gets the same object, frozen, which is as good
    // and far cheaper than a JSON round trip per message: neither side can change it, and
    // freezeJson refuses anything a JSON copy would have changed (undefined, a Map, NaN).
    freezeJson(message);
    for (let copy = 0; copy < copies; copy += 1) {
      const delay = this.links.sampleLatency(from, to, this.networkRandom);
      const arrival = new Arrival(this, from, target, target.incarnation, message);
      this.scheduler.schedule(arrival, this.scheduler.now + Math.max(0, delay));
    }
  }

  /** @internal A timer's time came (see TimerFiring). */
  fire(firing: TimerFiring): void {
    const { host, id } = firing;
    if (!host.timers.delete(id)) return; // the node crashed (its timers were cleared)
    this.deliverToNode(host, firing.incarnation, { type: "timer", timer: firing.timer });
  }

  /** @internal A message's arrival (see Arrival): delivered, or lost to a link cut or a crash
   * while it was in flight. */
  arrive(arrival: Arrival): void {
    const { from, target, incarnation, message } = arrival;
    const to = target.id;
    // A link cut while the message was in flight loses it, as a reset connection would.
    if (this.links.cutOf(from, to) !== undefined || target.incarnation !== incarnation) {
      this.messageCounts.dropped += 1;
      if (this.tracing) this.trace.push([this.scheduler.now, "drop", from, to, message.type]);
      return;
    }
    this.messageCounts.delivered += 1;
    if (this.tracing) this.trace.push([this.scheduler.now, "deliver", from, to, message.type]);
    this.deliverToNode(target, incarnation, { type: "peer", from, message });
  }
}

/** A peer message in flight: one object that is its own event (scheduler.ts's Task), not a
 * closure per message (the simulator's busiest path). */
class Arrival extends Task {
  constructor(
    private readonly simulation: Simulation,
    readonly from: NodeId,
    readonly target: Host,
    /** The target's incarnation when the message left: a crash since voids it. */
    readonly incarnation: number,
    readonly message: PeerMessage,
  ) {
    super();
  }

  run(): void {
    this.simulation.arrive(this);
  }
}

/**
 * A client call's events, each one object like Arrival: the request reaching its node, the
 * answer reaching the client (a copy, as text would be), and the client's time bound, which ends
 * the call with "timeout" unless an answer came first. (A call made three closures and their
 * events before, and allocation was the simulator's largest single cost.) One class for the
 * three, not three classes: the scheduler calls `run` on every event, and V8 keeps that call
 * fast only while it meets at most four classes (Action, Arrival, TimerFiring and this one).
 */
class ClientEvent extends Task {
  constructor(
    private readonly simulation: Simulation,
    readonly kind: "arrival" | "answer" | "timeout",
    readonly call: ClientCall,
    /** An arrival's node, and its incarnation when the request left. */
    readonly host: Host | undefined,
    readonly incarnation: number,
    /** An arrival's request or an answer's response. */
    readonly payload: ClientRequest | ClientResponse | undefined,
  ) {
    super();
  }

  run(): void {
    const { simulation, call } = this;
    if (this.kind === "arrival") {
      const request = this.payload as ClientRequest;
      const event: NodeEvent = { type: "client", requestId: call.requestId, request };
      simulation.deliverToNode(this.host!, this.incarnation, event);
    } else if (this.kind === "answer") {
      const response = this.payload as ClientResponse;
      simulation.finishCall(call, { kind: "response", response });
    } else {
      simulation.finishCall(call, { kind: "timeout" });
    }
  }
}

/** A node's timer, as one object that is its own event (scheduler.ts's Task): every request
 * sets one or two, so no closure per timer. */
class TimerFiring extends Task {
  constructor(
    private readonly simulation: Simulation,
    readonly host: Host,
    readonly incarnation: number,
    readonly id: number,
    readonly timer: TimerPayload,
  ) {
    super();
  }

  run(): void {
    this.simulation.fire(this);
  }
}

/** Marks a value jsonCopy leaves to a real JSON round trip. */
const notPlain = Symbol("not plain JSON");
/** Deeper than this, jsonCopy leaves the value to JSON (which reports a cycle as it should). */
const copyDepthMax = 64;

/**
 * What a JSON round trip gives (a client's request and its answer cross a simulated wire as
 * text would), built directly: a property holding undefined is left out, an array slot holding
 * it becomes null, a non-finite number becomes null and -0 becomes 0, as JSON.stringify does.
 * It is several times cheaper than stringify then parse, which were a tenth of the simulator's
 * time; anything that is not plain data (a class instance, a Date, a bigint, a "__proto__"
 * key, a cycle) goes through the real round trip, so the result is always JSON's.
 */
export function jsonCopy<T>(value: T): T {
  const copied = plainCopy(value, 0);
  return (copied === notPlain ? JSON.parse(JSON.stringify(value)) : copied) as T;
}

function plainCopy(value: unknown, depth: number): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value + 0 : null;
  if (typeof value !== "object" || depth >= copyDepthMax) return notPlain;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      const copied = item === undefined ? null : plainCopy(item, depth + 1);
      if (copied === notPlain) return notPlain;
      copy.push(copied);
    }
    return copy;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return notPlain;
  const copy: Record<string, unknown> = {};
  // for-in, not Object.keys: no array per object, and a plain object inherits no keys.
  for (const key in value) {
    if (key === "__proto__") return notPlain;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    const copied = plainCopy(item, depth + 1);
    if (copied === notPlain) return notPlain;
    copy[key] = copied;
  }
  return copy;
}
