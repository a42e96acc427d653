// A test run on the deterministic simulator (lesson 1: a seed is how you see the same
// concurrency twice; lesson 5: systems that never stop). One run is a pure function of its
// options: the cluster, the workload, the fault schedule drawn from the seed, and the seed.
// Run it twice and the histories and message traces are byte-identical.
//
// The timeline of a run of `timeMs`:
//   0 ............................ timeMs ........ +quiet ......... end
//   clients invoke operations      | no new ones; | final reads   | every final read done
//   faults come and go (faults.ts) | all healed   | (R = N)       |
//
// `SimulatedRun` advances in slices of virtual time so that a caller can show progress between
// slices (the CLI yields to the event loop there); nothing in the run depends on how it is
// sliced. No Node built-ins: this file runs in the browser too (store-writer.ts writes files).

import { Random } from "../../cluster/runtime/sim/random.ts";
import type { PolicyOverrides } from "../../cluster/core/policies.ts";
import {
  Simulation,
  type NodeFactory,
  type TraceEntry,
} from "../../cluster/runtime/sim/simulator.ts";
import { overallVerdict, runChecker, type CheckerResult } from "./checks.ts";
import { KvClient, retryPolicy, type RetryDecider } from "./client.ts";
import type { Validity } from "../checkers/history-view.ts";
import {
  faultValue,
  planFaults,
  SimulationFaultBackend,
  type FaultBackend,
  type Fault,
  type ScheduledFault,
} from "./faults.ts";
import { performRecorded, startClients } from "./generator.ts";
import type { Operation } from "./history.ts";
import { simulationPort, type KvPort } from "./port.ts";
import { HistoryRecorder } from "./recorder.ts";
import { clusterConfig, replayCommand, syncPolicy, type RunOptions } from "./run-options.ts";
import type { WorkloadInstance } from "./workload.ts";
import { workloads } from "./workloads/index.ts";

/** Quiet time between the end of the clients and faults and the final reads. */
export const quietMs = 1_000;
/** A run that has not finished its final reads this long after `timeMs` stops anyway. */
export const finalPhaseMaxMs = 60_000;
/** The run looks for its end every `gridMs` of virtual time (see `advance`). */
export const gridMs = 1_000;
/** A trace longer than this is cut (the summary says so). */
export const traceEntryCountMax = 2_000_000;

export interface ProgressSnapshot {
  /** Virtual (sim) or real (local) milliseconds since the start. */
  elapsedMs: number;
  totalMs: number;
  invoked: number;
  ok: number;
  fail: number;
  info: number;
  /** The fault in force, in words, or undefined. */
  fault: string | undefined;
}

export interface RunSummary {
  test: string;
  workload: string;
  backend: string;
  seed: number;
  verdict: Validity;
  checkers: Record<string, Validity>;
  operationCount: number;
  ok: number;
  fail: number;
  info: number;
  faultCount: number;
  messages: { sent: number; delivered: number; dropped: number; refused: number };
  simulatedMs: number;
  wallMs: number;
  /** The most frequent reasons for fail and info completions. */
  failureReasons: Record<string, number>;
  replayCommand: string;
}

export interface RunResult {
  options: RunOptions;
  summary: RunSummary;
  history: Operation[];
  /** The simulator's message trace ([timeMs, event, from, to, type]); empty for real runs. */
  trace: TraceEntry[];
  traceTruncated: boolean;
  schedule: ScheduledFault[];
  results: Record<string, CheckerResult>;
}

export function describeFault(fault: Fault): string {
  switch (fault.name) {
    case "partition":
      return `partition ${fault.description} (${fault.how})`;
    case "skew":
      return `skew ${fault.node} ${fault.offsetMs} ms`;
    case "flaky":
      return `flaky ${Math.round(fault.lossRate * 100)}% loss on ${fault.links.length} links`;
    case "slow":
      return `slow ${fault.latencyMs} ms on ${fault.links.length} links`;
    case "join":
    case "leave":
      return `${fault.name} ${fault.node} (via ${fault.via})`;
    case "none":
      return "none";
    default:
      return `${fault.name} ${fault.node}`;
  }
}

/**
 * The part of a run every backend shares: the fault schedule, the clients, the final reads and
 * the result. It acts only through the port (time, requests) and the fault backend, so the
 * simulator and real processes drive the very same code.
 */
export class RunDriver {
  readonly recorder: HistoryRecorder;
  readonly schedule: ScheduledFault[];
  activeFault: Fault | undefined;
  /** Every final read has completed: the run may end. */
  finalOperationsDone = false;
  private readonly workload: WorkloadInstance;

