// `npm run bench:cluster` (lesson 9, "capacity planning with back pressure"): how much a 3-node
// cluster (N=3, R=2, W=2, sync `interval`) serves next to the cheapest HTTP server this machine
// can run, measured in the same run so that the ratio means something on a noisy machine.
//
// Phases: warm-up until the JIT has settled (below); peak (closed loop: C clients, each sends
// its next request when the last one is answered); the baseline (the same closed loop against a raw node:http echo server in its
// own process); half load (open loop at half the peak rate, latency measured from each request's
// scheduled start, so queueing counts). Prints one JSON object.
//
// Targets (issues 2 and 13): cluster ops/s >= 0.35, then 0.5, x echo req/s; p99 < 20 ms at
// half of peak load; the same cluster under sync `always` (what `npm start` runs, with group
// commit) at least half of `interval`'s ops/s. BENCH_ALWAYS=0 skips the `always` run.
//
// Warm-up. A node's code starts interpreted; V8 compiles the hot functions with its optimizing
// compiler on background threads, and until it has, an operation costs several times its steady
// cost. Measured from a cold 3-node cluster under this benchmark's load, node CPU per operation
// in consecutive 2 s windows: 1.13, 0.89, 0.89, 0.59, 0.40, 0.28, 0.23, 0.21, 0.18, 0.20 ms
// (a perf profile 6 s in showed 44% of a node's CPU in the compiler's threads; 20 s in, none).
// A database is judged at its steady state, so the warm-up runs 2 s windows until CPU per
// operation stops falling (no window better than the best so far by `settledWithin`, twice
// running),
// at most `warmupMaxMs`; the JSON reports the windows. Echo and skeleton warm up the same way.
//
// The skeleton (skeleton-node.ts): three processes with the cluster's shape and none of its
// logic (the same HTTP front, the same transport, the same four peer messages per operation),
// driven by the same clients in the same run. skeleton/echo is the ceiling of this design on
// this machine; cluster/skeleton is what the node's logic and storage cost on top of it.
// BENCH_SKELETON=0 skips it.
//
// BENCH_PROFILE_DIR=/tmp/p profiles every node (--cpu-prof) and adds the summary to the JSON:
// the functions with the most self time and the share of each part of the program
// (cpu-profile.ts), after the warm-up. The skeleton's nodes are profiled during their peak the
// same way (skeleton.profile), so the ceiling's costs can be read beside the node's. Profiling
// slows the nodes: read shares, not speed.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { BenchConnectionPool, type BenchAnswer } from "./bench-client.ts";
import { randomFreePorts, startLocalCluster } from "./cluster.ts";
import {
  processCpuMs,
  readMainThreadProfiles,
  summarizeProfiles,
  phaseProfileFile,
  readPhaseProfile,
  type CpuProfile,
  type ProfileSummary,
} from "./cpu-profile.ts";
import { build } from "esbuild";
import { setGeneratorPriority } from "./generator-priority.ts";
import { httpCall, keyPath } from "./test-support.ts";

const clients = Number(process.env["BENCH_CLIENTS"] ?? 32);
const phaseMs = Number(process.env["BENCH_PHASE_MS"] ?? 8_000);
const warmupWindowMs = 2_000;
const warmupMaxMs = 40_000;
/** A window that improves on the best one so far by less than this fraction counts as settled. */
const settledWithin = 0.1;
const keysPerClient = 50;
/** A request that takes longer has failed (the generator's pools; the nodes answer in far less). */
const requestTimeoutMs = 30_000;
/** How long the skeleton's profiles may take to be written after their phase (BENCH_PROFILE_DIR). */
const profileWaitMaxMs = 5_000;
/** Requests that may wait for a connection per port: more than the open loop ever has in flight. */
const queueLengthMax = 10_000;
const sync = (process.env["BENCH_SYNC"] ?? "interval") as "always" | "interval" | "never";
const profileDir = process.env["BENCH_PROFILE_DIR"];
/** The nodes run compiled, as `npx neverstop up` runs them (node-process.ts says why), unless
 * NEVERSTOP_NODE_PROGRAM=sources; `npm run bench:cluster` builds dist/ first. */
