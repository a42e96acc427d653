// `npm run bench:overload` (lesson 9, "capacity planning with back pressure"): what a 3-node
// cluster does when offered twice what it can serve. A node that coordinates
// `requestsInFlightMax` requests refuses the next one at once (503, Retry-After, error
// "overload"), so the requests it does accept wait behind a bounded amount of work and its
// memory stays flat, instead of every request queuing until all of them time out.
//
// Phases, all in one run (ratios mean something on a noisy shared machine, absolutes do not):
//   capacity   closed loop, C clients: each sends its next request when the last is answered;
//   unloaded   open loop at a quarter of capacity: the p99 the overload phase is compared with;
//   overload   open loop at twice capacity: p99 of accepted requests, share refused, node RSS;
//   unloaded   again: the smaller of the two unloaded p99s is the one compared with.
// Open loops start requests on a fixed schedule whatever the answers do, and latency counts
// from the scheduled start (no coordinated omission). The mix is 50% put / 50% get over a
// bounded set of keys in a last-write-wins bucket, so stored data does not grow with the run.
//
// Two scenarios. `linkLatency` (judged): peer links through Toxiproxy with BENCH_LINK_LATENCY_MS
// (25) each way, so a node's capacity is its request budget over the round trip (Little's law)
// and the CPU stays free for the generator to offer twice that and for the nodes to refuse it.
// `sharedCpu` (judged since issue 13): direct links, CPU-bound; on a 2-core machine the
// generator shares the cores with the nodes and requests wait in sockets and event loops before
// the core's budget counts them. The HTTP layer's load regulator (load-regulator.ts, turned on
// here with BENCH_LOOP_DELAY_TARGET_MS, default 4) refuses there: a cap on requests in flight
// that adapts to their latency, and event-loop delay, all checked before a request is parsed
// (its third signal, how long the loop waits for a core, is off here: see
// judgedRegulatorLimits). Capacity is what the closed loop gets from the same three nodes with the regulator
// off, started apart (a regulator holds the rate below what the cores could do, so capacity
// measured through it, and the load offered at twice it, would be understated: 226/s regulated
// against 1,029/s unregulated at load 6-9); if the regulated nodes then accept more than 1.1x
// that under overload, the unloaded and overload phases run again from that rate, at most 3
// times (capacity.raisedTo...).
// The unloaded phase runs before and after the overload, and the smaller p99 is the one judged.
//
// The generator is measured too, because on two shared cores a starved generator measures its
// own queue, not the nodes': it drives the nodes through bench-client.ts (prepared requests on
// keep-alive connections opened before the first phase, about 0.05 ms of CPU per request
// against 0.13 ms through http.request, whose agent queue held every request 700 ms in the
// first profile while the nodes idled 25%), it runs at nice -10 when allowed (it stands for
// clients on other machines; the nodes, at 0, get what it leaves, in every phase alike), and
// the JSON reports its own event-loop delay, the CPU per request of generator and nodes, how
// many cores other processes on the machine took, the share of each phase the nodes' event
// loops were ready to run but had no core (/proc/<pid>/schedstat), and the wakeup delay of an
// idle process at the nodes' priority. These make the measurement more honest, and say when
// the machine, not the nodes, set the latency; none of them shortens a node's queue.
//
// What limits `sharedCpu` here (issue 13, measured): three nodes and the generator share two
// cores with other work, and every request of twice capacity has to be received and refused
// by a node (0.035 ms of its CPU on an idle machine, about 0.1 ms under contention) and sent and
// read by the generator (0.05 ms). At twice capacity the nodes' event loops wait for a core for
// half to four fifths of the phase even when nothing else runs (/proc schedstat, in the JSON),
// and an accepted request waits for three of them in turn (coordinator, replica, coordinator):
// its p99 landed at 6-41x unloaded in runs at load 3-7 (the smaller of two unloaded p99s, 2-6
// ms), where the first runs of this session, before the generator was made cheap and the
// refusals early, measured 4-294x against unloaded p99s of 4-222 ms. The JSON shows the
// waiting next to the ratio on every run.
//
// Why even that may not be enough here (issue 13, measured this session): in this virtual
// machine a process wakeup costs 60-100 us of CPU (an idle node's 5 ms timer alone costs it
// 20 ms a second), so a refusal that arrives alone costs a node 0.1-0.25 ms, not the 0.025 ms it
// costs in a batch, and the generator 0.07-0.15 ms. Refusing costs less than serving only while
// generator + 2 x refusal < an accepted request's cost (0.2-0.4 ms): at twice capacity the
// refusals and the generator alone then took the two cores (machine 96% busy, loops waiting for
// a core 56% of the phase with the cap at its floor and 93% refused, other sessions 0.04 cores).
// Load regulation cannot remove that queue; cheaper refusals (a generator on undici's dispatch
// callbacks, -30%) and batching them (the regulator's coalesceMs, off by default) shrink it.
//
// The floor (sharedCpu, issue 13): after the regulated phases, three fresh nodes whose regulator
// refuses all but a trickle (about one arrival in fifty) get the same quarter-rate and overload
// phases (measureFloor). Refusing is the least a node can do, and a trickle the least it can
// serve, so the trickle's accepted p99 over the unloaded p99 says whether any admission policy
// could have met 3x in this run; `targets` prints it as floorAllowsTarget, as bench:cluster
// prints its skeleton's ceiling. Measured when the floor refused everything (6 runs, load 1-3):
// refusals at 49-196 ms p99 over the phase, against unloaded p99s of 5-10 ms, and 3.6-38 ms after
// the phase's first second: much of the floor is the step itself, in which even nodes that do
// nothing but refuse fall 100-200 ms behind. With the trickle (4 runs, load 0-2.2, a quiet
// machine): its accepted p99 was 3.45x, 4.5x, 13.4x and 83x the unloaded p99, and 1.5-1.8x its
// own refusals' p99 in the two quiet runs (27.5 against 18.5 ms, 22.4 against 12.5 ms): a
// refusal waits for one loop, an accepted request for three in turn. The floor that refused
// everything had reported 2.8x in a run whose regulated nodes reached 50x, which is why the
// floor now serves a trickle: refusals alone understate what an accepted request must wait.
//
// Prints one JSON object; `targets` holds each judged figure with its target and a met flag.
// Target (issues 6 and 13): in both scenarios, accepted p99 under overload within 3x unloaded
// p99, refusals carry Retry-After, memory bounded (max/min RSS of every node during overload).
// BENCH_ONLY=linkLatency|sharedCpu runs one; BENCH_PHASE_MS shortens phases while iterating;
// BENCH_PROFILE_DIR=/tmp/p profiles the generator and the nodes during each overload phase and
// adds their top functions to the JSON (scripts/profile-on-signal.js, cpu-profile.ts).

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startLocalCluster, type LocalCluster } from "./cluster.ts";

