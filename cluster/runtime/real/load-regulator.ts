// Load regulation when the CPU, not the network, is the bottleneck (lesson 9, "capacity planning
// with back pressure"). The node's logic refuses a request when it already coordinates
// `requestsInFlightMax` of them, but on a saturated CPU a request waits before the logic ever
// sees it: in the socket, in the HTTP parser, in the event loop's queue behind every other
// request's callbacks. A budget counted inside the node cannot see that wait, so the HTTP layer
// measures it itself and refuses early, with 503 overload and Retry-After, while a refusal is
// still cheap and the requests it does accept can still be served quickly.
//
// The measure is event-loop delay, sampled every `sampleIntervalMs` as the larger of two gaps:
// how late the sampling timer fired (a process that waited for a core, on a machine with more
// runnable processes than cores, fires late), and how long the rest of that loop turn took, from
// the timer to a setImmediate callback (Node's phases: timers, poll for I/O, check), which is how
// long input that arrived just then waits on a saturated loop. Like CoDel (Nichols and
// Jacobson, 2012) the regulator reacts to delay that persists, not to one slow turn: the
// estimate is the median over the last `windowMs` (a garbage-collection pause is one slow
// sample; Node re-arms interval timers from the loop's cached clock, so a late tick can be
// followed by an early one; a standing queue makes most samples slow). Worked example, target
// 4 ms: samples of 1, 9, 2 ms -> estimate 2 ms, admit everything; 12, 9, 15 ms -> estimate
// 12 ms, refuse with probability (12 - 4) / 4 capped at 1, i.e. every new request until the
// queue drains.
//
// A late timer alone does not prove this node has work queued: on a machine shared with busier
// processes the node may simply not be scheduled while it has nothing to do. So the regulator
// refuses only while the node is also busy: its loop's utilization (the share of time spent
// running callbacks rather than waiting for input, Node's eventLoopUtilization) over the window
// is at least `utilizationMin`, or at least `pendingBusyMin` requests wait for an answer. The
// second matters on an oversubscribed machine: time a process waits for a core after input
// arrives counts as idle in the utilization, so a starved node looks half idle while its
// requests queue. A node with nothing pending on a loaded machine admits everything.
//
// The HTTP layer's own queue counts too: requests it has accepted and not yet answered. Past
// `pendingSoftMax` of them, new ones are refused while the loop is busy and late at all.
//
// Event-loop delay alone reacts late: it is a median over a window, and by the time a standing
// delay shows, a burst has already filled every connection with work the node accepted (in
// bench:overload the first 800 ms at twice capacity answered in 300-500 ms). So the regulator also
// caps how many client requests the node takes on at once, and adapts that cap the way TCP adapts
// its window (AIMD; TCP Vegas and Netflix's concurrency-limits compare latency with a baseline
// the same way): after every `answersPerAdjustment` answers, if their median time inside the node
// exceeds twice the baseline plus `latencyTargetMs` (the baseline is the quickest answer of the
// last `baselineAdjustments` windows: what a request costs with no queue, network round trips to
// replicas included; twice it, because a request that waits behind one other as long as itself
// is no standing queue), the cap is multiplied by `decreaseFactor`; if they were quick and the cap
// was reached meanwhile (it is what holds the node back), it grows by one. Little's law makes
// this self-correcting: a node that holds at most L requests, each served in W ms, serves L / W
// per ms, so when the CPU it gets shrinks (W grows), the cap shrinks and the requests it takes
// still wait about W, while the excess is refused at once, which costs the node a few tens of
// microseconds. Worked example, cap 16, target 4 ms, baseline 1 ms: 16 answers, median 9 ms
// (> 2 x 1 + 4) -> cap 12.8 (refuse the 13th concurrent request); 16 answers, median 2 ms, while
// 12 were in flight -> cap 13.8. With links of 50 ms to the replicas the baseline is 50 ms, and
// a median of 60 ms leaves the cap alone: the wait is the network's, not a queue here.
//
// Neither event-loop delay nor answer times see the queue that grows when the machine, not the
// node, is saturated: the kernel's run queue. A request that arrives while the node's event loop
// is ready to run but has no core sits in the socket until the loop gets one, and the node never
// times that wait; on two cores shared by three nodes and their clients it is most of what an
// accepted request waits (bench:overload's sharedCpu: the loops waited for a core half the
// overload phase while the answers' median looked fine). Linux counts that wait for every thread
// (/proc/self/schedstat: time on a core, time ready but waiting, slices), so every sample also
// reads how long the loop waited since the last one, and while the window's mean share exceeds
// `coreWaitBudget` the cap shrinks by `decreaseFactor`, at most once per window (the mean lags a
// window behind; shrinking at every adjustment would overshoot), and does not grow. Worked
// example, budget 0.1: over 50 ms the loop waited 15 ms for a core (0.3) -> cap 10 becomes 8,
// a window later, still 0.3, 6.4; once the share is back under 0.1 and the cap held the node
// back, it grows again by one request per adjustment, or a quarter of itself below 4. Whoever
// takes the cores (this node's own refusals, its peers, the clients, other programs), a request
// waits the same, so a node on a crowded machine sheds load even when it is not the one crowding
// it: one more reason the regulator is off by default. Caps may be fractional: 2.4 takes a
// third request with probability 0.4, and below 1 an idle node takes a request with that
// probability, a rate rather than a count, because a CPU-bound node serves one request in about
// a millisecond, so one request in flight more or less is a large step.
//
// A refusal is cheap only in a batch: in a virtual machine a wakeup of the process costs 60-100
// us of CPU, and a request that arrives alone wakes the node for 25 us of work. With
// `coalesceMs` above 0, a node that refused anything since its last sample sleeps its loop that
// long after the sample (Atomics.wait), so the requests that arrive meanwhile wait in their
// sockets and the next poll reads them all in one wakeup, as a network card's interrupt
// moderation does. It trades latency (up to coalesceMs at each of a request's hops) for CPU
// (nodes' CPU per request 0.26-0.28 ms against 0.32-0.42 at 2 ms, alternated runs at load 5-6),
// so it pays only while refusals themselves crowd the cores; off by default.

