// Faults and their schedule (lesson 3, network splits; lesson 5, systems that never stop). A
// test's nemesis is a list of fault names; the schedule is drawn from the seed before the run
// starts (which fault, which node, which partition shape, when), so it is part of what the seed
// replays, and results.json shows it. Each fault runs through a `FaultBackend`: here the
// simulator's; the local and docker backends (Toxiproxy proxies, process signals) implement the
// same two calls.
//
//   partition  a random shape from chaos/nemesis/partitions.ts (halves, majority/minority,
//              isolate, bridge, ring), links blackholed ("drop") or refused ("refuse")
//   crash      kill -9 one node (unsynced writes are lost), restart it when the fault ends
//   pause      SIGSTOP one node, SIGCONT when the fault ends
//   skew       move one node's clock by up to a minute either way (lww buckets feel it)
//   flaky      every link between nodes loses a share of its messages (lesson 7: a request's
//              answer may be lost after it was applied, so a timeout is not a failure)
//   slow       every link between nodes delays its messages by about 100 ms (lesson 9: requests
//              stay in flight longer, and a node's budget of work in flight fills up)
//   join       a spare node (n6 after five) joins the ring; it leaves again when the fault ends
//   leave      a member leaves the ring (it keeps running and hands its data over); it joins
//              again when the fault ends (lesson 8: ownership moves under load)
//   none       nothing: a control run with the same schedule
//
// No Node built-ins: this file runs in the browser too.

import type { NodeId } from "../../cluster/core/types.ts";
import type { Random } from "../../cluster/runtime/sim/random.ts";
import type { Simulation } from "../../cluster/runtime/sim/simulator.ts";
import { defaultLinkBehaviour, type LinkBehaviour } from "../../cluster/runtime/sim/network.ts";
import { SimulationMembership, spareNodeOf } from "../nemesis/membership.ts";
import { partition, randomShape } from "../nemesis/partitions.ts";

export const faultNames = [
  "partition",
  "crash",
  "pause",
  "skew",
  "flaky",
  "slow",
  "join",
  "leave",
  "none",
] as const;
export type FaultName = (typeof faultNames)[number];

/** A fault with everything drawn: the value the history records for it. */
export type Fault =
  | { name: "partition"; description: string; how: "drop" | "refuse"; cut: string[] }
  | { name: "crash"; node: NodeId }
  | { name: "pause"; node: NodeId }
  | { name: "skew"; node: NodeId; offsetMs: number }
  | { name: "flaky"; links: string[]; lossRate: number }
  | { name: "slow"; links: string[]; latencyMs: number; jitterMs: number }
  | { name: "join"; node: NodeId; via: NodeId }
  | { name: "leave"; node: NodeId; via: NodeId }
  | { name: "none" };

export interface ScheduledFault {
  startMs: number;
  stopMs: number;
  fault: Fault;
}

/** Starts and stops faults on one kind of cluster. Local backends may take time (a restart
 * waits for the node's health), so both calls may return a promise. */
export interface FaultBackend {
  start(fault: Fault): void | Promise<void>;
  stop(fault: Fault): void | Promise<void>;
}

export interface NemesisOptions {
  faults: FaultName[];
  /** One fault starts every `intervalMs`... */
  intervalMs: number;
  /** ...and lasts `durationMs` (less than the interval). */
  durationMs: number;
  /** Faults at fixed times, added to the drawn ones (see fault-schedule.ts: `--schedule`). */
  schedule?: ScheduledFault[];
}

export const faultCountMax = 10_000;
const skewMaxMs = 60_000;
/** The share of messages a flaky link loses: enough that a write's acknowledgements are often
 * lost after the write was applied, not so much that nothing gets through. */
export const flakyLossRate = 0.3;
/** How much a slow link delays each message, give or take the jitter. */
export const slowLatencyMs = 100;
export const slowJitterMs = 20;

/**
 * The schedule for a run of `timeMs`: in each interval [k * interval, (k + 1) * interval) the
 * first part is calm and the last `durationMs` carry one fault drawn from `faults`, so every
 * fault has stopped by the end of its interval, and the last one by `timeMs`, before the
 * final reads. Example: 30 s, interval 10 s, duration 5 s -> faults over 5-10 s, 15-20 s, 25-30 s.
 */
export function planFaults(
  options: NemesisOptions,
  timeMs: number,
  nodes: readonly NodeId[],
  random: Random,
): ScheduledFault[] {
  const schedule: ScheduledFault[] = [];
  const explicit = options.schedule ?? [];
  if (options.faults.length === 0) return [...explicit].sort((a, b) => a.startMs - b.startMs);
  for (
    let startOfInterval = 0;
    startOfInterval + options.intervalMs <= timeMs;
    startOfInterval += options.intervalMs
  ) {
    if (schedule.length >= faultCountMax) break;
    const stopMs = startOfInterval + options.intervalMs;
    const fault = drawFault(random.pick(options.faults), nodes, random);
    schedule.push({ startMs: stopMs - options.durationMs, stopMs, fault });
  }
  // A stable sort: the drawn faults keep their order, and each explicit one follows any drawn
  // fault that starts at the same moment.
  return [...schedule, ...explicit].sort((a, b) => a.startMs - b.startMs);
}

