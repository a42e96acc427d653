// The load regulator (lesson 9, back pressure under CPU saturation), driven by hand: samples of
// event-loop delay and utilization in, admit or refuse out. No clocks, no timing assertions.

import { existsSync } from "node:fs";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { HttpApi, type ClientBackend } from "./http.ts";
import { LoadRegulator, openCoreWaitReader } from "./load-regulator.ts";
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
    expect(always.capRefusals).toBe(0); // refused by delay, not by the cap
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

  it("caps the requests it takes on at once, whatever the loop says", () => {
    const regulator = new LoadRegulator({ delayTargetMs: 4, concurrencyInitial: 4 }, () => 0);
    feed(regulator, 20, 0, 0);
    expect(regulator.admit(3)).toBe(true);
    expect(regulator.admit(4)).toBe(false);
    expect(regulator.refusals).toBe(1);
    expect(regulator.capRefusals).toBe(1);
  });

  it("shrinks the cap when answers were slow and grows it when they were quick and it held the node back (AIMD)", () => {
    const limits = { delayTargetMs: 4, concurrencyInitial: 10, answersPerAdjustment: 4 };
    const regulator = new LoadRegulator(limits, () => 0);
    for (const latencyMs of [1, 9, 12, 13]) regulator.answered(latencyMs); // median 12 > 2 x 1 + 4
    expect(regulator.concurrencyLimit).toBeCloseTo(8); // 10 x 0.8
    expect(regulator.admit(8)).toBe(false); // the cap held the node back in this window...
    for (const latencyMs of [1, 2, 2, 3]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(9); // ...and answers were quick: + 1
    for (const latencyMs of [1, 2, 2, 3]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(9); // quick, but the cap refused nobody
    // The median decides, not one answer: three quick and one slow stay under the target.
    for (const latencyMs of [1, 1, 1, 40]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(9);
  });

  it("judges answers against the quickest recent answer, so a slow network is not a queue", () => {
    const limits = { delayTargetMs: 4, concurrencyInitial: 10, answersPerAdjustment: 4 };
    const regulator = new LoadRegulator({ ...limits, baselineAdjustments: 2 }, () => 0);
    for (const latencyMs of [50, 51, 60, 90]) regulator.answered(latencyMs); // 50 ms links
    expect(regulator.baselineMs).toBe(50);
    expect(regulator.concurrencyLimit).toBe(10); // median 60 <= 2 x 50 + 4
    for (const latencyMs of [110, 110, 110, 110]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(8); // median 110 > 2 x 50 + 4: a queue
    // The baseline forgets after `baselineAdjustments` windows: the node's network changed.
    for (const latencyMs of [70, 70, 70, 70, 70, 70, 70, 70]) regulator.answered(latencyMs);
    expect(regulator.baselineMs).toBe(70);
    expect(regulator.concurrencyLimit).toBeCloseTo(8);
  });

  it("keeps the cap within its bounds, and the latency target defaults to the delay target", () => {
    const limits = { delayTargetMs: 4, concurrencyInitial: 3, concurrencyMin: 2 };
    const regulator = new LoadRegulator({ ...limits, answersPerAdjustment: 2 }, () => 0);
    for (let answer = 0; answer < 20; answer++) regulator.answered(answer % 2 === 0 ? 0 : 9);
    expect(regulator.concurrencyLimit).toBe(2); // every median 9 > 2 x 0 + 4
    const top = new LoadRegulator({ ...limits, concurrencyMax: 3, answersPerAdjustment: 1 });
    top.admit(3);
    top.answered(4); // at the target is not above it
    expect(top.concurrencyLimit).toBe(3);
  });

  it("shrinks the cap once per window while its loop waits for a core beyond the budget, however quick the answers", () => {
    let nowMs = 0;
    const limits = {
      delayTargetMs: 4,
      concurrencyInitial: 10,
      answersPerAdjustment: 2,
      coreWaitBudget: 0.1,
      windowMs: 50,
      sampleIntervalMs: 5,
    };
    const regulator = new LoadRegulator(
      limits,
      () => 0,
      () => nowMs,
    );
    // The run queue, not this node's own work: the loop waited for a core 30% of the window.
    for (let tick = 0; tick < 10; tick++) regulator.sample(0, 0.5, 0.3);
    expect(regulator.coreWait).toBeCloseTo(0.3);
    regulator.admit(10); // the cap held the node back, which alone would grow it
    for (const latencyMs of [1, 1]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(8); // 10 x 0.8
    // The estimate lags by a window: more answers within it do not shrink the cap again...
    nowMs = 49;
    for (const latencyMs of [1, 1, 1, 1]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(8);
    // ...a window later they do.
    nowMs = 50;
    for (const latencyMs of [1, 1]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(6.4);
    // Within the budget again, and the cap held the node back: it grows, by a quarter of itself
    // below a cap of 4 (at 0.5, one whole request more would triple the rate admitted).
    for (let tick = 0; tick < 10; tick++) regulator.sample(0, 0.5, 0.05);
    regulator.admit(7);
    for (const latencyMs of [1, 1]) regulator.answered(latencyMs);
    expect(regulator.concurrencyLimit).toBeCloseTo(7.4);
    const low = new LoadRegulator({ ...limits, concurrencyInitial: 2, concurrencyMin: 0.5 });
    low.admit(2);
    for (const latencyMs of [1, 1]) low.answered(latencyMs);
    expect(low.concurrencyLimit).toBeCloseTo(2.5);
  });

  it("does not judge core wait with a budget of 0, and never shrinks the cap below its minimum", () => {
    let nowMs = 0;
    const limits = { delayTargetMs: 4, concurrencyInitial: 1, concurrencyMin: 0.5 };
    const unjudged = new LoadRegulator({ ...limits, answersPerAdjustment: 1 }, () => 0);
    for (let tick = 0; tick < 10; tick++) unjudged.sample(0, 1, 0.9);
    unjudged.answered(1);
    expect(unjudged.concurrencyLimit).toBe(1);
    const judged = new LoadRegulator(
      { ...limits, answersPerAdjustment: 1, coreWaitBudget: 0.1 },
      () => 0,
      () => nowMs,
    );
    for (let tick = 0; tick < 10; tick++) judged.sample(0, 1, 0.9);
    for (let window = 0; window < 10; window++) {
      nowMs += 50;
      judged.answered(1);
    }
    expect(judged.concurrencyLimit).toBe(0.5);
  });

  it("takes the request past a fractional cap with the fraction's probability", () => {
    const limits = { delayTargetMs: 4, concurrencyInitial: 2.4, concurrencyMin: 0.5 };
    expect(new LoadRegulator(limits, () => 0.3).admit(2)).toBe(true); // 0.3 < 0.4
    const unlucky = new LoadRegulator(limits, () => 0.5);
    expect(unlucky.admit(2)).toBe(false); // 0.5 >= 0.4
    expect(unlucky.capRefusals).toBe(1);
    expect(unlucky.admit(1)).toBe(true); // below the whole part: always
    expect(new LoadRegulator(limits, () => 0).admit(3)).toBe(false); // at the next whole: never
    // Below one, an idle node takes a request with that probability: a rate, not a count.
    const half = { delayTargetMs: 4, concurrencyInitial: 0.5, concurrencyMin: 0.5 };
    expect(new LoadRegulator(half, () => 0.6).admit(0)).toBe(false);
    expect(new LoadRegulator(half, () => 0.4).admit(0)).toBe(true);
  });

  it.runIf(existsSync("/proc/self/schedstat"))(
    "reads how long this process's event loop has waited for a core (Linux schedstat)",
    () => {
      const reader = openCoreWaitReader()!;
      const first = reader.read();
      let spin = 0;
      for (let index = 0; index < 1e6; index++) spin += index;
      const second = reader.read();
      reader.close();
      expect(spin).toBeGreaterThan(0);
      expect(Number.isFinite(first) && first >= 0).toBe(true);
      expect(second).toBeGreaterThanOrEqual(first);
    },
  );

  it("sleeps its loop between samples only while it refuses, so that arrivals share a wakeup", () => {
    const limits = { delayTargetMs: 4, concurrencyInitial: 2, coalesceMs: 2 };
    const regulator = new LoadRegulator(limits, () => 0);
    expect(regulator.coalesceMs()).toBe(0); // nothing refused yet
    expect(regulator.admit(1)).toBe(true);
    expect(regulator.coalesceMs()).toBe(0); // admitted requests do not make it sleep
    expect(regulator.admit(2)).toBe(false);
    expect(regulator.coalesceMs()).toBe(2); // refused since the last sample
    expect(regulator.coalesceMs()).toBe(0); // and not since
    const never = new LoadRegulator({ ...limits, coalesceMs: 0 }, () => 0);
    never.admit(2);
    expect(never.coalesceMs()).toBe(0);
  });

  it("is off with a target of 0, and refuses impossible limits with one line", () => {
    const off = new LoadRegulator({ delayTargetMs: 0 }, () => 0);
    feed(off, 20, 100, 1);
    for (let answer = 0; answer < 100; answer++) off.answered(1_000);
    expect(off.admit(1_000)).toBe(true);
    expect(() => new LoadRegulator({ concurrencyMin: 8, concurrencyInitial: 4 })).toThrow(
      "Expected 0 < concurrencyMin <= concurrencyInitial <= concurrencyMax and 0 < decreaseFactor < 1, got 8, 4, 512, 0.8",
    );
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

  /** An HttpApi with the regulator on whose node answers at once, or holds requests when
   * `hold` is set; `submitted` lists what reached the node. */
  async function startApi(hold = false) {
    const submitted: string[] = [];
    const api: HttpApi = new HttpApi({
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
        defaultTimeoutMs: 60_000,
        validate: () => undefined,
        health: () => ({}),
        submit: (requestId: string) => {
          submitted.push(requestId);
          if (!hold) api.complete(requestId, { status: 204, context: "c" });
        },
      } as unknown as ClientBackend,
    });
    await api.listen();
    return { api, submitted };
  }

  it("answers 503 overload with Retry-After while the loop is saturated, before judging the request", async () => {
    const { api, submitted } = await startApi();
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
        // Refused before its body is read or parsed: a bad one costs as little as a good one.
        const bad = await httpCall(api.port, { method: "PUT", path: "/kv/b/k", body: "{" });
        expect(bad.status).toBe(503);
        // Routes other than client data are never refused: an operator can still look.
        const health = await httpCall(api.port, { path: "/health" });
        expect(health.status).toBe(200);
      } finally {
        stop();
      }
      expect(submitted).toHaveLength(1);
      // Once the loop keeps up again, bad input gets its 4xx (asked until the window clears).
      let status = 503;
      for (let attempt = 0; attempt < 100 && status === 503; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = (await httpCall(api.port, { method: "PUT", path: "/kv/b/k", body: "{" })).status;
      }
      expect(status).toBe(400);
    } finally {
      await api.close();
    }
  });

  it("refuses the request past its concurrency cap at once, on an idle loop, and takes one again once an answer is out", async () => {
    const { api, submitted } = await startApi(true);
    try {
      const cap = 16; // concurrencyInitial: no answer has come back to adjust it
      const held = Array.from({ length: cap }, (_, index) =>
        httpCall(api.port, { method: "PUT", path: `/kv/b/k${index}`, body: "1" }),
      );
      for (let attempt = 0; attempt < 200 && submitted.length < cap; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(submitted).toHaveLength(cap);
      const refused = await httpCall(api.port, { path: "/kv/b/k" });
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body).error).toBe("overload");
      expect(refused.headers["retry-after"]).toBeDefined();
      expect(submitted).toHaveLength(cap);
      api.complete(submitted[0]!, { status: 204, context: "c" });
      expect((await held[0]!).status).toBe(204);
      const health = JSON.parse((await httpCall(api.port, { path: "/health" })).body);
      expect(health.concurrencyLimit).toBe(cap);
      for (const requestId of submitted.slice(1)) {
        api.complete(requestId, { status: 204, context: "c" });
      }
      expect((await Promise.all(held)).map((answer) => answer.status)).toEqual(
        Array.from({ length: cap }, () => 204),
      );
    } finally {
      await api.close();
    }
  });
});