  constructor(
    readonly options: RunOptions,
    private readonly port: KvPort,
    private readonly backend: FaultBackend,
    /** Runs just before the final reads (the simulator heals every link there). */
    private readonly beforeFinal: () => void = () => {},
    /** What options cannot hold (functions): a lab's client retry policy (lab 07). */
    private readonly clientRuntime: { retryDecider?: RetryDecider | undefined } = {},
  ) {
    this.recorder = new HistoryRecorder(() => port.now());
    const root = new Random(`harness:${options.seed}`);
    this.schedule = planFaults(options.nemesis, options.timeMs, port.nodes, root.fork("nemesis"));
    const workload = workloads[options.workload]!;
    this.workload = workload.create({ keyCount: options.client.keyCount });
    this.scheduleFaults();
    this.startClients(root.fork("workload"), root.fork("clients"), workload.bucket);
  }

  progress(elapsedMs: number): ProgressSnapshot {
    const { counts } = this.recorder;
    return {
      elapsedMs: Math.min(elapsedMs, this.options.timeMs),
      totalMs: this.options.timeMs,
      invoked: counts.invoke,
      ok: counts.ok,
      fail: counts.fail,
      info: counts.info,
      fault: this.activeFault === undefined ? undefined : describeFault(this.activeFault),
    };
  }

  /** Runs the checkers on the history and gathers everything a report needs. */
  result(run: {
    messages: RunSummary["messages"];
    trace: TraceEntry[];
    simulatedMs: number;
    wallMs: number;
  }): RunResult {
    const { options, recorder } = this;
    const history = recorder.operations;
    const results: Record<string, CheckerResult> = {};
    for (const name of options.checkers) {
      results[name] = runChecker(name, history, {
        linearizableTimeoutMs: options.linearizableTimeoutMs,
        minimumAvailability: options.minimumAvailability,
      });
    }
    const summary: RunSummary = {
      test: options.name,
      workload: options.workload,
      backend: options.backend,
      seed: options.seed,
      verdict: overallVerdict(results),
      checkers: Object.fromEntries(
        Object.entries(results).map(([name, result]) => [name, result.valid]),
      ),
      operationCount: recorder.counts.invoke,
      ok: recorder.counts.ok,
      fail: recorder.counts.fail,
      info: recorder.counts.info,
      faultCount: this.schedule.length,
      messages: run.messages,
      simulatedMs: run.simulatedMs,
      wallMs: run.wallMs,
      failureReasons: Object.fromEntries(
        [...recorder.reasons].sort((a, b) => b[1] - a[1]).slice(0, 10),
      ),
      replayCommand: replayCommand(options),
    };
    return {
      options,
      summary,
      history,
      trace:
        run.trace.length > traceEntryCountMax ? run.trace.slice(0, traceEntryCountMax) : run.trace,
      traceTruncated: run.trace.length > traceEntryCountMax,
      schedule: this.schedule,
      results,
    };
  }

  /** Each fault: a nemesis invoke, the backend's start, an info once it is in force; the
   * same for its stop. A backend that answers at once (the simulator) records both at once. */
  private scheduleFaults(): void {
    const then = (f: string, maybePromise: void | Promise<void>, action: () => void): void => {
      if (!(maybePromise instanceof Promise)) return action();
      // A fault a real backend could not apply is recorded, not thrown: the run goes on.
      const failed = (error: unknown) => this.recorder.nemesis("info", f, { error: String(error) });
      void maybePromise.then(action, failed);
    };
    for (const { startMs, stopMs, fault } of this.schedule) {
      const f = fault.name;
      const value = faultValue(fault);
      this.port.after(startMs, () => {
        this.recorder.nemesis("invoke", `start-${f}`, value);
        this.activeFault = fault;
        then(`start-${f}`, this.backend.start(fault), () =>
          this.recorder.nemesis("info", `start-${f}`, value),
        );
      });
      this.port.after(stopMs, () => {
        this.recorder.nemesis("invoke", `stop-${f}`, value);
        then(`stop-${f}`, this.backend.stop(fault), () => {
          this.activeFault = undefined;
          this.recorder.nemesis("info", `stop-${f}`, value);
        });
      });
    }
  }