export function drawFault(name: FaultName, nodes: readonly NodeId[], random: Random): Fault {
  switch (name) {
    case "partition": {
      // Shuffle first so "halves" and "bridge" do not always split n1.. from ..n5.
      const shuffled = [...nodes];
      for (let index = shuffled.length - 1; index > 0; index -= 1) {
        const other = random.integer(index + 1);
        [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
      }
      const shape = randomShape(shuffled, (bound) => random.integer(bound));
      const { description, cut } = partition(shuffled, shape);
      const how = random.chance(0.5) ? "drop" : "refuse";
      return { name, description, how, cut: cut.map((link) => `${link.from}->${link.to}`).sort() };
    }
    case "crash":
    case "pause":
      return { name, node: random.pick(nodes) };
    case "skew": {
      const offsetMs = Math.round((random.next() * 2 - 1) * skewMaxMs);
      return { name, node: random.pick(nodes), offsetMs };
    }
    case "flaky":
      return { name, links: nodeLinks(nodes), lossRate: flakyLossRate };
    case "slow":
      return { name, links: nodeLinks(nodes), latencyMs: slowLatencyMs, jitterMs: slowJitterMs };
    case "join":
      // A joiner asks the first member to let it in, on every backend.
      return { name, node: spareNodeOf(nodes), via: nodes[0]! };
    case "leave": {
      const node = random.pick(nodes);
      const others = nodes.filter((other) => other !== node);
      return { name, node, via: others.length === 0 ? node : random.pick(others) };
    }
    case "none":
      return { name };
  }
}

/** Every directed link between two nodes, `n1->n2` and so on. */
function nodeLinks(nodes: readonly NodeId[]): string[] {
  const links: string[] = [];
  for (const from of nodes) for (const to of nodes) if (from !== to) links.push(`${from}->${to}`);
  return links;
}

/** The value a history records for a fault: everything but its name (that is in `f`). */
export function faultValue(fault: Fault): Record<string, unknown> {
  const { name: _name, ...rest } = fault;
  return rest;
}

/** Faults on the deterministic simulator: its link table, crash/restart, pause, clock skew. */
export class SimulationFaultBackend implements FaultBackend {
  private readonly membership: SimulationMembership;
  /** Each flaky or slow link's behaviour before the fault, restored when it stops. */
  private readonly beforeFlaky = new Map<string, LinkBehaviour>();

  constructor(private readonly simulation: Simulation) {
    this.membership = new SimulationMembership(simulation);
  }

  start(fault: Fault): void {
    const simulation = this.simulation;
    switch (fault.name) {
      case "partition":
        for (const link of fault.cut) {
          const [from, to] = link.split("->") as [string, string];
          simulation.links.cut(from, to, fault.how);
        }
        return;
      case "crash":
        return simulation.crash(fault.node);
      case "pause":
        return simulation.pause(fault.node);
      case "skew":
        return simulation.skewClock(fault.node, fault.offsetMs);
      case "flaky":
      case "slow":
        for (const link of fault.links) {
          const [from, to] = link.split("->") as [string, string];
          this.beforeFlaky.set(link, simulation.links.behaviour(from, to));
          simulation.links.setBehaviour(
            from,
            to,
            fault.name === "flaky"
              ? { lossRate: fault.lossRate }
              : {
                  latency: {
                    kind: "uniform",
                    minMs: fault.latencyMs - fault.jitterMs,
                    maxMs: fault.latencyMs + fault.jitterMs,
                  },
                },
          );
        }
        return;
      case "join":
        return this.membership.join(fault.node, fault.via);
      case "leave":
        return this.membership.leave(fault.node, fault.via);
      case "none":
        return;
    }
  }

  stop(fault: Fault): void {
    const simulation = this.simulation;
    switch (fault.name) {
      case "partition":
        // Faults never overlap in a schedule, so healing every link heals exactly this one.
        return simulation.links.heal();
      case "crash":
        return simulation.restart(fault.node);
      case "pause":
        return simulation.resume(fault.node);
      case "skew":
        return simulation.skewClock(fault.node, 0);
      case "flaky":
      case "slow":
        for (const link of fault.links) {
          const [from, to] = link.split("->") as [string, string];
          simulation.links.setBehaviour(
            from,
            to,
            this.beforeFlaky.get(link) ?? defaultLinkBehaviour,
          );
          this.beforeFlaky.delete(link);
        }
        return;
      case "join":
        return this.membership.leave(fault.node, fault.via);
      case "leave":
        return this.membership.join(fault.node, fault.via);
      case "none":
        return;
    }
  }
}
