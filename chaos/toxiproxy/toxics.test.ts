// Toxic stages in isolation, driven through a recording context: no sockets, no clocks
// (lesson 3, network splits: each fault is small enough to reason about alone).

import { describe, expect, it } from "vitest";
import {
  BandwidthToxic,
  LimitDataToxic,
  SlicerToxic,
  TimeoutToxic,
  ToxicAttributeError,
  parseAttributes,
  toxicKinds,
  type ToxicContext,
} from "./toxics.ts";

interface Recording extends ToxicContext {
  readonly emitted: Buffer[];
  readonly events: string[];
}

function recorder(): Recording {
  const emitted: Buffer[] = [];
  const events: string[] = [];
  return {
    emitted,
    events,
    emit: (chunk) => {
      emitted.push(chunk);
      events.push(`data:${chunk.length}`);
    },
    end: () => events.push("end"),
    close: () => events.push("close"),
    reset: () => events.push("reset"),
  };
}

function bytes(count: number): Buffer {
  return Buffer.from(Array.from({ length: count }, (_, index) => index % 256));
}

describe("toxic attributes", () => {
  it("fills defaults, ignores unknown names and merges an update over the current values", () => {
    const latency = toxicKinds.get("latency")!;
    const created = parseAttributes(latency, { latency: 40, color: "blue" }, undefined);
    expect(created).toEqual({ latency: 40, jitter: 0 });
    expect(parseAttributes(latency, { jitter: 3 }, created)).toEqual({ latency: 40, jitter: 3 });
  });

  it("names the attribute, its range and its unit in the error", () => {
    const latency = toxicKinds.get("latency")!;
    expect(() => parseAttributes(latency, { latency: -1 }, undefined)).toThrow(ToxicAttributeError);
    expect(() => parseAttributes(latency, { latency: -1 }, undefined)).toThrow(
      "Expected `latency` of latency to be an integer from 0 to 3600000 (milliseconds), got -1",
    );
  });

  it("knows exactly upstream's seven TCP toxics", () => {
    expect([...toxicKinds.keys()].sort()).toEqual(
      [
        "bandwidth",
        "latency",
        "limit_data",
        "reset_peer",
        "slicer",
        "slow_close",
        "timeout",
      ].sort(),
    );
  });
});

describe("toxic stages", () => {
  it("slicer without delay cuts a chunk into slices that rebuild it, each within its size bounds", () => {
    const context = recorder();
    const stage = new SlicerToxic(context, { average_size: 10, size_variation: 3, delay: 0 });
    const input = bytes(1_000);
    stage.write(input);
    expect(Buffer.concat(context.emitted).equals(input)).toBe(true);
    const sizes = context.emitted.map((slice) => slice.length);
    expect(sizes.length).toBeGreaterThan(50);
    expect(sizes.slice(0, -1).every((size) => size >= 7 && size <= 13)).toBe(true);
    stage.end();
    expect(context.events.at(-1)).toBe("end");
  });

  it("slicer accepts a size_variation equal to average_size (as upstream) and never emits an empty slice", () => {
    const attributes = parseAttributes(
      toxicKinds.get("slicer")!,
      { average_size: 4, size_variation: 4, delay: 0 },
      undefined,
    );
    const context = recorder();
    const stage = new SlicerToxic(context, attributes);
    const input = bytes(2_000);
    stage.write(input);
    expect(Buffer.concat(context.emitted).equals(input)).toBe(true);
    const sizes = context.emitted.map((slice) => slice.length);
    expect(sizes.every((size) => size >= 1 && size <= 8)).toBe(true);
    // One more byte of variation than the average is refused: upstream's slicer would panic.
    expect(() =>
      parseAttributes(toxicKinds.get("slicer")!, { average_size: 4, size_variation: 5 }, undefined),
    ).toThrow(ToxicAttributeError);
  });

  it("limit_data passes exactly its bytes across chunks and updates, then closes once", () => {
    const context = recorder();
    const stage = new LimitDataToxic(context, { bytes: 25 });
    stage.write(bytes(10));
    stage.update({ bytes: 30 }); // The count so far survives an update.
    stage.write(bytes(10));
    stage.write(bytes(15));
    stage.write(bytes(5));
    expect(context.events).toEqual(["data:10", "data:10", "data:10", "close"]);
  });

  it("bandwidth 0 holds every byte; removing it hands them on in order with the pending end", () => {
    const context = recorder();
    const stage = new BandwidthToxic(context, { rate: 0 });
    stage.write(bytes(100));
    stage.write(bytes(50));
    stage.end();
    expect(context.events).toEqual([]);
    expect(stage.pendingBytes()).toBe(150);
    stage.remove();
    expect(context.events).toEqual(["data:100", "data:50", "end"]);
    expect(stage.pendingBytes()).toBe(0);
  });

  it("timeout drops bytes and closes the connection when it is removed", () => {
    const context = recorder();
    const stage = new TimeoutToxic(context, { timeout: 0 });
    stage.write(bytes(10));
    expect(context.events).toEqual([]);
    stage.remove();
    expect(context.events).toEqual(["close"]);
  });
});