// The nodes run compiled, as `npx neverstop up` runs them (node-process.ts says why), unless
// NEVERSTOP_NODE_PROGRAM=sources; `npm run bench:overload` builds dist/ first.
process.env["NEVERSTOP_NODE_PROGRAM"] ||= "compiled";
import { BenchConnectionPool } from "./bench-client.ts";
import { defaultLoadRegulatorLimits, type LoadRegulatorLimits } from "./load-regulator.ts";
import { processCpuMs, readPhaseProfile, summarizeProfiles } from "./cpu-profile.ts";
import { setGeneratorPriority } from "./generator-priority.ts";
import { httpCall, keyPath, metricValue } from "./test-support.ts";

const requestsInFlightMax = integerFromEnvironment("BENCH_IN_FLIGHT_MAX", 4, 1, 1_000);
const linkLatencyMs = integerFromEnvironment("BENCH_LINK_LATENCY_MS", 25, 1, 500);
const phaseMs = integerFromEnvironment("BENCH_PHASE_MS", 4_000, 1_000, 10_000);
const loopDelayTargetMs = integerFromEnvironment("BENCH_LOOP_DELAY_TARGET_MS", 4, 0, 1_000);
/** The load regulator's limits the benchmark is judged with (load-regulator.ts): its defaults,
 * latency and event-loop delay, with the core-wait signal off. The core-wait signal (shrink the
 * cap while a node's loop waits for a core more than `coreWaitBudget` of the time) lowered the
 * sharedCpu ratio in some runs (3.06 at best, 6.7 against 12.3 in alternated runs at load 3.5)
 * but never to 3x, and it bought that by refusing 33-52% of the UNLOADED phase, at a quarter of
 * capacity: even there the loops wait 0.1-0.2 of the time for a core on these two cores, and a
 * regulator cannot tell that wait from overload. A node that turns away a third of its clients
 * when a quarter loaded teaches the wrong lesson, so it stays off here as in the node.
 * BENCH_REGULATOR='{"coreWaitBudget":0.2,"concurrencyMin":0.25}' runs it; any limit can be set
 * that way. */
const judgedRegulatorLimits: Partial<LoadRegulatorLimits> = {
  coreWaitBudget: 0,
};
const regulatorLimits = { ...judgedRegulatorLimits, ...regulatorLimitsFromEnvironment() };
const overloadFactor = 2;
const warmUpMs = 2_000;
const keyCount = 1_000;
const bucket = "overload";
/** Requests the open loop keeps outstanding at most; past it, it stops sending (and says so). */
const outstandingMax = 4_000;
const connectionsPerNode = integerFromEnvironment("BENCH_CONNECTIONS", 48, 1, 1_000);
const requestTimeoutMs = 5_000;
const rssSampleIntervalMs = 200;
const regulatorSampleIntervalMs = 250;
const latencyRatioMax = 3;
/** Overload accepted more than this times capacity: capacity was understated; measure again. */
const capacityRaiseAbove = 1.1;
const capacityRaisesMax = 3;
const generatorDelayResolutionMs = 5;
const memoryRatioMax = 1.5;

const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));
const neverstopBin = join(repositoryRoot, "bin", "neverstop.js");

type Outcome = "ok" | "refused" | "failed";

interface Sample {
  ms: number;
  outcome: Outcome;
  /** When it was due, in ms from the start of its phase (for BENCH_SAMPLES_FILE). */
  atMs?: number;
}

function integerFromEnvironment(name: string, fallback: number, low: number, high: number) {
  const text = process.env[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < low || value > high) {
    console.error(`Expected \`${name}\` to be an integer from ${low} to ${high}, got ${text}`);
    process.exit(3);
  }
  return value;
}

function regulatorLimitsFromEnvironment(): Partial<LoadRegulatorLimits> {
  const text = process.env["BENCH_REGULATOR"];
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error();
    const known = Object.keys(defaultLoadRegulatorLimits);
    for (const [key, limit] of Object.entries(value)) {
      if (!known.includes(key) || typeof limit !== "number") throw new Error();
    }
    return value as Partial<LoadRegulatorLimits>;
  } catch {
    console.error(
      `Expected \`BENCH_REGULATOR\` to be a JSON object of load regulator limits, got ${text}`,
    );
    process.exit(3);
  }
}

/** One request of the mix to the node behind `pool`: `sequence` picks the key and put or get. */
async function request(pool: BenchConnectionPool, sequence: number): Promise<Outcome> {
  const path = keyPath(bucket, `k${(sequence * 7919) % keyCount}`);
  try {
    const answer =
      sequence % 2 === 0
        ? await pool.request("PUT", path, String(sequence))
        : await pool.request("GET", path, undefined);
    if (answer.status === 200 || answer.status === 204 || answer.status === 404) return "ok";
    if (answer.status === 503 && answer.overloadRefusal) {
      if (!answer.retryAfter) throw new Error("503 overload without Retry-After");
      return "refused";
    }
    countFailure(`status ${answer.status}`);
    return "failed";
  } catch (error) {
    if (error instanceof Error && error.message.includes("Retry-After")) throw error;
    countFailure(error instanceof Error ? error.message : String(error));
    return "failed";
  }
}

