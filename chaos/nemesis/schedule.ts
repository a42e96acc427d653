// Fault schedules (lesson 3, "network splits"; lesson 5, "systems that never stop"): a seeded
// generator that composes faults over time, "every 10 s a random fault for 5 s", drawn entirely
// from the seed before the run starts (which fault, on which node or links, which partition
// shape, when). A real run cannot replay its timing, but it can replay its schedule: the same
// seed gives the same faults at the same offsets, on processes, containers or the simulator.
//
//   0 ......... 5 s ......... 10 s ........ 15 s ........ 20 s
//   calm        | fault 1     | calm        | fault 2     |
//
// No Node built-ins: runs in the browser too.

import type { NodeId } from "../../cluster/core/types.ts";
import { Random } from "../../cluster/runtime/sim/random.ts";
import { randomShape } from "./partitions.ts";
import {
  describeNemesisFault,
  partitionFault,
  skewMsMax,
  type Nemesis,
  type NemesisFault,
  type NemesisFaultName,
} from "./nemesis.ts";

export interface ScheduleOptions {
  seed: number | string;
  /** Which faults to draw from (each interval draws one, uniformly). */
  faults: readonly NemesisFaultName[];
  nodes: readonly NodeId[];
  /** One fault starts in every interval... */
  intervalMs: number;
  /** ...and lasts this long, ending with its interval. */
  durationMs: number;
  /** Faults end by this time. */
  timeMs: number;
}

export interface ScheduledFault {
  startMs: number;
  stopMs: number;
  fault: NemesisFault;
}

export const scheduledFaultCountMax = 10_000;
const skewDrawMaxMs = 60_000;

/** The schedule for a seed: pure, so it can be printed before the run and compared after. */
export function planSchedule(options: ScheduleOptions): ScheduledFault[] {
  const { intervalMs, durationMs, timeMs } = options;
  if (!(Number.isInteger(intervalMs) && intervalMs > 0)) {
    throw new RangeError(`Expected \`intervalMs\` to be a positive integer, got ${intervalMs}`);
  }
  if (!(Number.isInteger(durationMs) && durationMs > 0 && durationMs <= intervalMs)) {
    throw new RangeError(
      `Expected \`durationMs\` to be an integer from 1 to \`intervalMs\` (${intervalMs}), got ${durationMs}`,
    );
  }
  if (options.nodes.length < 1) throw new RangeError("Expected at least one node");
  const random = new Random(`nemesis-schedule:${options.seed}`);
  const schedule: ScheduledFault[] = [];
  if (options.faults.length === 0) return schedule;
  for (let start = 0; start + intervalMs <= timeMs; start += intervalMs) {
    if (schedule.length >= scheduledFaultCountMax) break;
    const stopMs = start + intervalMs;
    const fault = drawFault(random.pick(options.faults), options.nodes, random);
    schedule.push({ startMs: stopMs - durationMs, stopMs, fault });
  }
  return schedule;
}

/** One fault of a kind, every choice drawn from `random`. */
export function drawFault(
  name: NemesisFaultName,
  nodes: readonly NodeId[],
  random: Random,
): NemesisFault {
  const pickLink = () => {
    const from = random.pick(nodes);
    const others = nodes.filter((node) => node !== from);
    return others.length === 0 ? `client->${from}` : `${from}->${random.pick(others)}`;
  };
  switch (name) {
    case "partition": {
      if (nodes.length < 2) return { name: "kill", node: random.pick(nodes) };
      // Shuffled first, so that "halves" and "bridge" do not always split n1.. from ..n5.
      const shuffled = [...nodes];
      for (let index = shuffled.length - 1; index > 0; index -= 1) {
        const other = random.integer(index + 1);
        [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
      }
      const shape = randomShape(shuffled, (bound) => random.integer(bound));
      return partitionFault(shuffled, shape, random.chance(0.5) ? "drop" : "refuse");
    }
    case "latency": {
      const latencyMs = 50 + random.integer(451);
      return { name, links: [pickLink()], latencyMs, jitterMs: Math.round(latencyMs / 10) };
    }
    case "bandwidth":
      return { name, links: [pickLink()], rateKbPerSecond: 10 + random.integer(91) };
    case "flaky":
      return {
        name,
        links: [pickLink()],
        mode: random.chance(0.5) ? "reset_peer" : "timeout",
        toxicity: Math.round((0.1 + random.next() * 0.4) * 100) / 100,
        timeoutMs: 0,
      };
    case "kill":
    case "pause":
      return { name, node: random.pick(nodes) };
    case "skew": {
      const offsetMs = Math.round((random.next() * 2 - 1) * Math.min(skewDrawMaxMs, skewMsMax));
      return { name, node: random.pick(nodes), offsetMs };
    }
  }
}

/** How a schedule waits on real time (tests give a fake one). */
export interface ScheduleClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: ScheduleClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Runs a schedule on a nemesis in real time: each fault starts and stops at its offsets from
 * now (later, never earlier, when a restart takes its time). A fault that fails to apply is
 * reported and the schedule goes on; the history holds its info with the error. `signal`
 * stops the schedule early; either way every fault started is stopped before this resolves.
 */
export async function runSchedule(
  nemesis: Nemesis,
  schedule: readonly ScheduledFault[],
  options: { clock?: ScheduleClock; signal?: AbortSignal; onError?: (line: string) => void } = {},
): Promise<void> {
  const clock = options.clock ?? realClock;
  const startedMs = clock.now();
  const waitUntil = async (offsetMs: number) => {
    const remaining = startedMs + offsetMs - clock.now();
    if (remaining > 0) await clock.sleep(remaining);
  };
  const report = (what: string, fault: NemesisFault, error: unknown) =>
    options.onError?.(
      `${what} ${describeNemesisFault(fault)} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  const aborted = () => options.signal?.aborted === true;
  for (const { startMs, stopMs, fault } of schedule) {
    if (aborted()) break;
    await waitUntil(startMs);
    if (aborted()) break;
    let started = true;
    await nemesis.start(fault).catch((error: unknown) => {
      started = false;
      report("start", fault, error);
    });
    await waitUntil(stopMs);
    // A fault that failed half way may still hold some links: stop it all the same.
    await nemesis.stop(fault).catch((error: unknown) => started && report("stop", fault, error));
  }
}
