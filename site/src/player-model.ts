// The simulation player's model (lesson 3, network splits; lesson 5, systems that never stop):
// a scenario, a seed and the learner's interventions make one deterministic run, advanced in
// frames of virtual time. Nothing here touches the DOM, so Node tests and the page share it.
//
// A seek replays from the seed: `PlayerRun.at(options, t)` builds a fresh run and advances it
// frame by frame to t, exactly as playing does, so seeking to 12.3 s and playing to 12.3 s
// give the same state (site/src/player-model.test.ts and the browser test check it).
// Interventions are faults at fixed times (chaos/harness/fault-schedule.ts): a learner who
// crashes n3 at 12.3 s adds "12.3s..30s crash n3" to the run's options and the player replays
// to now, so the page, `npx neverstop test ... --schedule` and a seek all run the same thing.

import type { Alarm, DynamoNode } from "../../cluster/core/node.ts";
import type { TraceEntry } from "../../cluster/runtime/sim/simulator.ts";
import type { Fault, ScheduledFault } from "../../chaos/harness/faults.ts";
import type { Operation } from "../../chaos/harness/history.ts";
import {
  finalPhaseMaxMs,
  gridMs,
  quietMs,
  SimulatedRun,
  type RunResult,
} from "../../chaos/harness/run-core.ts";
import { resolveRunOptions, type RunOptions } from "../../chaos/harness/run-options.ts";

/** Playback moves in frames of this much virtual time; seeks land on frame boundaries. */
export const frameMs = 100;