process.env["NEVERSTOP_NODE_PROGRAM"] ||= "compiled";
const nodeProgram = process.env["NEVERSTOP_NODE_PROGRAM"];

interface Sample {
  op: "put" | "get" | "echo";
  ms: number;
  ok: boolean;
}

type Target = { ports: number[]; kind: "cluster" } | { ports: number[]; kind: "echo" };

/** The generator's HTTP client: bench-client.ts's pool of keep-alive connections (undici),
 * one per server port. The generator shares the two cores with the servers it measures, so its
 * client must not pause: with Node's http.Agent, its garbage had blocked the generator's loop for
 * up to 45 ms in the half-load phase, latency the nodes had not caused. */
class Pools {
  private readonly pools = new Map<number, BenchConnectionPool>();
  constructor(private readonly connectionsPerPort: number) {}

  call(
    port: number,
    method: "GET" | "PUT",
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<BenchAnswer> {
    let pool = this.pools.get(port);
    if (pool === undefined) {
      pool = new BenchConnectionPool(
        port,
        this.connectionsPerPort,
        requestTimeoutMs,
        queueLengthMax,
      );
      this.pools.set(port, pool);
    }
    return pool.request(method, path, body, headers);
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close();
  }
}

/** One client's state: its own keys and the context of its last write to each, so that every
 * put supersedes the previous one instead of piling up siblings. */
class Client {
  private readonly contexts = new Map<string, string>();
  private counter = 0;
  constructor(
    private readonly id: number,
    readonly pools: Pools,
  ) {}

  async next(target: Target): Promise<Sample> {
    const port = target.ports[this.counter % target.ports.length]!;
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    this.counter++;
    if (target.kind === "echo") {
      const answer = await this.pools.call(port, "GET", "/echo");
      return { op: "echo", ms: elapsed(), ok: answer.status === 200 };
    }
    // Puts and gets alternate, each get reading the key the put before it wrote, so the mix is
    // half and half in every phase, for an old client or one the open loop has just added.
    const key = `c${this.id}-${Math.floor((this.counter - 1) / 2) % keysPerClient}`;
    const context = this.contexts.get(key);
    if (this.counter % 2 === 1) {
      const answer = await this.pools.call(
        port,
        "PUT",
        keyPath("bench", key),
        context === undefined ? {} : { "x-neverstop-context": context },
        JSON.stringify({ client: this.id, n: this.counter }),
      );
      if (answer.context !== undefined) this.contexts.set(key, answer.context);
      return { op: "put", ms: elapsed(), ok: answer.status === 204 };
    }
    const answer = await this.pools.call(port, "GET", keyPath("bench", key));
    return { op: "get", ms: elapsed(), ok: answer.status === 200 };
  }
}

/** The clients of one server under test: the same ones, with the contexts they learned, run the
 * warm-up, the peak and the half load; the open loop adds more only when all are busy. */
function makeClients(pools: Pools): Client[] {
  return Array.from({ length: clients }, (_, index) => new Client(index, pools));
}

async function closedLoop(
  target: Target,
  durationMs: number,
  loopClients: Client[],
): Promise<Sample[]> {
  const samples: Sample[] = [];
  const deadline = Date.now() + durationMs;
  await Promise.all(
    loopClients.map(async (client) => {
      while (Date.now() < deadline) samples.push(await client.next(target));
    }),
  );
  return samples;
}

/** Starts requests at a fixed rate whatever the answers do; latency counts from the scheduled
 * start (no coordinated omission). */
async function openLoop(
  target: Target,
  ratePerSecond: number,
  durationMs: number,
  loopClients: Client[],
): Promise<{ samples: Sample[]; generator: GeneratorHealth }> {
  const samples: Sample[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const cpuStarted = process.cpuUsage();
  let lateMsMax = 0;
  const idle = [...loopClients];
  const started = performance.now();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const inFlight: Promise<void>[] = [];
  for (let index = 0; index < total; index++) {
    const scheduled = started + (index * 1000) / ratePerSecond;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    lateMsMax = Math.max(lateMsMax, performance.now() - scheduled);
    const client = idle.pop() ?? new Client(10_000 + index, loopClients[0]!.pools);
    inFlight.push(
      client.next(target).then((sample) => {
        samples.push({ ...sample, ms: performance.now() - scheduled });
        idle.push(client);
      }),
    );
  }
  await Promise.all(inFlight);
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuStarted);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    samples,
    generator: {
      lateMsMax: round(lateMsMax),
      loopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
      loopDelayMaxMs: round(loopDelay.max / 1e6),
      cpuMsPerRequest: round((cpu.user + cpu.system) / 1000 / Math.max(1, total)),
    },
  };
}

