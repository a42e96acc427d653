// Load regulation when the CPU, not the network, is the bottleneck (lesson 9, "capacity planning
// with back pressure"). The node's logic refuses a request when it already coordinates
// `requestsInFlightMax` of them, but on a saturated CPU a request waits before the logic ever
// sees it: in the socket, in the HTTP parser, in the event loop's queue behind every other
// request's callbacks. A budget counted inside the node cannot see that wait, so the HTTP layer
// measures it itself and refuses early, with 503 overload and Retry-After, while a refusal is
// still cheap and the requests it does accept can still be served quickly.
//
// The measure is event-loop delay: a timer asks to run every `sampleIntervalMs` and records how
// late it ran. An idle loop runs it on time; a loop with a standing queue of work runs it late
// by about as long as any new request will wait. Like CoDel (Nichols and Jacobson, 2012) it
// reacts to delay that persists, not to a single slow tick: the estimate is the smallest delay
// seen over the last `windowMs` (a garbage-collection pause is one late tick; a standing queue
// makes every tick late). Worked example, target 4 ms: ticks late by 1, 9, 2 ms -> estimate 1 ms,
// admit everything; ticks late by 12, 9, 15 ms -> estimate 9 ms, refuse with probability
// (9 - 4) / 4 capped at 1, i.e. every new request until the queue drains.
//
// A late timer alone does not prove this node is the bottleneck: on a machine shared with busier
// processes the node may simply not be scheduled, while it has nothing queued at all. So the
// regulator refuses only while the loop is also busy: its utilization (the share of time it
// spent running callbacks rather than waiting for input, Node's eventLoopUtilization) over the
// window is at least `utilizationMin`. An idle node on a loaded machine admits everything.
//
// The HTTP layer's own queue counts too: requests it has accepted and not yet answered. Past
// `pendingSoftMax` of them, new ones are refused while the loop is busy and late at all.

import { performance } from "node:perf_hooks";
import type { EventLoopUtilization } from "node:perf_hooks";

export interface LoadRegulatorLimits {
  /** How often the event-loop timer asks to run. */
  sampleIntervalMs: number;
  /** The delay estimate is the smallest delay seen in this window. */
  windowMs: number;
  /** Delay the loop may carry before requests are refused; 0 turns regulation off. */
  delayTargetMs: number;
  /** Accepted requests not yet answered past which any delay at all refuses new ones. */
  pendingSoftMax: number;
  /** Event-loop utilization (0..1) over the window below which nothing is refused. */
  utilizationMin: number;
}

export const defaultLoadRegulatorLimits: LoadRegulatorLimits = {
  sampleIntervalMs: 5,
  windowMs: 50,
  delayTargetMs: 4,
  pendingSoftMax: 64,
  utilizationMin: 0.8,
};

export class LoadRegulator {
  readonly limits: LoadRegulatorLimits;
  private timer: NodeJS.Timeout | undefined;
  /** Ring buffer of recent delays, one per sample. */
  private readonly delays: number[];
  /** Ring buffer of event-loop utilization between consecutive samples. */
  private readonly utilizations: number[];
  private next = 0;
  private expectedAtMs = 0;
  private estimateMs = 0;
  private utilizationEstimate = 0;
  private lastUtilization: EventLoopUtilization | undefined;
  /** Requests refused by this regulator since start. */
  refusals = 0;

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
    this.delays = new Array<number>(Math.ceil(windowMs / sampleIntervalMs)).fill(0);
    this.utilizations = new Array<number>(this.delays.length).fill(0);
  }

  /** Starts sampling; unref'd, so it never keeps a process alive. */
  start(): void {
    if (this.timer !== undefined || this.limits.delayTargetMs === 0) return;
    this.expectedAtMs = this.nowMs() + this.limits.sampleIntervalMs;
    this.lastUtilization = performance.eventLoopUtilization();
    this.timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const utilization = performance.eventLoopUtilization(now, this.lastUtilization).utilization;
      this.lastUtilization = now;
      this.sample(this.nowMs(), utilization);
    }, this.limits.sampleIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records one tick of the timer, run at `atMs`, with the loop's utilization since the last
   * one; public for tests. */
  sample(atMs: number, utilization: number): void {
    const delayMs = Math.max(0, atMs - this.expectedAtMs);
    this.expectedAtMs = atMs + this.limits.sampleIntervalMs;
    this.delays[this.next] = delayMs;
    this.utilizations[this.next] = utilization;
    this.next = (this.next + 1) % this.delays.length;
    this.estimateMs = Math.min(...this.delays);
    let sum = 0;
    for (const value of this.utilizations) sum += value;
    this.utilizationEstimate = sum / this.utilizations.length;
  }

  /** The loop's mean utilization over the window (0..1). */
  get utilization(): number {
    return this.utilizationEstimate;
  }

  /** The event-loop delay the loop has carried through the whole window. */
  get delayMs(): number {
    return this.estimateMs;
  }

  /** Whether to take one more client request, given how many wait for an answer already. */
  admit(pendingRequests: number): boolean {
    const { delayTargetMs, pendingSoftMax } = this.limits;
    if (delayTargetMs === 0 || this.utilizationEstimate < this.limits.utilizationMin) return true;
    const delayMs = this.estimateMs;
    if (pendingRequests >= pendingSoftMax && delayMs > delayTargetMs / 2) return this.refuse();
    if (delayMs <= delayTargetMs) return true;
    const refuseProbability = Math.min(1, (delayMs - delayTargetMs) / delayTargetMs);
    return this.random() < refuseProbability ? this.refuse() : true;
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