export const scenarioNames = ["partition", "crash", "skew", "calm", "long"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** Each scenario's options: a set workload on 5 nodes, small enough to play in a page. */
export function scenarioOptions(
  scenario: ScenarioName,
  seed: number,
  schedule: ScheduledFault[] = [],
): RunOptions {
  const faults: Record<ScenarioName, RunOptions["nemesis"]> = {
    // One partition from 10 s to 20 s: the "play a partition live" run.
    partition: { faults: ["partition"], intervalMs: 20_000, durationMs: 10_000 },
    crash: { faults: ["crash"], intervalMs: 10_000, durationMs: 5_000 },
    skew: { faults: ["skew"], intervalMs: 15_000, durationMs: 10_000 },
    calm: { faults: [], intervalMs: 10_000, durationMs: 5_000 },
    long: { faults: ["partition", "crash"], intervalMs: 15_000, durationMs: 7_000 },
  };
  return resolveRunOptions({
    workload: "set",
    name: `player-${scenario}`,
    seed,
    timeMs: scenario === "long" ? 60_000 : 30_000,
    cluster: { nodes: 5 },
    client: { concurrency: 5, ratePerSecond: 5 },
    nemesis: { ...faults[scenario], schedule },
    trace: true,
  });
}

export interface NodeView {
  id: string;
  up: boolean;
  paused: boolean;
  /** How far this node's clock is from the simulation's, in ms (skew). */
  clockOffsetMs: number;
  keyCount: number;
  hintsPending: number;
  peersDown: number;
  alarms: Alarm[];
}

export interface LinkTraffic {
  from: string;
  to: string;
  delivered: number;
  dropped: number;
  refused: number;
  /** Sent and not yet delivered, dropped or refused at this instant. */
  inFlight: number;
  types: string[];
}

export interface Frame {
  timeMs: number;
  nodes: NodeView[];
  cutLinks: string[];
  /** Node-to-node traffic during the last frame, and what is in flight now. */
  traffic: LinkTraffic[];
  operationCount: number;
  activeFault: string | undefined;
  finished: boolean;
}

/** One deterministic run of a scenario, stepped in frames. */
export class PlayerRun {
  readonly run: SimulatedRun;
  private finishedFlag = false;
  private traceRead = 0;
  private readonly pending = new Map<string, number[]>();
  private lastTraffic = new Map<string, LinkTraffic>();
  private readonly endMs: number;

  constructor(readonly options: RunOptions) {
    this.run = new SimulatedRun(options);
    this.endMs = options.timeMs + quietMs + finalPhaseMaxMs;
  }

  /** A run of `options` advanced to `timeMs` (a seek: the replay from the seed). */
  static at(options: RunOptions, timeMs: number): PlayerRun {
    const player = new PlayerRun(options);
    player.advanceTo(timeMs);
    return player;
  }

  get now(): number {
    return this.run.simulation.now;
  }

  get finished(): boolean {
    return this.finishedFlag;
  }

  get history(): readonly Operation[] {
    return this.run.driver.recorder.operations;
  }

  /** Runs whole frames until `timeMs` or the end; returns false once the run is over. */
  advanceTo(timeMs: number): boolean {
    while (!this.finishedFlag && this.now + frameMs / 2 < timeMs) this.step();
    return !this.finishedFlag;
  }

  /**
   * One frame. The end is looked for on the same grid as SimulatedRun.advance, so a played run
   * ends where the CLI's does, with the same history and message counts.
   */
  step(): void {
    if (this.finishedFlag) return;
    const simulation = this.run.simulation;
    const targetMs = Math.min(this.endMs, (Math.floor(this.now / frameMs) + 1) * frameMs);
    simulation.runUntil(targetMs);
    if (simulation.now % gridMs === 0 || simulation.now >= this.endMs) {
      if (this.run.driver.finalOperationsDone || simulation.now >= this.endMs)
        this.finishedFlag = true;
    }
    this.readTrace(simulation.trace);
  }

  private readTrace(trace: readonly TraceEntry[]): void {
    const traffic = new Map<string, LinkTraffic>();
    const linkOf = (from: string, to: string): LinkTraffic => {
      const key = `${from}->${to}`;
      let link = traffic.get(key);
      if (link === undefined) {
        link = { from, to, delivered: 0, dropped: 0, refused: 0, inFlight: 0, types: [] };
        traffic.set(key, link);
      }
      return link;
    };
    for (; this.traceRead < trace.length; this.traceRead += 1) {
      const [timeMs, event, from, to, type] = trace[this.traceRead]!;
      const key = `${from}->${to}`;
      const queue = this.pending.get(key) ?? [];
      if (event === "send") {
        queue.push(timeMs);
        this.pending.set(key, queue);
        const link = linkOf(from, to);
        if (link.types.length < 4 && !link.types.includes(type)) link.types.push(type);
        continue;
      }
      queue.shift();
      const link = linkOf(from, to);
      if (event === "deliver") link.delivered += 1;
      else if (event === "drop") link.dropped += 1;
      else link.refused += 1;
    }
    for (const [key, queue] of this.pending) {
      if (queue.length === 0) continue;
      const [from, to] = key.split("->") as [string, string];
      linkOf(from, to).inFlight = queue.length;
    }
    this.lastTraffic = traffic;
  }

  frame(): Frame {
    const simulation = this.run.simulation;
    const snapshot = simulation.snapshot();
    const nodes = snapshot.nodes.map((node): NodeView => {
      const live = simulation.node(node.id) as DynamoNode | undefined;
      return {
        id: node.id,
        up: node.up,
        paused: node.paused,
        clockOffsetMs: Math.round(node.clockMs - snapshot.timeMs),
        keyCount: node.keyCount,
        hintsPending: node.stats?.hintsPending ?? 0,
        peersDown: node.stats?.peersDown ?? 0,
        alarms:
          node.up && live !== undefined && typeof live.alarms === "function" ? live.alarms() : [],
      };
    });
    const fault = this.run.driver.activeFault;
    return {
      timeMs: snapshot.timeMs,
      nodes,
      cutLinks: snapshot.cutLinks,
      traffic: [...this.lastTraffic.values()],
      operationCount: this.history.length,
      activeFault: fault === undefined ? undefined : describe(fault),
      finished: this.finishedFlag,
    };
  }

  result(wallMs = 0): RunResult {
    return this.run.result(wallMs);
  }

  /** The end of the run's client phase: interventions must start before it. */
  get clientEndMs(): number {
    return this.options.timeMs;
  }
}

function describe(fault: Fault): string {
  switch (fault.name) {
    case "partition":
      return `partition: ${fault.description}`;
    case "skew":
      return `skew ${fault.node} ${fault.offsetMs >= 0 ? "+" : ""}${fault.offsetMs} ms`;
    case "flaky":
      return `flaky ${fault.links.join(",")} (${Math.round(fault.lossRate * 100)}% lost)`;
    case "slow":
      return `slow ${fault.links.join(",")} (+${fault.latencyMs} ms)`;
    case "join":
    case "leave":
      return `${fault.name} ${fault.node} via ${fault.via}`;
    case "none":
      return "none";
    default:
      return `${fault.name} ${fault.node}`;
  }
}

/**
 * Adds an intervention at `nowMs`: it lasts to the end of the client phase until the learner
 * ends it (`endIntervention`). Returns the new schedule; the old one is not changed.
 */
export function addIntervention(
  schedule: readonly ScheduledFault[],
  fault: Fault,
  nowMs: number,
  clientEndMs: number,
): ScheduledFault[] {
  if (nowMs >= clientEndMs) {
    throw new RangeError(
      `Faults can be injected until ${clientEndMs / 1000} s, while clients run; this run is at ${(nowMs / 1000).toFixed(1)} s`,
    );
  }
  return [...schedule, { startMs: nowMs, stopMs: clientEndMs, fault }];
}

/** Ends, at `nowMs`, every open intervention that `matches` (restart n3 ends crash n3). */
export function endIntervention(
  schedule: readonly ScheduledFault[],
  matches: (fault: Fault) => boolean,
  nowMs: number,
): ScheduledFault[] {
  return schedule.map((entry) =>
    entry.startMs < nowMs && entry.stopMs > nowMs && matches(entry.fault)
      ? { ...entry, stopMs: nowMs }
      : entry,
  );
}