/** Why requests failed since the last call of takeFailures (status or client error). */
let failures: Record<string, number> = {};
function countFailure(reason: string): void {
  failures[reason] = (failures[reason] ?? 0) + 1;
}
function takeFailures(): Record<string, number> {
  const taken = failures;
  failures = {};
  return taken;
}

/** One pool of keep-alive connections per node, as a fleet of clients would hold: past it, a
 * request waits for a free connection, and its latency still counts from its scheduled start. */
function connectionPools(ports: number[], connections: number) {
  return ports.map(
    (port) => new BenchConnectionPool(port, connections, requestTimeoutMs, outstandingMax),
  );
}

/** Each client sends its next request when the last is answered; a refused one backs off a
 * little first, so refusals do not spin. */
async function closedLoop(pools: BenchConnectionPool[], clients: number, durationMs: number) {
  const samples: Sample[] = [];
  const deadline = performance.now() + durationMs;
  let sequence = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      // Each client keeps to one node, so every node sees the same number of clients.
      const pool = pools[client % pools.length]!;
      while (performance.now() < deadline) {
        const started = performance.now();
        const outcome = await request(pool, sequence++);
        samples.push({ ms: performance.now() - started, outcome });
        if (outcome === "refused") await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }),
  );
  return samples;
}

async function openLoop(pools: BenchConnectionPool[], ratePerSecond: number, durationMs: number) {
  // Every connection open before the phase starts, as the pools were before the first one: a
  // quarter-capacity phase keeps only 14-16 of each pool's 48 busy, undici closes the rest once
  // idle for 4 s, and the overload phase then began by opening ~100 connections under load.
  await Promise.all(pools.map((pool) => pool.connect()));
  // The generator's own event-loop delay: a response that reached this process waits this long
  // before its latency is taken, so it is part of every sample, accepted or refused.
  const generatorDelay = monitorEventLoopDelay({ resolution: generatorDelayResolutionMs });
  generatorDelay.enable();
  const samples: Sample[] = [];
  const started = performance.now();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const inFlight = new Set<Promise<void>>();
  let skipped = 0;
  let lateMsMax = 0;
  for (let index = 0; index < total; index++) {
    const scheduled = started + (index * 1000) / ratePerSecond;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    lateMsMax = Math.max(lateMsMax, performance.now() - scheduled);
    if (inFlight.size >= outstandingMax) {
      skipped += 1;
      continue;
    }
    const done: Promise<void> = request(pools[index % pools.length]!, index).then((outcome) => {
      samples.push({ ms: performance.now() - scheduled, outcome, atMs: scheduled - started });
      inFlight.delete(done);
    });
    inFlight.add(done);
  }
  const sentMs = performance.now() - started;
  const settled = Promise.all(inFlight).then(() => true);
  const giveUp = new Promise<boolean>((resolve) =>
    setTimeout(() => resolve(false), requestTimeoutMs * 2).unref(),
  );
  if (!(await Promise.race([settled, giveUp]))) {
    const states = JSON.stringify(pools.map((pool) => pool.state()));
    throw new Error(`${inFlight.size} requests never settled; pools: ${states}`);
  }
  generatorDelay.disable();
  // The histogram holds the time between its timer's ticks; what the loop added is that less
  // the sampling interval.
  const beyondInterval = (nanoseconds: number) =>
    round(Math.max(0, nanoseconds / 1e6 - generatorDelayResolutionMs));
  const generatorLoopDelayMs = {
    p50: beyondInterval(generatorDelay.percentile(50)),
    p99: beyondInterval(generatorDelay.percentile(99)),
    max: beyondInterval(generatorDelay.max),
  };
  return { samples, skipped, sentMs, lateMsMax, generatorLoopDelayMs };
}

/** With BENCH_SAMPLES_FILE=prefix, every sample of a phase as tab-separated lines (due at ms,
 * latency ms, outcome) in prefix-<scenario>-<phase>.tsv: to see whether slow answers come in
 * bursts (a stall somewhere) or spread evenly (a standing queue). */
function writeSamples(name: string, samples: Sample[]): void {
  const prefix = process.env["BENCH_SAMPLES_FILE"];
  if (prefix === undefined) return;
  const lines = samples.map(
    (sample) => `${round(sample.atMs ?? 0)}\t${round(sample.ms)}\t${sample.outcome}`,
  );
  writeFileSync(`${prefix}-${name}.tsv`, `${lines.join("\n")}\n`);
}

/** One line on stderr per phase, so a slow run shows where it is. */
function progress(text: string): void {
  process.stderr.write(`bench:overload ${text}\n`);
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

function summarize(samples: Sample[], durationMs: number) {
  const accepted = samples
    .filter((sample) => sample.outcome === "ok")
    .map((sample) => sample.ms)
    .sort((a, b) => a - b);
  const refused = samples.filter((sample) => sample.outcome === "refused");
  const refusedMs = refused.map((sample) => sample.ms).sort((a, b) => a - b);
  return {
    requests: samples.length,
    accepted: accepted.length,
    refused: refused.length,
    failed: samples.filter((sample) => sample.outcome === "failed").length,
    acceptedPerSecond: round((accepted.length * 1000) / durationMs),
    refusedFraction: round(samples.length === 0 ? 0 : refused.length / samples.length),
    acceptedP50Ms: round(percentile(accepted, 0.5)),
    acceptedP99Ms: round(percentile(accepted, 0.99)),
    acceptedMaxMs: round(accepted[accepted.length - 1] ?? Number.NaN),
    refusedP50Ms: round(percentile(refusedMs, 0.5)),
    refusedP99Ms: round(percentile(refusedMs, 0.99)),
  };
}

/** Resident set size of a process in MB, from /proc; undefined elsewhere or once it exited. */
function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** How long a process's main thread (a node's event loop) has waited, ready to run, for a
 * core: ms, from /proc/<pid>/schedstat (time on CPU, time on the run queue, slices). */
function runQueueWaitMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return 0;
  }
}

/** Busy and total CPU time of the whole machine in ms (/proc/stat), to see who else runs. */
function machineCpuMs(): { busyMs: number; totalMs: number } {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
    const ticks = fields.slice(1, 9).map(Number);
    const total = ticks.reduce((sum, value) => sum + value, 0);
    const idle = ticks[3]! + ticks[4]!;
    return { busyMs: (total - idle) * 10, totalMs: total * 10 };
  } catch {
    return { busyMs: 0, totalMs: 0 };
  }
}

/** Where the CPU went during a phase: this generator, the nodes, everything else on the
 * machine (other sessions), per request sent, so a starved or costly generator shows. */
function cpuAccount(cluster: LocalCluster) {
  const take = () => ({
    generatorMs: process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000,
    nodesMs: cluster.nodes.reduce((sum, node) => sum + (processCpuMs(node.pid) ?? 0), 0),
    nodesWaitMs: cluster.nodes.reduce((sum, node) => sum + runQueueWaitMs(node.pid), 0),
    wallMs: performance.now(),
    machine: machineCpuMs(),
  });
  const before = take();
  return (requests: number) => {
    const after = take();
    const generatorMs = after.generatorMs - before.generatorMs;
    const nodesMs = after.nodesMs - before.nodesMs;
    const busyMs = after.machine.busyMs - before.machine.busyMs;
    const totalMs = after.machine.totalMs - before.machine.totalMs;
    return {
      generatorMsPerRequest: round(generatorMs / Math.max(1, requests)),
      nodesMsPerRequest: round(nodesMs / Math.max(1, requests)),
      machineBusyFraction: round(totalMs === 0 ? Number.NaN : busyMs / totalMs),
      // The share of the phase a node's event loop was ready to run and had no core: while it
      // waits, nothing the node decides (refusing included) can happen.
      nodeLoopWaitingForCoreFraction: round(
        (after.nodesWaitMs - before.nodesWaitMs) /
          (cluster.nodes.length * Math.max(1, after.wallMs - before.wallMs)),
      ),
      otherProcessesCores: round(
        totalMs === 0
          ? Number.NaN
          : ((busyMs - generatorMs - nodesMs) / totalMs) * os.cpus().length,
      ),
    };
  };
}

/** With BENCH_PROFILE_DIR, the generator and every node are profiled during each overload
 * phase only: scripts/profile-on-signal.js is preloaded into the nodes (NODE_OPTIONS, set
 * before they start) and into this process, and SIGUSR2 starts and stops it. */
const profileDir = process.env["BENCH_PROFILE_DIR"];
const profilePreload = pathToFileURL(join(repositoryRoot, "scripts", "profile-on-signal.js")).href;
if (profileDir !== undefined) {
  process.env["NEVERSTOP_PROFILE_DIR"] = profileDir;
  process.env["NODE_OPTIONS"] = `${process.env["NODE_OPTIONS"] ?? ""} --import ${profilePreload}`;
  await import(profilePreload);
}

function profileSignal(cluster: LocalCluster): void {
  if (profileDir === undefined) return;
  for (const pid of [process.pid, ...cluster.nodes.map((node) => node.pid)]) {
    if (pid !== undefined) process.kill(pid, "SIGUSR2");
  }
}

/** The overload phase's profiles, the generator apart from the nodes (cpu-profile.ts). */
function profileSummaries(cluster: LocalCluster) {
  if (profileDir === undefined) return undefined;
  const read = (pid: number | undefined) => readPhaseProfile(profileDir, pid);
  return {
    generator: summarizeProfiles(read(process.pid), 10),
    nodes: summarizeProfiles(
      cluster.nodes.flatMap((node) => read(node.pid)),
      10,
    ),
  };
}

/** A process at the nodes' priority that does nothing but time its own 5 ms timer: how long
 * any process on this machine waits for a core while a phase runs. The nodes cannot answer
 * faster than that (a refusal still needs the node to be scheduled), so it is the floor under
 * every latency measured, set by the machine and whatever else runs on it. */