/** How the generator itself fared in an open loop: a late send or a blocked loop is latency
 * the nodes did not cause, and shows here rather than hiding in the p99. */
interface GeneratorHealth {
  /** The latest any request was sent after its scheduled time (ms). */
  lateMsMax: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** The generator process's CPU per request sent (ms), the HTTP client's cost. */
  cpuMsPerRequest: number;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

function summarize(samples: Sample[], durationMs: number) {
  const sorted = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  const count = (op: Sample["op"]) => samples.filter((sample) => sample.op === op).length;
  return {
    requests: samples.length,
    failures: samples.filter((sample) => !sample.ok).length,
    opsPerSecond: round((samples.length * 1000) / durationMs),
    putsPerSecond: round((count("put") * 1000) / durationMs),
    getsPerSecond: round((count("get") * 1000) / durationMs),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    p999Ms: round(percentile(sorted, 0.999)),
  };
}

/** The CPU time of several processes together; undefined if any cannot be read. */
function cpuMsOf(pids: (number | undefined)[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const value = processCpuMs(pid);
    if (value === undefined) return undefined;
    total += value;
  }
  return total;
}

async function startEcho(): Promise<{ port: number; pid: number | undefined; stop(): void }> {
  const script = `
    const http = require("node:http");
    const server = http.createServer((request, response) => {
      request.resume();
      request.on("end", () => { response.writeHead(200, { "content-type": "application/json" }); response.end('{"echo":true}'); });
    });
    server.keepAliveTimeout = 5000;
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding("utf8").once("data", (text: string) => resolve(Number(text.trim())));
    child.once("exit", () => reject(new Error("the echo server exited")));
  });
  return { port, pid: child.pid, stop: () => child.kill("SIGKILL") };
}

interface WarmUp {
  seconds: number;
  /** Server CPU per operation in each window (ms), the last ones settled. */
  cpuMsPerOpByWindow: (number | null)[];
}

/** Closed-loop windows until the servers' CPU per operation stops falling (see the header). */
async function warmUp(
  target: Target,
  loopClients: Client[],
  pids: (number | undefined)[],
): Promise<WarmUp> {
  const windows: (number | null)[] = [];
  let best = Number.POSITIVE_INFINITY;
  let settledInARow = 0;
  const started = Date.now();
  while (Date.now() - started < warmupMaxMs && settledInARow < 2) {
    const before = cpuMsOf(pids);
    const samples = await closedLoop(target, warmupWindowMs, loopClients);
    const perOp = perOperation(before, cpuMsOf(pids), Math.max(1, samples.length));
    windows.push(perOp);
    if (perOp === null) break; // no /proc: nothing to judge by, one window it is
    // Settled: no better than the best window by more than `settledWithin`.
    settledInARow = perOp >= best * (1 - settledWithin) ? settledInARow + 1 : 0;
    best = Math.min(best, perOp);
  }
  return { seconds: Math.round((Date.now() - started) / 100) / 10, cpuMsPerOpByWindow: windows };
}

const repositoryRoot = new URL("../../../", import.meta.url).pathname;

/** The skeleton's program, compiled as the nodes are (see `nodeProgram`), so that the ceiling
 * and the cluster pay the same for their shared code. */
async function skeletonProgram(): Promise<{ args: string[]; folder?: string }> {
  const source = `${repositoryRoot}cluster/runtime/real/skeleton-node.ts`;
  if (nodeProgram !== "compiled") return { args: [`${repositoryRoot}bin/run-ts.js`, source] };
  const folder = mkdtempSync(join(os.tmpdir(), "neverstop-skeleton-"));
  const outfile = join(folder, "skeleton-node.mjs");
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  return { args: [outfile], folder };
}

/** Three skeleton nodes (skeleton-node.ts) on free ports, each answering once it listens. */
async function startSkeleton(): Promise<{
  ports: number[];
  pids: number[];
  /** Where its nodes write their peak's profiles (BENCH_PROFILE_DIR), if they are profiled. */
  profileFolder: string | undefined;
  stop(): void;
}> {
  const program = await skeletonProgram();
  const ports = await randomFreePorts(3);
  const ids = ["n1", "n2", "n3"];
  const peers = Object.fromEntries(
    ids.map((id, index) => [id, { host: "127.0.0.1", port: ports[index]!.peerPort }]),
  );
  // With BENCH_PROFILE_DIR, each skeleton node can profile its peak phase on SIGUSR2
  // (scripts/profile-on-signal.js), so that the ceiling's profile sits beside the cluster's.
  const profileFolder =
    profileDir === undefined ? undefined : `${profileDir}/skeleton-${Date.now()}`;
  const preload =
    profileFolder === undefined
      ? []
      : ["--import", pathToFileURL(`${repositoryRoot}scripts/profile-on-signal.js`).href];
  const children = ids.map((id, index) =>
    spawn(
      process.execPath,
      [
        ...preload,
        ...program.args,
        JSON.stringify({ id, httpPort: ports[index]!.httpPort, peers }),
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env:
          profileFolder === undefined
            ? process.env
            : { ...process.env, NEVERSTOP_PROFILE_DIR: profileFolder },
      },
    ),
  );
  const stop = () => {
    for (const child of children) child.kill("SIGKILL");
    if (program.folder !== undefined) rmSync(program.folder, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            child.stdout!.setEncoding("utf8").once("data", () => resolve());
            child.once("exit", () => reject(new Error("a skeleton node exited")));
          }),
      ),
    );
  } catch (error) {
    stop();
    throw error;
  }
  return {
    ports: ports.map((port) => port.httpPort),
    pids: children.map((child) => child.pid!),
    profileFolder,
    stop,
  };
}

/** Profiles of `pids` that profile-on-signal.js writes in `folder` after its second SIGUSR2:
 * written asynchronously, so waited for (a few seconds at most). */
async function phaseProfiles(folder: string, pids: number[]): Promise<CpuProfile[]> {
  const deadline = Date.now() + profileWaitMaxMs;
  while (!pids.every((pid) => existsSync(phaseProfileFile(folder, pid))) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return pids.flatMap((pid) => readPhaseProfile(folder, pid));
}

/** The skeleton's peak: warm-up, then the same closed loop as the cluster's. */
async function runSkeleton(pools: Pools) {
  const skeleton = await startSkeleton();
  setGeneratorPriority(-10);
  try {
    const target: Target = { kind: "cluster", ports: skeleton.ports };
    const loopClients = makeClients(pools);
    const warm = await warmUp(target, loopClients, skeleton.pids);
    const signal = () => {
      if (skeleton.profileFolder === undefined) return;
      for (const pid of skeleton.pids) process.kill(pid, "SIGUSR2");
    };
    signal(); // starts each skeleton node's profiler
    const cpuBefore = cpuMsOf(skeleton.pids);
    const peak = summarize(await closedLoop(target, phaseMs, loopClients), phaseMs);
    const cpuMsPerOp = perOperation(cpuBefore, cpuMsOf(skeleton.pids), peak.requests);
    signal(); // stops them and writes the profiles
    const profile =
      skeleton.profileFolder === undefined
        ? undefined
        : summarizeProfiles(await phaseProfiles(skeleton.profileFolder, skeleton.pids), 15);
    return { warmUp: warm, peak, cpuMsPerOp, ...(profile === undefined ? {} : { profile }) };
  } finally {
    setGeneratorPriority(0);
    skeleton.stop();
  }
}

interface ClusterRun {
  warmUp: WarmUp;
  peak: ReturnType<typeof summarize>;
  cpuMsPerOp: number | null;
  halfLoad: ReturnType<typeof summarize> & {
    rateOpsPerSecond: number;
    generator: GeneratorHealth;
  };
  profile?: ProfileSummary;
}

const perOperation = (before: number | undefined, after: number | undefined, count: number) =>
  before === undefined || after === undefined
    ? null
    : Math.round(((after - before) / count) * 1000) / 1000;

/** One cluster under one sync policy: warm-up, peak (closed loop), half of peak (open loop). */
async function runCluster(
  policy: "always" | "interval" | "never",
  pools: Pools,
): Promise<ClusterRun> {
  const folder = profileDir === undefined ? undefined : `${profileDir}/${policy}-${Date.now()}`;
  if (folder !== undefined) process.env["NEVERSTOP_NODE_CPU_PROF_DIR"] = folder;
  const startedAt = Date.now();
  const cluster = await startLocalCluster({
    nodes: 3,
    sync: policy,
    defaults: { n: 3, r: 2, w: 2 },
  });
  delete process.env["NEVERSTOP_NODE_CPU_PROF_DIR"];
  setGeneratorPriority(-10);
  let run: Omit<ClusterRun, "profile">;
  let warmedAfterMs: number;
  try {
    const target: Target = { kind: "cluster", ports: cluster.nodes.map((node) => node.httpPort) };
    const nodePids = cluster.nodes.map((node) => node.pid);
    const loopClients = makeClients(pools);
    const warm = await warmUp(target, loopClients, nodePids);
    warmedAfterMs = Date.now() - startedAt;
    const cpuBefore = cpuMsOf(nodePids);
    const peak = summarize(await closedLoop(target, phaseMs, loopClients), phaseMs);
    const cpuMsPerOp = perOperation(cpuBefore, cpuMsOf(nodePids), peak.requests);
    const halfRate = Math.max(1, Math.floor(peak.opsPerSecond / 2));
    const half = await openLoop(target, halfRate, phaseMs, loopClients);
    run = {
      warmUp: warm,
      peak,
      cpuMsPerOp,
      halfLoad: {
        rateOpsPerSecond: halfRate,
        ...summarize(half.samples, phaseMs),
        generator: half.generator,
      },
    };
  } finally {
    setGeneratorPriority(0);
    await cluster.stop();
  }
  // Each node writes its profile as it exits, which cluster.stop() waited for.
  return folder === undefined
    ? run
    : { ...run, profile: summarizeProfiles(readMainThreadProfiles(folder), 15, warmedAfterMs) };
}

async function main(): Promise<void> {
  const echo = await startEcho();
  const pools = new Pools(clients * 4);
  try {
    const echoTarget: Target = { kind: "echo", ports: [echo.port] };
    await httpCall(echo.port, { path: "/" });
    const runs: Partial<Record<typeof sync, ClusterRun>> = {};
    runs[sync] = await runCluster(sync, pools);
    const generatorPriority = setGeneratorPriority(-10);
    const echoClients = makeClients(pools);
    const echoWarmUp = await warmUp(echoTarget, echoClients, [echo.pid]);
    const echoCpuBefore = processCpuMs(echo.pid);
    const baseline = summarize(await closedLoop(echoTarget, phaseMs, echoClients), phaseMs);
    const echoCpuMsPerRequest = perOperation(
      echoCpuBefore,
      processCpuMs(echo.pid),
      baseline.requests,
    );
    setGeneratorPriority(0);
    const skeleton = process.env["BENCH_SKELETON"] === "0" ? undefined : await runSkeleton(pools);
    // `npm start` runs sync `always`: measured in the same run (group commit, issue 13).
    if (sync !== "always" && process.env["BENCH_ALWAYS"] !== "0") {
      runs.always = await runCluster("always", pools);
    }
    const main = runs[sync]!;
    const ratio = Math.round((main.peak.opsPerSecond / baseline.opsPerSecond) * 1000) / 1000;
    const ratioIfUnloaded = (run: ClusterRun) =>
      run.cpuMsPerOp === null || echoCpuMsPerRequest === null
        ? null
        : Math.round(((echoCpuMsPerRequest * 3) / run.cpuMsPerOp) * 1000) / 1000;
    const always = runs.always;
    const alwaysOverInterval =
      always === undefined || sync !== "interval"
        ? null
        : Math.round((always.peak.opsPerSecond / main.peak.opsPerSecond) * 1000) / 1000;
    const skeletonRatio =
      skeleton === undefined
        ? null
        : Math.round((skeleton.peak.opsPerSecond / baseline.opsPerSecond) * 1000) / 1000;
    const result = {
      benchmark: "cluster",
      setup: {
        nodes: 3,
        n: 3,
        r: 2,
        w: 2,
        sync,
        clients,
        phaseMs,
        mix: "50% put / 50% get",
        client: "bench-client.ts (undici dispatch), keep-alive",
        nodeProgram,
        generatorPriority,
      },
      warmUp: main.warmUp,
      peak: main.peak,
      echo: {
        warmUp: echoWarmUp,
        requests: baseline.requests,
        reqPerSecond: baseline.opsPerSecond,
        p50Ms: baseline.p50Ms,
        p99Ms: baseline.p99Ms,
      },
      ratioClusterToEcho: ratio,
      cpu: {
        clusterMsPerOp: main.cpuMsPerOp,
        echoMsPerRequest: echoCpuMsPerRequest,
        // The ratio a machine with a core free for every process would show.
        ratioIfUnloaded: ratioIfUnloaded(main),
        loadAverage: os.loadavg()[0],
      },
      halfLoad: main.halfLoad,
      skeleton:
        skeleton === undefined
          ? null
          : {
              about:
                "the cluster's shape without its logic: HTTP front, transport, 4 peer messages per op (skeleton-node.ts)",
              opsPerSecond: skeleton.peak.opsPerSecond,
              p50Ms: skeleton.peak.p50Ms,
              p99Ms: skeleton.peak.p99Ms,
              warmUp: skeleton.warmUp,
              cpuMsPerOp: skeleton.cpuMsPerOp,
              ratioSkeletonToEcho: skeletonRatio,
              ratioClusterToSkeleton:
                Math.round((main.peak.opsPerSecond / skeleton.peak.opsPerSecond) * 1000) / 1000,
              ...(skeleton.profile === undefined ? {} : { profile: skeleton.profile }),
            },
      ...(main.profile === undefined ? {} : { profile: main.profile }),
      syncAlways:
        always === undefined
          ? null
          : {
              warmUp: always.warmUp,
              peak: always.peak,
              ratioClusterToEcho:
                Math.round((always.peak.opsPerSecond / baseline.opsPerSecond) * 1000) / 1000,
              cpuMsPerOp: always.cpuMsPerOp,
              ratioIfUnloaded: ratioIfUnloaded(always),
              halfLoad: always.halfLoad,
              overInterval: alwaysOverInterval,
            },
      targets: {
        ratioAtLeast: 0.35,
        ratioMet: ratio >= 0.35,
        ratioThenAtLeast: 0.5,
        ratioThenMet: ratio >= 0.5,
        // Whether this run's ceiling (the skeleton: the same processes and messages with no
        // logic) reached each ratio target at all: a node can only come below its skeleton.
        ceilingRatio: skeletonRatio,
        ceilingReachesRatio: skeletonRatio === null ? null : skeletonRatio >= 0.35,
        ceilingReachesRatioThen: skeletonRatio === null ? null : skeletonRatio >= 0.5,
        alwaysOverIntervalAtLeast: 0.5,
        alwaysOverIntervalMet: alwaysOverInterval === null ? null : alwaysOverInterval >= 0.5,
        halfLoadP99MsBelow: 20,
        halfLoadP99Met: main.halfLoad.p99Ms < 20,
      },
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    pools.close();
    echo.stop();
  }
}

await main();
