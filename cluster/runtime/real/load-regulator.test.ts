// The load regulator (lesson 9, back pressure under CPU saturation), driven by hand: samples of
// event-loop delay and utilization in, admit or refuse out. No clocks, no timing assertions.

import pino from "pino";
import { describe, expect, it } from "vitest";
import { HttpApi, type ClientBackend } from "./http.ts";
import { LoadRegulator } from "./load-regulator.ts";
import { NodeMetrics } from "./metrics.ts";
import { httpCall } from "./test-support.ts";

/** `ticks` samples, each a loop turn of `delayMs`, with the loop `utilization` busy. */
function feed(regulator: LoadRegulator, ticks: number, delayMs: number, utilization: number) {
  for (let tick = 0; tick < ticks; tick++) regulator.sample(delayMs, utilization);
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
    const regulator = new LoadRegulator({ delayTargetMs: 4, pendingBusyMin: 8 }, () => 0);
    feed(regulator, 20, 20, 0.1);
    expect(regulator.delayMs).toBe(20);
    expect(regulator.admit(0)).toBe(true);
    expect(regulator.admit(7)).toBe(true);
    // Requests piling up make it busy, however idle its loop looks (a starved process).
    expect(regulator.admit(8)).toBe(false);
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

describe("the HTTP layer with the regulator on", () => {
  /** Keeps this process's event loop busy: every turn of the loop spins for `spinMs` (a
   * setImmediate that queues itself again), so every turn is slow and the loop fully utilized
   * for as long as it runs, however loaded the machine is; I/O still gets its turn. */
  function saturateLoop(spinMs: number): () => void {
    let running = true;
    const spin = () => {
      if (!running) return;
      const until = performance.now() + spinMs;
      while (performance.now() < until) {
        // spin
      }
      setImmediate(spin);
    };
    setImmediate(spin);
    return () => (running = false);
  }

  it("answers a valid request 503 overload with Retry-After while the loop is saturated, and 4xx for bad ones", async () => {
    const submitted: string[] = [];
    const api = new HttpApi({
      port: 0,
      logger: pino({ level: "silent" }),
      metrics: new NodeMetrics({
        nodeId: "n1",
        nodeStats: () => ({}) as never,
        storeStats: () => ({ keyCount: 0, liveBytes: 0, totalBytes: 0, mergeCount: 0 }),
      }),
      limits: { loopDelayTargetMs: 4 },
      backend: {
        nodeId: "n1",
        defaultTimeoutMs: 1_000,
        validate: () => undefined,
        submit: (requestId: string) => {
          submitted.push(requestId);
          api.complete(requestId, { status: 204, context: "c" });
        },
      } as unknown as ClientBackend,
    });
    await api.listen();
    try {
      const idle = await httpCall(api.port, { method: "PUT", path: "/kv/b/k", body: "1" });
      expect(idle.status).toBe(204);
      const stop = saturateLoop(12);
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const busy = await httpCall(api.port, { method: "PUT", path: "/kv/b/k", body: "1" });
        expect(busy.status).toBe(503);
        expect(JSON.parse(busy.body).error).toBe("overload");
        expect(Number(busy.headers["retry-after"])).toBeGreaterThanOrEqual(1);
        const bad = await httpCall(api.port, { method: "PUT", path: "/kv/b/k", body: "{" });
        expect(bad.status).toBe(400);
      } finally {
        stop();
      }
      expect(submitted).toHaveLength(1);
    } finally {
      await api.close();
    }
  });
});