function startSchedulingProbe() {
  const code = `const { monitorEventLoopDelay } = require("node:perf_hooks");
const histogram = monitorEventLoopDelay({ resolution: ${generatorDelayResolutionMs} });
histogram.enable();
process.on("message", (message) => {
  if (message === "reset") return histogram.reset();
  const ms = (nanoseconds) => Math.max(0, nanoseconds / 1e6 - ${generatorDelayResolutionMs});
  process.send({ p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) });
});`;
  const child = spawn(process.execPath, ["-e", code], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return {
    reset: () => child.send("reset"),
    report: () =>
      new Promise<{ p50: number; p99: number; max: number }>((resolve) => {
        child.once("message", (message) => {
          const { p50, p99, max } = message as { p50: number; p99: number; max: number };
          resolve({ p50: round(p50), p99: round(p99), max: round(max) });
        });
        child.send("report");
      }),
    stop: () => child.kill(),
  };
}

/** Samples every node's RSS until stopped; per node: first, min, max, last (MB). */
function sampleMemory(cluster: LocalCluster) {
  const series = new Map<string, number[]>(cluster.nodes.map((node) => [node.id, []]));
  const take = () => {
    for (const node of cluster.nodes) {
      const value = rssMb(node.pid);
      if (value !== undefined) series.get(node.id)!.push(value);
    }
  };
  take();
  const timer = setInterval(take, rssSampleIntervalMs);
  return () => {
    clearInterval(timer);
    take();
    const perNode: Record<
      string,
      { firstMb: number; minMb: number; maxMb: number; lastMb: number }
    > = {};
    let ratioMax = 0;
    for (const [id, values] of series) {
      if (values.length === 0) continue;
      const minMb = Math.min(...values);
      const maxMb = Math.max(...values);
      perNode[id] = {
        firstMb: round(values[0]!),
        minMb: round(minMb),
        maxMb: round(maxMb),
        lastMb: round(values[values.length - 1]!),
      };
      ratioMax = Math.max(ratioMax, maxMb / minMb);
    }
    const samples = Math.min(...[...series.values()].map((values) => values.length));
    return { perNode, maxToMinRatio: round(ratioMax), samplesPerNode: samples };
  };
}

/** Polls every node's /health until stopped: the load regulator's cap and the share of time its
 * event loop waited for a core, as the node itself sees them (mean and range over the phase). */
function sampleRegulators(cluster: LocalCluster) {
  const caps: number[] = [];
  const coreWaits: number[] = [];
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      for (const node of cluster.nodes) {
        try {
          const health = JSON.parse((await httpCall(node.httpPort, { path: "/health" })).body) as {
            concurrencyLimit?: number;
            loopCoreWait?: number;
          };
          if (health.concurrencyLimit !== undefined) caps.push(health.concurrencyLimit);
          if (health.loopCoreWait !== undefined) coreWaits.push(health.loopCoreWait);
        } catch {
          // A refused or slow health check says nothing about the regulator.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, regulatorSampleIntervalMs));
    }
  };
  const polling = poll();
  const describe = (values: number[]) =>
    values.length === 0
      ? {}
      : {
          mean: round(values.reduce((sum, value) => sum + value, 0) / values.length),
          min: Math.min(...values),
          max: Math.max(...values),
        };
  return async () => {
    stopped = true;
    await polling;
    return { concurrencyLimit: describe(caps), loopCoreWait: describe(coreWaits) };
  };
}

/** Refusals counted by the nodes: by the core's request budget, and by the HTTP layer's load
 * regulator (load-regulator.ts) before the core saw the request, split into its concurrency cap
 * and its event-loop delay. */
async function overloadRejections(cluster: LocalCluster) {
  let core = 0;
  let all = 0;
  let cap = 0;
  for (const node of cluster.nodes) {
    const text = (await httpCall(node.httpPort, { path: "/metrics" })).body;
    core += metricValue(text, "neverstop_node_stat", { stat: "overloadRejections" }) ?? 0;
    for (const operation of ["put", "get"]) {
      const labels = { operation, outcome: "overload" };
      all += metricValue(text, "neverstop_requests_total", labels) ?? 0;
    }
    const health = JSON.parse((await httpCall(node.httpPort, { path: "/health" })).body) as {
      loadRegulatorCapRefusals?: number;
    };
    cap += health.loadRegulatorCapRefusals ?? 0;
  }
  return { core, http: all - core, cap };
}

interface Scenario {
  name: string;
  /** Why this scenario, in a sentence (it goes into the JSON). */
  about: string;
  requestsInFlightMax: number;
  closedLoopClients: number;
  /** Latency added to every peer link, each way, through the embedded Toxiproxy (0: none). */
  linkLatencyMs: number;
  /** Also measure the floor: the same load offered to nodes that refuse every request. */
  floor: boolean;
}

/** The embedded Toxiproxy in a process of its own (`neverstop toxiproxy --port 0`): in this
 * process, its latency timers would wait behind the load generator's work and stretch every
 * round trip, which is the generator measuring itself. */
async function startToxiproxyProcess(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [neverstopBin, "toxiproxy", "--port", "0"], {
    cwd: repositoryRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match !== null) resolve(match[1]!);
    });
    child.once("exit", () => reject(new Error("the Toxiproxy process exited during start")));
  });
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Three nodes for `scenario`, with one pool of keep-alive connections per node, opened before
 * the first phase. `regulated`: the HTTP layer's load regulator (load-regulator.ts) on. */
