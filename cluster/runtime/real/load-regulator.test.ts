// The load regulator (lesson 9, back pressure under CPU saturation), driven by hand: samples of
// event-loop delay and utilization in, admit or refuse out. No clocks, no timing assertions.

import { describe, expect, it } from "vitest";
import { LoadRegulator } from "./load-regulator.ts";

/** Ticks every 5 ms, each `delayMs` late, with the loop `utilization` busy. */
function feed(regulator: LoadRegulator, ticks: number, delayMs: number, utilization: number) {
  let atMs = (regulator as unknown as { expectedAtMs: number }).expectedAtMs;
  for (let tick = 0; tick < ticks; tick++) {
    atMs += delayMs;
    regulator.sample(atMs, utilization);
    atMs += 5;
  }
}

describe("LoadRegulator", () => {
  it("admits everything while the loop keeps up", () => {
    const regulator = new LoadRegulator({ delayTargetMs: 4 }, () => 0);
    feed(regulator, 20, 1, 1);
    expect(regulator.delayMs).toBe(1);
    expect(regulator.admit(0)).toBe(true);
    expect(regulator.refusals).toBe(0);
  });

  it("refuses while a busy loop carries a standing delay, in proportion to it", () => {
    const always = new LoadRegulator({ delayTargetMs: 4 }, () => 0.99);
    feed(always, 20, 12, 1);
    expect(always.delayMs).toBe(12);
    expect(always.admit(0)).toBe(false); // (12 - 4) / 4 >= 1: refuse every request
    const half = new LoadRegulator({ delayTargetMs: 4 }, () => 0.4);
    feed(half, 20, 6, 1); // (6 - 4) / 4 = 0.5
    expect(half.admit(0)).toBe(false); // draw 0.4 < 0.5
    const lucky = new LoadRegulator({ delayTargetMs: 4 }, () => 0.6);
    feed(lucky, 20, 6, 1);
    expect(lucky.admit(0)).toBe(true); // draw 0.6 >= 0.5
    expect(always.retryAfterMs).toBeGreaterThanOrEqual(100);
  });

  it("ignores one late tick (a GC pause): only delay through the whole window counts", () => {
    const regulator = new LoadRegulator({ delayTargetMs: 4 }, () => 0);
    feed(regulator, 20, 0, 1);
    feed(regulator, 1, 50, 1);
    expect(regulator.delayMs).toBe(0);
    expect(regulator.admit(0)).toBe(true);
  });

  it("admits when the loop is late but idle: the machine is busy, not this node", () => {
    const regulator = new LoadRegulator({ delayTargetMs: 4 }, () => 0);
    feed(regulator, 20, 20, 0.1);
    expect(regulator.delayMs).toBe(20);
    expect(regulator.admit(0)).toBe(true);
  });

  it("refuses on a long queue of unanswered requests once the loop is late at all", () => {
    const regulator = new LoadRegulator({ delayTargetMs: 4, pendingSoftMax: 64 }, () => 0.99);
    feed(regulator, 20, 3, 1);
    expect(regulator.admit(10)).toBe(true);
    expect(regulator.admit(64)).toBe(false);
    expect(regulator.refusals).toBe(1);
  });

  it("is off with a target of 0, and refuses impossible limits with one line", () => {
    const off = new LoadRegulator({ delayTargetMs: 0 }, () => 0);
    feed(off, 20, 100, 1);
    expect(off.admit(1_000)).toBe(true);
    expect(() => new LoadRegulator({ sampleIntervalMs: 10, windowMs: 5 })).toThrow(
      "Expected 1 <= sampleIntervalMs <= windowMs and delayTargetMs >= 0, got 10, 5, 4",
    );
  });
});
