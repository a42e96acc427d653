// Benchmark of the deterministic simulator (`npm run bench:sim`): a 5-node cluster under a
// steady workload of 10 clients for 60 s of simulated time. Prints one JSON object: delivered
// messages per wall second, simulated time / wall time, and the wall time of the 60 s run.
// Targets (issues 3 and 13): >= 200,000 delivered messages/s; the 60 s run in under 2 s of wall
// time. Each figure is printed per wall second and per CPU second, with the load average.
//
// The puts are blind (no context) and concurrent, so every key collects siblings as Dynamo
// says it must (lesson 6), and each replica write handles them all: `siblingsPerKey` reports
// how many there were at the end, because that, more than the simulator, sets the cost of a
// message here. `contextRun` is the same load done as a well-behaved client does it (issue 13):
// read, then write with the context of that read, so a write supersedes what it saw and keys
// keep about one sibling; its messages/s is the simulator's cost per message without the
// siblings' cost on top.
//
// `npm run bench:sim` runs this file compiled (scripts/run-compiled.js), as `neverstop sim` and
// the course site run the simulator; `program` in the JSON says which. Run through tsx
// (`node bin/run-ts.js cluster/runtime/sim/bench-sim.ts`) it also measures tsx's helpers.

import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { summarizeProfiles, type CpuProfile } from "../real/cpu-profile.ts";
import { DynamoNode } from "../../core/node.ts";
import { Random } from "./random.ts";
import { Simulation } from "./simulator.ts";
import { clusterConfig, sequentialClient } from "./testing.ts";

/** The benchmark's cluster: 5 nodes, N=3 R=2 W=2, sync every 100 ms. */
function benchSimulation(seed: number) {
  const config = clusterConfig(5);
  return {
    config,
    sim: new Simulation({ config, seed, sync: { kind: "interval", intervalMs: 100 } }),
  };
}

/** Runs the simulation its clients were added to, timing wall and CPU time. */
function timed(sim: Simulation, simulatedMs: number, operations: () => number) {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  sim.run(simulatedMs + 5_000);
  const wallMs = performance.now() - started;
  const cpuMs = cpuMsSince(cpuStarted);
  return {
    wallMs,
    cpuMs,
    operations: operations(),
    delivered: sim.messageCounts.delivered,
    events: sim.scheduler.executed,
    siblingsPerKey: siblingsPerKey(sim.node("n1")),
  };
}

function run(seed: number, simulatedMs: number, clients: number, thinkMs: number) {
  const { config, sim } = benchSimulation(seed);
  const random = new Random(`bench:${seed}`);
  let operations = 0;
  for (let client = 0; client < clients; client += 1) {
    sequentialClient(sim, {
      startMs: client,
      thinkMs,
      pickNode: () => random.pick(config.nodes),
      next: () => {
        if (sim.now > simulatedMs) return undefined;
        operations += 1;
        const key = `k${random.integer(1000)}`;
        return random.chance(0.5)
          ? { op: "get", bucket: "bench", key }
          : { op: "put", bucket: "bench", key, value: operations };
      },
    });
  }
  return timed(sim, simulatedMs, () => operations);
}

/** CPU time (user + system) this process used since `started`, in ms. On a shared machine a
 * run's wall time includes time spent waiting for a core; its CPU time does not. */