async function startScenarioCluster(
  scenario: Scenario,
  toxiproxy: { url: string } | undefined,
  regulated: boolean,
  limits: Partial<LoadRegulatorLimits> = regulatorLimits,
) {
  const api = async (path: string, body: unknown) => {
    const response = await fetch(`${toxiproxy!.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status >= 300) throw new Error(`Toxiproxy ${path}: ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const tag = regulated ? "regulated" : "unregulated";
  const cluster = await startLocalCluster({
    nodes: 3,
    sync: "interval",
    defaults: { n: 3, r: 2, w: 2, timeoutMs: 2_000 },
    bucketModes: { [bucket]: "lww" },
    timing: { requestsInFlightMax: scenario.requestsInFlightMax },
    httpLimits: regulated ? { loopDelayTargetMs, loadRegulator: limits } : { loopDelayTargetMs: 0 },
    ...(toxiproxy === undefined
      ? {}
      : {
          peerAddress: async (from: string, to: string, peerPort: number) => {
            const name = `${tag}:${from}->${to}`;
            const proxy = await api("/proxies", {
              name,
              listen: "127.0.0.1:0",
              upstream: `127.0.0.1:${peerPort}`,
              enabled: true,
            });
            for (const stream of ["upstream", "downstream"]) {
              await api(`/proxies/${encodeURIComponent(name)}/toxics`, {
                name: `latency-${stream}`,
                type: "latency",
                stream,
                attributes: { latency: scenario.linkLatencyMs, jitter: 0 },
              });
            }
            const [host, port] = String(proxy["listen"]).split(":");
            return { host: host!, port: Number(port) };
          },
        }),
  });
  const pools = connectionPools(
    cluster.nodes.map((node) => node.httpPort),
    connectionsPerNode,
  );
  await Promise.all(pools.map((pool) => pool.connect()));
  return {
    cluster,
    pools,
    async stop() {
      for (const pool of pools) pool.close();
      await cluster.stop();
    },
  };
}

/** Capacity: what the nodes serve to closed-loop clients with the load regulator off (the
 * regulator holds the rate below what the CPU could do, on purpose; measured with it on,
 * capacity, and so the twice-capacity load offered, would be understated). */
async function measureCapacity(scenario: Scenario, toxiproxy: { url: string } | undefined) {
  const { cluster, pools, stop } = await startScenarioCluster(scenario, toxiproxy, false);
  setGeneratorPriority(-10);
  try {
    await closedLoop(pools, scenario.closedLoopClients, warmUpMs);
    progress(`${scenario.name}: capacity`);
    const capacityCpu = cpuAccount(cluster);
    const capacitySamples = await closedLoop(pools, scenario.closedLoopClients, phaseMs);
    const cpu = capacityCpu(capacitySamples.length);
    return { summary: summarize(capacitySamples, phaseMs), cpu };
  } finally {
    setGeneratorPriority(0);
    await stop();
  }
}

async function runScenario(scenario: Scenario) {
  const toxiproxy = scenario.linkLatencyMs > 0 ? await startToxiproxyProcess() : undefined;
  let started: Awaited<ReturnType<typeof startScenarioCluster>> | undefined;
  try {
    const capacityRun = await measureCapacity(scenario, toxiproxy);
    started = await startScenarioCluster(scenario, toxiproxy, true);
    const measured = await measureRegulated(scenario, started.cluster, started.pools, capacityRun);
    await started.stop();
    started = undefined;
    if (!scenario.floor) return { ...measured, floor: undefined };
    const floor = await measureFloor(scenario, measured.overload.offeredPerSecond);
    return {
      ...measured,
      floor: {
        ...floor,
        refusedP99Ratio: round(floor.refusedP99Ms / measured.unloadedAcceptedP99Ms),
        acceptedP99Ratio: round(floor.acceptedP99Ms / measured.unloadedAcceptedP99Ms),
      },
    };
  } finally {
    await started?.stop();
    await toxiproxy?.stop();
  }
}

/**
 * The floor under the overload phase: the same rate offered to three nodes whose regulator
 * refuses all but a trickle of requests (a cap of `floorAdmitCap` requests in flight: below 1 the
 * cap is a probability, so a node with nothing pending takes about that share of arrivals),
 * after the same quarter-rate phase. Refusing is the least a node can do for a request, and a
 * trickle is the least it can serve, so on a machine where the cores are shared this is the wait
 * in sockets and run queues that no admission policy removes: the refusals wait as long as a
 * request does to be read, and the trickle's accepted requests, which cost the machine almost
 * nothing more, show what a request that needs its three hops (coordinator, replica,
 * coordinator) waits on the same crowded cores. When the trickle's accepted p99 is already above
 * 3x the unloaded p99, the target is out of reach of any regulator in that run, as
 * bench:cluster's skeleton bounds its ratio. (Not a strict bound: a regulator that knew when the
 * cores were about to be free could admit only then; the trickle admits whenever a node has
 * nothing pending.)
 */
async function measureFloor(scenario: Scenario, overloadRate: number) {
  const trickle = { ...regulatorLimits, ...trickleLimits };
  const { cluster, pools, stop } = await startScenarioCluster(scenario, undefined, true, trickle);
  const generatorPriority = setGeneratorPriority(-10);
  try {
    progress(`${scenario.name}: floor, all but a trickle refused, at ${overloadRate}/s`);
    await openLoop(pools, Math.max(1, Math.floor(overloadRate / (4 * overloadFactor))), phaseMs);
    const cpu = cpuAccount(cluster);
    const run = await openLoop(pools, overloadRate, phaseMs);
    const summary = summarize(run.samples, phaseMs);
    return {
      about: "the overload phase's rate offered to nodes that refuse all but a trickle of requests",
      offeredPerSecond: overloadRate,
      admitCap: floorAdmitCap,
      generatorPriority,
      cpu: cpu(run.samples.length),
      refusedFraction: summary.refusedFraction,
      refusedP50Ms: summary.refusedP50Ms,
      refusedP99Ms: summary.refusedP99Ms,
      refusedP99MsAfterFirstSecond: afterFirstSecond(run.samples, "refused"),
      acceptedPerSecond: summary.acceptedPerSecond,
      acceptedP50Ms: summary.acceptedP50Ms,
      acceptedP99Ms: summary.acceptedP99Ms,
      acceptedP99MsAfterFirstSecond: afterFirstSecond(run.samples, "ok"),
    };
  } finally {
    setGeneratorPriority(0);
    await stop();
  }
}

/** The floor's cap: an idle node takes about one arrival in fifty, a few hundred a second at
 * these rates, enough for a p99 over a phase and too few to load the cores. */
const floorAdmitCap = 0.02;
const trickleLimits: Partial<LoadRegulatorLimits> = {
  concurrencyMin: floorAdmitCap,
  concurrencyInitial: floorAdmitCap,
  concurrencyMax: floorAdmitCap,
};

/** The p99 of `outcome` among requests due after the phase's first second. Not judged: it says
 * how much of a phase's p99 is the step from a quarter of capacity to twice it. When this was
 * added, the first second was the slowest of the phase even on nodes that refused everything
 * (the floor: refusals waited 140 ms at the median in it, 3 ms after), and in a run sampled from
 * /proc/PID/stat every 250 ms the generator, at nice -10, took 0.7-0.9 of a core in that second
 * against 0.55-0.6 after, while the nodes' loops waited for a core 0.7 of the time. The pools'
 * connections were all open (openLoop), so it is not a connection storm. */
function afterFirstSecond(samples: Sample[], outcome: Outcome): number {
  const later = samples
    .filter((sample) => sample.outcome === outcome && (sample.atMs ?? 0) >= 1_000)
    .map((sample) => sample.ms)
    .sort((a, b) => a - b);
  return round(percentile(later, 0.99));
}

/** The unloaded and overload phases on the regulated cluster, from `capacityRun`. */
async function measureRegulated(
  scenario: Scenario,
  cluster: LocalCluster,
  pools: BenchConnectionPool[],
  capacityRun: Awaited<ReturnType<typeof measureCapacity>>,
) {
  const probe = startSchedulingProbe();
  const generatorPriority = setGeneratorPriority(-10);
  try {
    const clients = scenario.closedLoopClients;
    await closedLoop(pools, clients, warmUpMs);
    const capacity = capacityRun.summary;
    const capacityPerSecond = Math.max(1, capacity.acceptedPerSecond);

    const measure = (perSecond: number) =>
      measureAtRate({ cluster, pools, probe, name: scenario.name, capacityPerSecond: perSecond });
    // When the regulated nodes accept more under overload than the unregulated ones served to
    // the closed loop, the load offered was less than twice what they can serve, which would
    // flatter them: measure again from what they accepted, up to `capacityRaisesMax` times.
    let rate = capacityPerSecond;
    let measured = await measure(rate);
    const raisedTo: number[] = [];
    while (
      raisedTo.length < capacityRaisesMax &&
      measured.overload.acceptedPerSecond > rate * capacityRaiseAbove
    ) {
      rate = measured.overload.acceptedPerSecond;
      raisedTo.push(rate);
      measured = await measure(rate);
    }
    return {
      about: scenario.about,
      setup: {
        requestsInFlightMax: scenario.requestsInFlightMax,
        closedLoopClients: clients,
        linkLatencyMs: scenario.linkLatencyMs,
        connectionsPerNode,
        loopDelayTargetMs,
        regulatorLimits,
        generatorPriority,
      },
      capacity: {
        opsPerSecond: capacity.acceptedPerSecond,
        refused: capacity.refused,
        failed: capacity.failed,
        p99Ms: capacity.acceptedP99Ms,
        cpu: capacityRun.cpu,
        loadRegulator: "off",
        raisedToAcceptedUnderOverload: raisedTo,
      },
      ...measured,
    };
  } finally {
    setGeneratorPriority(0);
    probe.stop();
  }
}

/** The unloaded phase (a quarter of `capacityPerSecond`) and the overload phase (twice it), with
 * everything measured around them. */
async function measureAtRate(context: {
  cluster: LocalCluster;
  pools: BenchConnectionPool[];
  probe: ReturnType<typeof startSchedulingProbe>;
  name: string;
  capacityPerSecond: number;
}) {
  const { cluster, pools, probe, name, capacityPerSecond } = context;
  const unloadedRate = Math.max(1, Math.floor(capacityPerSecond / 4));
  progress(`${name}: unloaded at ${unloadedRate}/s`);
  takeFailures();
  probe.reset();
  const unloadedCpu = cpuAccount(cluster);
  const unloadedRun = await openLoop(pools, unloadedRate, phaseMs);
  const unloadedCpuUse = unloadedCpu(unloadedRun.samples.length);
  const unloadedProbe = await probe.report();
  const unloaded = summarize(unloadedRun.samples, phaseMs);

  const rejectionsBefore = await overloadRejections(cluster);
  const stopSampling = sampleMemory(cluster);
  const stopRegulatorSampling = sampleRegulators(cluster);
  const overloadRate = Math.floor(capacityPerSecond * overloadFactor);
  progress(`${name}: overload at ${overloadRate}/s`);
  probe.reset();
  const overloadCpu = cpuAccount(cluster);
  profileSignal(cluster);
  const overloadRun = await openLoop(pools, overloadRate, phaseMs);
  profileSignal(cluster);
  const overloadCpuUse = overloadCpu(overloadRun.samples.length);
  if (profileDir !== undefined) await new Promise((resolve) => setTimeout(resolve, 2_000)); // written
  const overloadFailures = takeFailures();
  const overloadProbe = await probe.report();
  writeSamples(`${name}-overload`, overloadRun.samples);
  const memory = stopSampling();
  const regulators = await stopRegulatorSampling();
  const overload = summarize(overloadRun.samples, phaseMs);
  const rejectionsAfter = await overloadRejections(cluster);
  // The unloaded p99 once more, after the overload: a burst of other work on the machine
  // during one unloaded phase would inflate the denominator and flatter the ratio, so the
  // smaller of the two is the one compared with.
  progress(`${name}: unloaded again at ${unloadedRate}/s`);
  const unloadedAgain = summarize((await openLoop(pools, unloadedRate, phaseMs)).samples, phaseMs);
  const unloadedP99Ms = Math.min(unloaded.acceptedP99Ms, unloadedAgain.acceptedP99Ms);
  return {
    unloaded: {
      offeredPerSecond: unloadedRate,
      generatorLoopDelayMs: unloadedRun.generatorLoopDelayMs,
      machineWakeupDelayMs: unloadedProbe,
      cpu: unloadedCpuUse,
      ...unloaded,
      acceptedP99MsAfterOverload: unloadedAgain.acceptedP99Ms,
      failedAfterOverload: unloadedAgain.failed,
    },
    overload: {
      offeredPerSecond: overloadRate,
      // Whether the load generator (on the same cores) kept to its own schedule.
      sentPerSecond: round((overloadRun.samples.length * 1000) / overloadRun.sentMs),
      generatorLateMsMax: round(overloadRun.lateMsMax),
      generatorSkipped: overloadRun.skipped,
      generatorLoopDelayMs: overloadRun.generatorLoopDelayMs,
      machineWakeupDelayMs: overloadProbe,
      cpu: overloadCpuUse,
      ...overload,
      acceptedP99MsAfterFirstSecond: afterFirstSecond(overloadRun.samples, "ok"),
      refusalsCountedByNodes: {
        coreBudget: rejectionsAfter.core - rejectionsBefore.core,
        loadRegulator: rejectionsAfter.http - rejectionsBefore.http,
        loadRegulatorByCap: rejectionsAfter.cap - rejectionsBefore.cap,
      },
      failedBy: overloadFailures,
      regulators,
      ...(profileDir === undefined ? {} : { profile: profileSummaries(cluster) }),
    },
    unloadedAcceptedP99Ms: unloadedP99Ms,
    acceptedP99Ratio: round(overload.acceptedP99Ms / unloadedP99Ms),
    memory,
  };
}

/** The floor beside the target: whether any regulator could have met it in this run. */
function floorTarget(
  floor:
    | {
        refusedP99Ms: number;
        refusedP99Ratio: number;
        acceptedP99Ms: number;
        acceptedP99Ratio: number;
      }
    | undefined,
) {
  if (floor === undefined) return {};
  return {
    floorRefusedP99Ms: floor.refusedP99Ms,
    floorRefusedP99Ratio: floor.refusedP99Ratio,
    floorAcceptedP99Ms: floor.acceptedP99Ms,
    floorAcceptedP99Ratio: floor.acceptedP99Ratio,
    // The trickle's accepted requests are the judged kind; NaN (none accepted) allows nothing.
    floorAllowsTarget: floor.acceptedP99Ratio <= latencyRatioMax,
  };
}

async function main(): Promise<void> {
  const benchStartedAt = performance.now();
  const loadAverageAtStart = os.loadavg()[0];
  // Judged: a node whose capacity is its request budget over the round trip to its replicas
  // (Little's law: throughput = requests in flight / time each one takes), with the CPU left
  // free so that the same machine can offer twice that load and the nodes can refuse it.
  const only = process.env["BENCH_ONLY"];
  const skipped = {
    acceptedP99Ratio: Number.NaN,
    unloadedAcceptedP99Ms: Number.NaN,
    unloaded: {
      acceptedP99Ms: Number.NaN,
      refusedFraction: Number.NaN,
      cpu: {},
      machineWakeupDelayMs: {},
    },
    overload: {
      refused: 0,
      acceptedP99Ms: Number.NaN,
      acceptedPerSecond: Number.NaN,
      refusedFraction: Number.NaN,
      refusedP99Ms: Number.NaN,
      generatorLoopDelayMs: {},
      cpu: {},
      machineWakeupDelayMs: {},
    },
    memory: { maxToMinRatio: Number.NaN },
    floor: undefined,
  };
  const linkLatency =
    only === "sharedCpu"
      ? (skipped as never)
      : await runScenario({
          name: "linkLatency",
          about: `peer links with ${linkLatencyMs} ms each way (Toxiproxy): capacity = requestsInFlightMax x 3 nodes / round trip; CPU left free to offer 2x and refuse it`,
          requestsInFlightMax,
          closedLoopClients: 3 * requestsInFlightMax,
          linkLatencyMs,
          floor: false,
        });
  // CPU-bound: on this 2-core machine the load generator competes with the nodes for the CPU,
  // and requests queue in sockets and event loops before the core's budget sees them; the load
  // regulator measures that queue as event-loop delay.
  const sharedCpu =
    only === "linkLatency"
      ? (skipped as never)
      : await runScenario({
          name: "sharedCpu",
          about:
            "direct links, CPU-bound: generator and nodes share the cores; requests queue in sockets and event loops before the core's budget sees them, where the load regulator's event-loop delay does",
          requestsInFlightMax: 32,
          closedLoopClients: 32,
          linkLatencyMs: 0,
          floor: true,
        });
  const judged = { linkLatency, sharedCpu };
  // Each figure with its target and whether this run met it, and next to them what says how
  // far the machine let the nodes run: the generator's own loop delay, the share of the phase
  // the nodes' event loops waited for a core, and an idle process's wakeup delay.
  const met = (name: keyof typeof judged) => {
    const scenario = judged[name];
    return {
      acceptedP99Ratio: {
        value: scenario.acceptedP99Ratio,
        target: `<= ${latencyRatioMax}`,
        met: scenario.acceptedP99Ratio <= latencyRatioMax,
      },
      refusedWithRetryAfter: {
        value: scenario.overload.refused,
        target: "> 0",
        met: scenario.overload.refused > 0,
      },
      memoryMaxToMinRatio: {
        value: scenario.memory.maxToMinRatio,
        target: `<= ${memoryRatioMax}`,
        met: scenario.memory.maxToMinRatio <= memoryRatioMax,
      },
      unloadedAcceptedP99Ms: scenario.unloadedAcceptedP99Ms,
      // The regulator runs in the unloaded phase too; on a crowded machine it refuses part of
      // it (the loops wait for a core over budget even there), leaving the luckier requests.
      unloadedRefusedFraction: scenario.unloaded.refusedFraction,
      overloadAcceptedP99Ms: scenario.overload.acceptedP99Ms,
      overloadAcceptedPerSecond: scenario.overload.acceptedPerSecond,
      overloadRefusedFraction: scenario.overload.refusedFraction,
      // A refusal's p99 over the unloaded p99: a refusal is the least a node can do for a
      // request, after the same wait in the socket and the run queue before the node reads it.
      // Far above 3, most of the wait is in front of the admission decision, which can then
      // only admit in calmer moments (a cap below one request admits only when nothing is
      // pending): in this session's runs refused and accepted p99 stayed within about 3x of
      // each other, either way round.
      overloadRefusedP99Ms: scenario.overload.refusedP99Ms,
      refusedP99Ratio: round(scenario.overload.refusedP99Ms / scenario.unloadedAcceptedP99Ms),
      overloadGeneratorLoopDelayMs: scenario.overload.generatorLoopDelayMs,
      overloadNodeLoopWaitingForCoreFraction: (
        scenario.overload.cpu as { nodeLoopWaitingForCoreFraction?: number }
      ).nodeLoopWaitingForCoreFraction,
      overloadMachineWakeupDelayMs: scenario.overload.machineWakeupDelayMs,
      ...floorTarget(scenario.floor),
    };
  };
  const result = {
    benchmark: "overload",
    setup: {
      nodes: 3,
      n: 3,
      r: 2,
      w: 2,
      phaseMs,
      overloadFactor,
      mix: "50% put / 50% get, lww bucket",
      keyCount,
    },
    linkLatency,
    sharedCpu,
    loadAverageAtStart,
    loadAverage: os.loadavg()[0],
    totalMs: Math.round(performance.now() - benchStartedAt),
    targets: {
      judgedOn: ["linkLatency", "sharedCpu"],
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg()[0],
      linkLatency: met("linkLatency"),
      sharedCpu: met("sharedCpu"),
    },
  };
  console.log(JSON.stringify(result, null, 2));
}

await main();
