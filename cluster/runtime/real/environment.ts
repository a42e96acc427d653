// The real Environment (lesson 1, "the world is concurrent"): the one place where the node's
// I/O-free logic meets the operating system's clock, timers, randomness, sockets and disk. The
// simulator implements the same interface with virtual time and simulated links.
//
// The clock can be skewed on purpose (`skewMs`, set through the node's admin route) so that the
// clock nemesis and lesson 6 can show last-write-wins losing updates; it never changes the
// machine's clock.

import type { Logger } from "pino";
import type {
  ClientResponse,
  Environment,
  NodeEvent,
  NodeId,
  PeerMessage,
  TimerId,
  TimerPayload,
} from "../../core/types.ts";
import type { KeyValueStore } from "../../storage/store.ts";

/** A clock skew beyond a day is a typo, not an experiment. */
export const clockSkewMaxMs = 24 * 60 * 60 * 1000;
/** Timers outstanding at once: a node that asks for more has a leak. */
export const timerCountMax = 1_000_000;

export interface RealEnvironmentOptions {
  store: KeyValueStore;
  logger: Logger;
  send(to: NodeId, message: PeerMessage): void;
  /** Hands the core's answer to whoever waits for `requestId` (the HTTP layer). */
  reply(requestId: string, response: ClientResponse): void;
}

export class RealEnvironment implements Environment {
  readonly store: KeyValueStore;
  private skew = 0;
  private nextTimerId = 1;
  private readonly timers = new Map<TimerId, NodeJS.Timeout>();
  private deliver: ((event: NodeEvent) => void) | undefined;

  constructor(private readonly options: RealEnvironmentOptions) {
    this.store = options.store;
  }

  /** Connects timer events to the node; called once, right after the node is built. */
  attach(deliver: (event: NodeEvent) => void): void {
    if (this.deliver !== undefined) throw new Error("RealEnvironment.attach: already attached");
    this.deliver = deliver;
  }

  get skewMs(): number {
    return this.skew;
  }

  set skewMs(value: number) {
    if (!Number.isInteger(value) || Math.abs(value) > clockSkewMaxMs) {
      throw new RangeError(
        `Expected \`skewMs\` to be an integer from -${clockSkewMaxMs} to ${clockSkewMaxMs}, got ${value}`,
      );
    }
    this.skew = value;
    this.log("clock-skew-set", { skewMs: value });
  }

  now(): number {
    return Date.now() + this.skew;
  }

  random(): number {
    return Math.random();
  }

  send(to: NodeId, message: PeerMessage): void {
    this.options.send(to, message);
  }

  setTimer(afterMs: number, timer: TimerPayload): TimerId {
    if (this.timers.size >= timerCountMax) {
      throw new Error(`RealEnvironment.setTimer: more than ${timerCountMax} timers outstanding`);
    }
    const id = this.nextTimerId++;
    const handle = setTimeout(
      () => {
        this.timers.delete(id);
        this.deliver?.({ type: "timer", timer });
      },
      Math.max(0, afterMs),
    );
    this.timers.set(id, handle);
    return id;
  }

  cancelTimer(id: TimerId): void {
    const handle = this.timers.get(id);
    if (handle === undefined) return;
    clearTimeout(handle);
    this.timers.delete(id);
  }

  /** Cancels every timer: the node is shutting down. */
  cancelAllTimers(): void {
    for (const handle of this.timers.values()) clearTimeout(handle);
    this.timers.clear();
  }

  reply(requestId: string, response: ClientResponse): void {
    this.options.reply(requestId, response);
  }

  log(event: string, fields?: Record<string, unknown>): void {
    this.options.logger.info({ event, ...fields });
  }
}