function cpuMsSince(started: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

/** The mean number of siblings of the keys a node holds a replica of. */
function siblingsPerKey(node: unknown): number {
  if (!(node instanceof DynamoNode)) return 0;
  let keys = 0;
  let siblings = 0;
  for (let key = 0; key < 1000; key += 1) {
    const object = node.inspect("bench", `k${key}`);
    if (object === null) continue;
    keys += 1;
    siblings += object.siblings.length;
  }
  return keys === 0 ? 0 : Math.round((10 * siblings) / keys) / 10;
}

/** Read-modify-write clients: get a key, then put it with the context that get returned. */
function contextRun(seed: number, simulatedMs: number, clients: number, thinkMs: number) {
  const { config, sim } = benchSimulation(seed);
  const random = new Random(`bench-context:${seed}`);
  let operations = 0;
  for (let client = 0; client < clients; client += 1) {
    sequentialClient(sim, {
      startMs: client,
      thinkMs,
      pickNode: () => random.pick(config.nodes),
      next: (previous) => {
        if (sim.now > simulatedMs) return undefined;
        operations += 1;
        const answered =
          previous?.outcome.kind === "response" ? previous.outcome.response : undefined;
        if (previous?.request.op === "get" && answered !== undefined) {
          const context =
            answered.status === 200 && "context" in answered.body
              ? answered.body.context
              : undefined;
          return {
            op: "put",
            bucket: "bench",
            key: previous.request.key,
            value: operations,
            context,
          };
        }
        return { op: "get", bucket: "bench", key: `k${random.integer(1000)}` };
      },
    });
  }
  return timed(sim, simulatedMs, () => operations);
}

/**
 * With BENCH_PROFILE_DIR, the throughput and context runs are profiled (V8's sampling profiler,
 * through the inspector, in this process) and the JSON gets each one's top functions by self
 * time (cpu-profile.ts); the raw .cpuprofile files are written to that folder. Profiling slows
 * the runs: read the shares, not the speed.
 */
const profileDir = process.env["BENCH_PROFILE_DIR"];

async function profiled<T>(name: string, work: () => T): Promise<{ result: T; profile?: unknown }> {
  if (profileDir === undefined) return { result: work() };
  const session = new Session();
  session.connect();
  // The in-process inspector answers each call before post() returns.
  session.post("Profiler.enable");
  session.post("Profiler.start");
  // Run from a callback of its own: under the module's top-level code, every sample would
  // count as start-up (cpu-profile.ts sets apart samples taken inside the module loader).
  const result = await new Promise<T>((resolve) => setImmediate(() => resolve(work())));
  let profile: CpuProfile | undefined;
  session.post("Profiler.stop", (error, answer) => {
    if (error === null) profile = answer.profile as CpuProfile;
  });
  session.disconnect();
  if (profile === undefined) return { result };
  mkdirSync(profileDir, { recursive: true });
  writeFileSync(join(profileDir, `sim-${name}.cpuprofile`), JSON.stringify(profile));
  return { result, profile: summarizeProfiles([profile], 15) };
}

const loadAverageAtStart = os.loadavg()[0];
run(0, 2_000, 10, 5); // warm up the JIT
contextRun(0, 2_000, 10, 5);
const steady = run(1, 60_000, 10, 20);
const { result: busy, profile: busyProfile } = await profiled("throughput", () =>
  run(2, 20_000, 10, 1),
);
const { result: withContexts, profile: contextProfile } = await profiled("context", () =>
  contextRun(2, 20_000, 10, 1),
);
const result = {
  benchmark: "sim",
  program: process.env["NEVERSTOP_PROGRAM"] === "compiled" ? "compiled" : "sources (tsx)",
  cluster: { nodes: 5, n: 3, r: 2, w: 2 },
  steadyRun: {
    simulatedSeconds: 60,
    clients: 10,
    operations: steady.operations,
    wallSeconds: +(steady.wallMs / 1000).toFixed(3),
    simulatedOverWall: +(65_000 / steady.wallMs).toFixed(1),
    siblingsPerKey: steady.siblingsPerKey,
    targetWallSecondsMax: 2,
    targetMet: steady.wallMs / 1000 <= 2,
  },
  throughputRun: {
    operations: busy.operations,
    deliveredMessages: busy.delivered,
    deliveredMessagesPerWallSecond: Math.round(busy.delivered / (busy.wallMs / 1000)),
    deliveredMessagesPerCpuSecond: Math.round(busy.delivered / (busy.cpuMs / 1000)),
    eventsPerWallSecond: Math.round(busy.events / (busy.wallMs / 1000)),
    siblingsPerKey: busy.siblingsPerKey,
    targetDeliveredMessagesPerSecondMin: 200_000,
    targetMet: busy.delivered / (busy.wallMs / 1000) >= 200_000,
    targetMetPerCpuSecond: busy.delivered / (busy.cpuMs / 1000) >= 200_000,
    ...(busyProfile === undefined ? {} : { profile: busyProfile }),
  },
  contextRun: {
    about: "get, then put with that get's context (read-modify-write), 10 clients, 20 s simulated",
    operations: withContexts.operations,
    deliveredMessages: withContexts.delivered,
    deliveredMessagesPerWallSecond: Math.round(
      withContexts.delivered / (withContexts.wallMs / 1000),
    ),
    deliveredMessagesPerCpuSecond: Math.round(withContexts.delivered / (withContexts.cpuMs / 1000)),
    siblingsPerKey: withContexts.siblingsPerKey,
    targetDeliveredMessagesPerSecondMin: 200_000,
    targetMet: withContexts.delivered / (withContexts.wallMs / 1000) >= 200_000,
    targetMetPerCpuSecond: withContexts.delivered / (withContexts.cpuMs / 1000) >= 200_000,
    ...(contextProfile === undefined ? {} : { profile: contextProfile }),
  },
  // Three sessions share two cores here: a run's wall time includes waiting for a core, its
  // CPU time does not (but counts the garbage collector's helper threads too). Both are
  // reported, with the 1-minute load average before and after, so a figure is read with it.
  loadAverage: os.loadavg()[0],
  loadAverageAtStart,
  cores: os.availableParallelism(),
};
console.log(JSON.stringify(result, null, 2));