import { closeSync, openSync, readSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { EventLoopUtilization } from "node:perf_hooks";

export interface LoadRegulatorLimits {
  /** How often the event-loop timer asks to run. */
  sampleIntervalMs: number;
  /** The delay estimate is the median of the samples in this window. */
  windowMs: number;
  /** Delay the loop may carry before requests are refused; 0 turns regulation off. */
  delayTargetMs: number;
  /** Accepted requests not yet answered past which any delay at all refuses new ones. */
  pendingSoftMax: number;
  /** Event-loop utilization (0..1) over the window from which the node counts as busy. */
  utilizationMin: number;
  /** Unanswered requests from which the node counts as busy whatever its utilization. */
  pendingBusyMin: number;
  /** How much longer than twice the baseline the median answer may take before the cap
   * shrinks; 0: the same as `delayTargetMs`. */
  latencyTargetMs: number;
  /** Windows of answers whose quickest answer sets the baseline. */
  baselineAdjustments: number;
  /** Client requests the node takes on at once, at first and at least and at most. */
  concurrencyInitial: number;
  concurrencyMin: number;
  concurrencyMax: number;
  /** Answers between two adjustments of the cap. */
  answersPerAdjustment: number;
  /** What the cap is multiplied by when answers were slow (0..1). */
  decreaseFactor: number;
  /** Share of wall time (0..1) the event loop may spend ready to run but waiting for a core,
   * averaged over the window, before the cap shrinks; 0: not judged. */
  coreWaitBudget: number;
  /** While it refuses, how long the loop sleeps at every sample so that arriving requests gather
   * in the sockets and the next poll takes them in one wakeup; 0: never. */
  coalesceMs: number;
}

export const defaultLoadRegulatorLimits: LoadRegulatorLimits = {
  sampleIntervalMs: 5,
  windowMs: 50,
  delayTargetMs: 4,
  pendingSoftMax: 64,
  utilizationMin: 0.8,
  pendingBusyMin: 8,
  latencyTargetMs: 0,
  baselineAdjustments: 64,
  concurrencyInitial: 16,
  concurrencyMin: 2,
  concurrencyMax: 512,
  answersPerAdjustment: 16,
  decreaseFactor: 0.8,
  coreWaitBudget: 0,
  coalesceMs: 0,
};

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** How long this process's main thread (the event loop) has waited, ready to run, for a core,
 * in ms since it started: the second field of /proc/self/schedstat (Linux), read with one
 * pread on a descriptor kept open (2-3 us). Undefined where there is no such file. */
export function openCoreWaitReader(): { read(): number; close(): void } | undefined {
  let descriptor: number;
  try {
    descriptor = openSync("/proc/self/schedstat", "r");
  } catch {
    return undefined;
  }
  const buffer = Buffer.alloc(128);
  return {
    read() {
      const length = readSync(descriptor, buffer, 0, buffer.length, 0);
      return Number(buffer.toString("latin1", 0, length).split(" ")[1]) / 1e6;
    },
    close: () => closeSync(descriptor),
  };
}

export class LoadRegulator {
  readonly limits: LoadRegulatorLimits;
  private timer: NodeJS.Timeout | undefined;
  /** Ring buffer of recent delays, one per sample. */
  private readonly delays: number[];
  /** Ring buffer of event-loop utilization between consecutive samples. */
  private readonly utilizations: number[];
  private next = 0;
  private estimateMs = 0;
  private previousTickMs: number | undefined;
  private utilizationEstimate = 0;
  private lastUtilization: EventLoopUtilization | undefined;
  /** Requests refused by this regulator since start... */
  refusals = 0;
  /** ...of which by the concurrency cap (the rest by event-loop delay). */
  capRefusals = 0;
  /** How many client requests the node takes on at once now (AIMD; see the header). */
  concurrencyLimit: number;
  /** This window's answer times so far. */
  private readonly windowAnswersMs: number[] = [];
  /** The quickest answer of each recent window (ring buffer): the baseline is their minimum. */
  private readonly windowMinimaMs: number[];
  private nextWindow = 0;
  private limitReached = false;
  /** Ring buffer of the share of each sample interval the loop waited for a core. */
  private readonly coreWaits: number[];
  private coreWaitEstimate = 0;
  private coreWaitReader: ReturnType<typeof openCoreWaitReader>;
  private previousCoreWaitMs: number | undefined;
  private lastCoreWaitDecreaseMs = Number.NEGATIVE_INFINITY;

  constructor(
    limits: Partial<LoadRegulatorLimits> = {},
    private readonly random: () => number = Math.random,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.limits = { ...defaultLoadRegulatorLimits, ...limits };
    const { sampleIntervalMs, windowMs, delayTargetMs } = this.limits;
    if (!(sampleIntervalMs >= 1 && windowMs >= sampleIntervalMs && delayTargetMs >= 0)) {
      throw new RangeError(
        `Expected 1 <= sampleIntervalMs <= windowMs and delayTargetMs >= 0, got ${sampleIntervalMs}, ${windowMs}, ${delayTargetMs}`,
      );
    }
    const { concurrencyMin, concurrencyInitial, concurrencyMax, decreaseFactor } = this.limits;
    if (!(
      concurrencyMin > 0 &&
      concurrencyMin <= concurrencyInitial &&
      concurrencyInitial <= concurrencyMax &&
      decreaseFactor > 0 &&
      decreaseFactor < 1
    )) {
      throw new RangeError(
        `Expected 0 < concurrencyMin <= concurrencyInitial <= concurrencyMax and 0 < decreaseFactor < 1, got ${concurrencyMin}, ${concurrencyInitial}, ${concurrencyMax}, ${decreaseFactor}`,
      );
    }
    this.concurrencyLimit = concurrencyInitial;
    this.windowMinimaMs = new Array<number>(Math.max(1, this.limits.baselineAdjustments)).fill(
      Number.POSITIVE_INFINITY,
    );
    this.delays = new Array<number>(Math.ceil(windowMs / sampleIntervalMs)).fill(0);
    this.utilizations = new Array<number>(this.delays.length).fill(0);
    this.coreWaits = new Array<number>(this.delays.length).fill(0);
  }

  /** Starts sampling; unref'd, so it never keeps a process alive. */
  start(): void {
    if (this.timer !== undefined || this.limits.delayTargetMs === 0) return;
    this.lastUtilization = performance.eventLoopUtilization();
    if (this.limits.coreWaitBudget > 0) this.coreWaitReader = openCoreWaitReader();
    this.timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const utilization = performance.eventLoopUtilization(now, this.lastUtilization).utilization;
      this.lastUtilization = now;
      const startedMs = this.nowMs();
      // A process that waited for a core fires its timer late: that wait is queueing too.
      const lateMs =
        this.previousTickMs === undefined
          ? 0
          : startedMs - this.previousTickMs - this.limits.sampleIntervalMs;
      const coreWaitFraction = this.coreWaitSince(startedMs);
      this.previousTickMs = startedMs;
      setImmediate(() => {
        this.sample(Math.max(lateMs, this.nowMs() - startedMs), utilization, coreWaitFraction);
        // After the sample, which must not count this sleep as the loop's delay.
        const sleepMs = this.coalesceMs();
        if (sleepMs > 0) Atomics.wait(sleeper, 0, 0, sleepMs);
      });
    }, this.limits.sampleIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.coreWaitReader?.close();
    this.coreWaitReader = undefined;
  }

  private refusalsAtLastCoalesce = 0;

  /** How long the loop sleeps after this sample: `coalesceMs` if it refused a request since the
   * last sample, else 0. Public for tests. */
  coalesceMs(): number {
    const refusing = this.refusals > this.refusalsAtLastCoalesce;
    this.refusalsAtLastCoalesce = this.refusals;
    return refusing ? Math.max(0, this.limits.coalesceMs) : 0;
  }

  /** The share of the time since the last tick the loop spent waiting for a core (0 without
   * /proc/self/schedstat). */
  private coreWaitSince(nowMs: number): number {
    if (this.coreWaitReader === undefined) return 0;
    const waitedMs = this.coreWaitReader.read();
    const previousMs = this.previousCoreWaitMs;
    this.previousCoreWaitMs = waitedMs;
    if (previousMs === undefined || this.previousTickMs === undefined) return 0;
    const elapsedMs = nowMs - this.previousTickMs;
    return elapsedMs <= 0 ? 0 : Math.min(1, Math.max(0, (waitedMs - previousMs) / elapsedMs));
  }

  /** Records one sample: the rest of a loop turn took `delayMs`, and the loop was `utilization`
   * busy since the last sample. Public for tests. */
  sample(delayMs: number, utilization: number, coreWaitFraction = 0): void {
    this.delays[this.next] = Math.max(0, delayMs);
    this.utilizations[this.next] = utilization;
    this.coreWaits[this.next] = coreWaitFraction;
    this.next = (this.next + 1) % this.delays.length;
    // The median: one slow turn (a GC pause) or one early tick cannot move it; a standing queue
    // makes most samples slow.
    this.estimateMs = [...this.delays].sort((left, right) => left - right)[
      this.delays.length >> 1
    ]!;
    let sum = 0;
    let waitSum = 0;
    for (let index = 0; index < this.utilizations.length; index++) {
      sum += this.utilizations[index]!;
      waitSum += this.coreWaits[index]!;
    }
    this.utilizationEstimate = sum / this.utilizations.length;
    this.coreWaitEstimate = waitSum / this.coreWaits.length;
  }

  /** The share of the window the loop spent ready to run but waiting for a core (0..1). */
  get coreWait(): number {
    return this.coreWaitEstimate;
  }

  /** The loop's mean utilization over the window (0..1). */
  get utilization(): number {
    return this.utilizationEstimate;
  }

  /** The event-loop delay the loop has carried through the whole window. */
  get delayMs(): number {
    return this.estimateMs;
  }

  /** Whether the regulator is on (a delay target above 0). */
  get enabled(): boolean {
    return this.limits.delayTargetMs > 0;
  }

  /** Whether to take one more client request, given how many wait for an answer already. */
  admit(pendingRequests: number): boolean {
    const { delayTargetMs, pendingSoftMax } = this.limits;
    if (delayTargetMs === 0) return true;
    // A cap of 2.4 takes a third request with probability 0.4: at low caps a whole request
    // more or less is a large step in the rate admitted.
    const cap = this.concurrencyLimit;
    const whole = Math.floor(cap);
    if (
      pendingRequests >= Math.ceil(cap) ||
      (pendingRequests >= whole && this.random() >= cap - whole)
    ) {
      this.limitReached = true;
      this.capRefusals += 1;
      return this.refuse();
    }
    const busy =
      this.utilizationEstimate >= this.limits.utilizationMin ||
      pendingRequests >= this.limits.pendingBusyMin;
    if (!busy) return true;
    const delayMs = this.estimateMs;
    if (pendingRequests >= pendingSoftMax && delayMs > delayTargetMs / 2) return this.refuse();
    if (delayMs <= delayTargetMs) return true;
    const refuseProbability = Math.min(1, (delayMs - delayTargetMs) / delayTargetMs);
    return this.random() < refuseProbability ? this.refuse() : true;
  }

  /** A request the node took on was answered after `latencyMs` in the node: adjusts the cap. */
  answered(latencyMs: number): void {
    if (!this.enabled) return;
    this.windowAnswersMs.push(Math.max(0, latencyMs));
    const { answersPerAdjustment, concurrencyMin, concurrencyMax, decreaseFactor } = this.limits;
    if (this.windowAnswersMs.length < answersPerAdjustment) return;
    const sorted = this.windowAnswersMs.sort((left, right) => left - right);
    this.windowMinimaMs[this.nextWindow] = sorted[0]!;
    this.nextWindow = (this.nextWindow + 1) % this.windowMinimaMs.length;
    const targetMs = this.limits.latencyTargetMs || this.limits.delayTargetMs;
    const medianMs = sorted[sorted.length >> 1]!;
    const { coreWaitBudget, windowMs } = this.limits;
    const waiting = coreWaitBudget > 0 && this.coreWaitEstimate > coreWaitBudget;
    if (medianMs > 2 * this.baselineMs + targetMs) {
      this.concurrencyLimit = Math.max(concurrencyMin, this.concurrencyLimit * decreaseFactor);
    } else if (waiting) {
      // The wait estimate lags by a window: shrink once per window, not on every adjustment.
      const nowMs = this.nowMs();
      if (nowMs - this.lastCoreWaitDecreaseMs >= windowMs) {
        this.lastCoreWaitDecreaseMs = nowMs;
        this.concurrencyLimit = Math.max(concurrencyMin, this.concurrencyLimit * decreaseFactor);
      }
    } else if (this.limitReached) {
      // One request more per adjustment, or a quarter more below a cap of 4: at a cap of 0.5, a
      // whole request more would triple the rate admitted.
      const step = Math.min(1, this.concurrencyLimit / 4);
      this.concurrencyLimit = Math.min(concurrencyMax, this.concurrencyLimit + step);
    }
    this.windowAnswersMs.length = 0;
    this.limitReached = false;
  }

  /** What an answer costs with no queue: the quickest of the recent windows (0 before any). */
  get baselineMs(): number {
    const baseline = Math.min(...this.windowMinimaMs);
    return Number.isFinite(baseline) ? baseline : 0;
  }

  /** How long a refused client should wait: about as long as the queue needs to drain. */
  get retryAfterMs(): number {
    return Math.max(100, Math.round(this.estimateMs * 20));
  }

  private refuse(): false {
    this.refusals += 1;
    return false;
  }
}