  private startClients(workloadRandom: Random, clientRandom: Random, bucket: string): void {
    const { client, timeMs, cluster } = this.options;
    const makeClient = (label: string, strategy = client.retry, useDecider = true) =>
      new KvClient(this.port, {
        bucket,
        requestTimeoutMs: client.requestTimeoutMs,
        retry: retryPolicy(strategy),
        random: clientRandom.fork(label),
        pw: cluster.pw,
        retryDecider: useDecider ? this.clientRuntime.retryDecider : undefined,
      });
    let clientsIdle = false;
    let quietReached = false;
    const clients = startClients({
      port: this.port,
      workload: this.workload,
      recorder: this.recorder,
      clientFor: (slot) => makeClient(`client:${slot}`),
      concurrency: client.concurrency,
      ratePerSecond: client.ratePerSecond,
      stopAtNs: timeMs * 1_000_000,
      random: workloadRandom,
      n: cluster.n,
      onIdle: () => {
        clientsIdle = true;
        if (quietReached)
          this.startFinalOperations(clients.nextUnusedProcess(), (label, strategy) =>
            makeClient(label, strategy, false),
          );
      },
    });
    this.port.after(timeMs + quietMs, () => {
      quietReached = true;
      // The final reads use the harness's own retries, whatever a lab's policy does.
      if (clientsIdle)
        this.startFinalOperations(clients.nextUnusedProcess(), (label, strategy) =>
          makeClient(label, strategy, false),
        );
    });
  }

  /** Final reads, each as a fresh process, retried on definite failure; the run ends after. */
  private startFinalOperations(
    firstProcess: number,
    makeClient: (label: string, strategy: "retry-on-definite-failure") => KvClient,
  ): void {
    this.beforeFinal();
    const finals = this.workload.finalOperations(this.port.nodes);
    let remaining = finals.length;
    if (remaining === 0) this.finalOperationsDone = true;
    finals.forEach(({ operation, node }, index) => {
      const context = {
        workload: this.workload,
        recorder: this.recorder,
        n: this.options.cluster.n,
      };
      const client = makeClient(`final:${index}`, "retry-on-definite-failure");
      performRecorded(context, client, node, firstProcess + index, operation, () => {
        remaining -= 1;
        if (remaining === 0) this.finalOperationsDone = true;
      });
    });
  }
}

/** A run on the deterministic simulator, advanced in slices of virtual time. */
export class SimulatedRun {
  readonly simulation: Simulation;
  readonly driver: RunDriver;
  private finished = false;

  /** `runtime` holds what cannot be written in options (functions): the policies loaded from
   * `options.policies` (the CLI loads the file), a node factory a test builds, or a lab's
   * client retry policy (lab 07). */
  constructor(
    readonly options: RunOptions,
    runtime: {
      policies?: PolicyOverrides | undefined;
      nodeFactory?: NodeFactory | undefined;
      retryDecider?: RetryDecider | undefined;
    } = {},
  ) {
    this.simulation = new Simulation({
      config: clusterConfig(options),
      seed: options.seed,
      sync: syncPolicy(options.cluster.sync),
      trace: options.trace,
      policies: runtime.policies,
      nodeFactory: runtime.nodeFactory,
    });
    const simulation = this.simulation;
    this.driver = new RunDriver(
      options,
      simulationPort(simulation),
      new SimulationFaultBackend(simulation),
      () => simulation.links.heal(),
      { retryDecider: runtime.retryDecider },
    );
  }

  /**
   * Runs about `sliceMs` more of virtual time; false once the run is over. The simulation always
   * stops on a fixed grid of `gridMs` and looks for the end there, so where it ends (and so the
   * trace and the message counts) does not depend on how callers slice it.
   */
  advance(sliceMs: number): boolean {
    const endMs = this.options.timeMs + quietMs + finalPhaseMaxMs;
    const targetMs = this.simulation.now + sliceMs;
    while (!this.finished && this.simulation.now < targetMs) {
      const nextGridMs = (Math.floor(this.simulation.now / gridMs) + 1) * gridMs;
      this.simulation.runUntil(Math.min(endMs, nextGridMs));
      if (this.driver.finalOperationsDone || this.simulation.now >= endMs) this.finished = true;
    }
    return !this.finished;
  }

  progress(): ProgressSnapshot {
    return this.driver.progress(this.simulation.now);
  }

  result(wallMs: number): RunResult {
    const simulation = this.simulation;
    return this.driver.result({
      messages: { ...simulation.messageCounts },
      trace: simulation.trace,
      simulatedMs: simulation.now,
      wallMs,
    });
  }
}

/** Runs a whole simulated test synchronously (tests, the browser). */
export function runSimulatedTest(
  options: RunOptions,
  wallClock: () => number = () => globalThis.performance.now(),
  runtime: ConstructorParameters<typeof SimulatedRun>[1] = {},
): RunResult {
  const startedMs = wallClock();
  const run = new SimulatedRun(options, runtime);
  while (run.advance(10_000)) {
    // Each slice runs 10 s of virtual time.
  }
  return run.result(wallClock() - startedMs);
}
