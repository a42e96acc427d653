// Tests for what only the simulated disk models (lesson 5, "systems that never stop"): a crash
// that takes every unsynced write, the interval policy on a virtual clock, a surviving prefix of
// unsynced writes, and stores that die with their node. Shared behaviour is in store.test.ts.

import fs from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deletionRecordBytes,
  keyBytesMax,
  putRecordBytes,
  utf8ByteLength,
  valueBytesMax,
} from "./record.ts";
import { SimulatedDisk } from "./simulated-disk.ts";
import { StoreError, type ObjectCodec } from "./store.ts";

describe("SimulatedDisk", () => {
  it("replays like the whole log though it keeps only what a replay can see", () => {
    // The reference keeps every record and replays them all: keys in the order they became
    // present, the last record of each key winning, every record's bytes counted.
    const step = fc.record({
      key: fc.constantFrom("a", "b", "c", "d"),
      value: fc.option(fc.constantFrom("1", "22", "333"), { nil: undefined }),
      sync: fc.boolean(),
      reopen: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const disk = new SimulatedDisk();
        let store = disk.open({ syncPolicy: { kind: "never" } });
        const log: Array<{ key: string; value: string | undefined; bytes: number }> = [];
        for (const { key, value, sync, reopen } of steps) {
          if (value === undefined) {
            if (store.get(key) !== undefined) {
              log.push({ key, value, bytes: deletionRecordBytes(key) });
            }
            store.delete(key);
          } else {
            store.put(key, value);
            log.push({ key, value, bytes: putRecordBytes(key, value) });
          }
          if (sync) store.sync();
          if (reopen) {
            store.close(); // never: nothing synced on close, but a close loses nothing either
            store = disk.open({ syncPolicy: { kind: "never" } });
          }
        }
        store.sync();
        disk.crash();
        const reopened = disk.open({ syncPolicy: { kind: "never" } });
        const live = new Map<string, string>();
        for (const record of log) {
          live.delete(record.key);
          if (record.value !== undefined) live.set(record.key, record.value);
        }
        // A put of a present key keeps its place: replay as a Map.set would.
        const order: string[] = [];
        const present = new Set<string>();
        for (const record of log) {
          if (record.value === undefined) present.delete(record.key);
          else if (!present.has(record.key)) {
            present.add(record.key);
            const at = order.indexOf(record.key);
            if (at >= 0) order.splice(at, 1);
            order.push(record.key);
          }
        }
        expect(reopened.keys()).toEqual(order.filter((key) => present.has(key)));
        for (const [key, value] of live) expect(reopened.get(key)).toBe(value);
        const bytes = log.reduce((sum, record) => sum + record.bytes, 0);
        expect(reopened.stats().totalBytes).toBe(bytes);
        expect(disk.totalBytes()).toBe(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("holds objects as a text store holds their text, encoding one only when read as text", () => {
    // Two disks take the same steps; one stores some values as frozen objects (putObject), the
    // other the text of those objects. Every read, key order and byte count must agree, after
    // syncs, crashes and reopens, and nothing is encoded until something reads it as text.
    let encoded = 0;
    const codec: ObjectCodec<{ v: string }> = {
      encode: (object) => {
        encoded += 1;
        return JSON.stringify(object);
      },
      byteLength: (object) => utf8ByteLength(JSON.stringify(object)),
    };
    const step = fc.record({
      key: fc.constantFrom("a", "b", "c"),
      value: fc.option(fc.constantFrom("1", "é", "\u{1F600}", "x".repeat(300)), { nil: undefined }),
      asObject: fc.boolean(),
      sync: fc.boolean(),
      crash: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const objects = new SimulatedDisk();
        const texts = new SimulatedDisk();
        let objectStore = objects.open({ syncPolicy: { kind: "never" } });
        let textStore = texts.open({ syncPolicy: { kind: "never" } });
        const held = new Map<string, object>();
        for (const { key, value, asObject, sync, crash } of steps) {
          encoded = 0;
          if (value === undefined) {
            objectStore.delete(key);
            textStore.delete(key);
            held.delete(key);
          } else if (asObject) {
            const object = Object.freeze({ v: value });
            objectStore.putObject(key, object, codec);
            textStore.put(key, JSON.stringify(object));
            held.set(key, object);
            expect(objectStore.getObject(key)).toBe(object);
          } else {
            objectStore.put(key, value);
            textStore.put(key, value);
            held.delete(key);
            expect(objectStore.getObject(key)).toBeUndefined();
          }
          expect(encoded).toBe(0);
          if (sync) [objectStore, textStore].forEach((store) => store.sync());
          if (crash) {
            objects.crash();
            texts.crash();
            objectStore = objects.open({ syncPolicy: { kind: "never" } });
            textStore = texts.open({ syncPolicy: { kind: "never" } });
          }
          expect(objectStore.stats()).toEqual(textStore.stats());
          expect(objectStore.keys()).toEqual(textStore.keys());
          for (const stored of textStore.keys()) {
            expect(objectStore.get(stored)).toBe(textStore.get(stored));
          }
          expect(objects.totalBytes()).toBe(texts.totalBytes());
        }
      }),
      { numRuns: 300 },
    );
  });

  it("putObject refuses an object that is not frozen, and a value over the size limit", () => {
    const store = new SimulatedDisk().open();
    const codec: ObjectCodec<object> = { encode: () => "x", byteLength: () => 1 };
    expect(() => store.putObject("k", { v: 1 }, codec)).toThrow(/frozen/);
    const huge: ObjectCodec<object> = { encode: () => "x", byteLength: () => valueBytesMax + 1 };
    expect(() => store.putObject("k", Object.freeze({}), huge)).toThrow(/at most \d+ bytes/);
    expect(store.keys()).toEqual([]);
  });

  it("a crash under sync never loses every write since the last sync", () => {
    const disk = new SimulatedDisk({ name: "n1" });
    const store = disk.open({ syncPolicy: { kind: "never" } });
    store.put("a", "1");
    store.put("b", "2");
    store.sync();
    store.put("c", "3");
    store.put("a", "changed");
    expect(disk.unsyncedWriteCount()).toBe(2);
    disk.crash();
    const reopened = disk.open({ syncPolicy: { kind: "never" } });
    expect(reopened.keys().sort()).toEqual(["a", "b"]);
    expect(reopened.get("a")).toBe("1");
    expect(disk.unsyncedWriteCount()).toBe(0);
  });

  it("interval: a write syncs everything once intervalMs has passed on the virtual clock", () => {
    let nowMs = 1000;
    const disk = new SimulatedDisk();
    const store = disk.open({
      syncPolicy: { kind: "interval", intervalMs: 100 },
      now: () => nowMs,
    });
    store.put("a", "1"); // 0 ms since open: stays unsynced
    nowMs = 1099;
    store.put("b", "2");
    expect(disk.unsyncedWriteCount()).toBe(2);
    nowMs = 1100;
    store.put("c", "3"); // the interval has passed: a, b and c reach the disk
    expect(disk.unsyncedWriteCount()).toBe(0);
    store.put("d", "4");
    disk.crash();
    expect(disk.open().keys().sort()).toEqual(["a", "b", "c"]);
  });

  it("interval: syncIfDue syncs idle writes only once the interval has passed", () => {
    let nowMs = 0;
    const disk = new SimulatedDisk();
    const store = disk.open({ syncPolicy: { kind: "interval", intervalMs: 50 }, now: () => nowMs });
    store.put("a", "1");
    nowMs = 49;
    expect(store.syncIfDue()).toBe(false);
    expect(disk.unsyncedWriteCount()).toBe(1);
    nowMs = 50;
    expect(store.syncIfDue()).toBe(true);
    expect(disk.unsyncedWriteCount()).toBe(0);
  });

  it("a crash may keep a prefix of the unsynced writes, in order", () => {
    const disk = new SimulatedDisk();
    const store = disk.open({ syncPolicy: { kind: "never" } });
    for (const key of ["a", "b", "c", "d"]) store.put(key, key);
    disk.crash({ survivingUnsyncedWrites: 2 });
    expect(disk.open().keys()).toEqual(["a", "b"]);
    expect(() => disk.crash({ survivingUnsyncedWrites: -1 })).toThrow(/non-negative integer/);
  });

  it("a torn write is truncated on the next open, with one warning, and loses nothing synced", () => {
    const disk = new SimulatedDisk({ name: "n2" });
    const store = disk.open({ syncPolicy: { kind: "never" } });
    store.put("a", "1");
    store.sync();
    store.put("b", "2");
    store.put("c", "3");
    disk.crash({ survivingUnsyncedWrites: 1, tornWrite: true });
    const warnings: string[] = [];
    const reopened = disk.open({ onWarning: (line) => warnings.push(line) });
    expect(reopened.keys()).toEqual(["a", "b"]);
    expect(warnings).toEqual([
      "Truncated torn tail of simulated disk n2 (one half-written record)",
    ]);
    reopened.close();
    disk.open({ onWarning: (line) => warnings.push(line) });
    expect(warnings).toHaveLength(1);
  });

  it("a crash with nothing unsynced tears nothing", () => {
    const disk = new SimulatedDisk();
    disk.open().put("a", "1");
    disk.crash({ tornWrite: true });
    const warnings: string[] = [];
    expect(disk.open({ onWarning: (line) => warnings.push(line) }).get("a")).toBe("1");
    expect(warnings).toEqual([]);
  });

  it("the store a crash interrupted refuses further use", () => {
    const disk = new SimulatedDisk({ name: "n3" });
    const store = disk.open();
    store.put("a", "1");
    disk.crash();
    expect(() => store.put("b", "2")).toThrow(
      new StoreError("The store on simulated disk n3 crashed; open a new one with disk.open()"),
    );
    expect(disk.open().get("a")).toBe("1");
  });

  it("close syncs under always and interval but not under never (like the real store)", () => {
    const disk = new SimulatedDisk();
    const never = disk.open({ syncPolicy: { kind: "never" } });
    never.put("a", "1");
    never.close();
    expect(disk.unsyncedWriteCount()).toBe(1);
    const interval = disk.open({ syncPolicy: { kind: "interval", intervalMs: 10 }, now: () => 0 });
    interval.put("b", "2");
    interval.close();
    expect(disk.unsyncedWriteCount()).toBe(0);
  });

  it("refuses a bad key on a read as on a write, whether or not anything is stored", () => {
    const store = new SimulatedDisk().open();
    store.put("a", "1");
    for (const bad of ["", "\ud800", "k".repeat(keyBytesMax + 1)]) {
      expect(() => store.put(bad, "v")).toThrow(RangeError);
      expect(() => store.get(bad)).toThrow(RangeError);
    }
    expect(() => store.get(7 as unknown as string)).toThrow(TypeError);
    expect(store.get("a")).toBe("1");
  });

  it("sizes long values as TextEncoder does, counted afresh or remembered", () => {
    const encoder = new TextEncoder();
    const pieces = fc.constantFrom("a", '{"k":1}', "é", "日本", "😀", " ");
    fc.assert(
      fc.property(fc.array(pieces, { minLength: 100, maxLength: 3000 }), (chosen) => {
        const text = chosen.join("");
        const bytes = encoder.encode(text).length;
        expect(utf8ByteLength(text)).toBe(bytes);
        expect(utf8ByteLength(text)).toBe(bytes); // the second time from memory
      }),
      { numRuns: 200 },
    );
  });

  it("requires a clock for the interval policy", () => {
    const disk = new SimulatedDisk();
    expect(() => disk.open({ syncPolicy: { kind: "interval", intervalMs: 10 } })).toThrow(
      "Expected `now` (virtual milliseconds) with the `interval` sync policy",
    );
  });

  it("is deterministic: the same operations give the same keys in the same order", () => {
    const run = (): string[] => {
      const disk = new SimulatedDisk();
      const store = disk.open({ syncPolicy: { kind: "never" } });
      for (let index = 0; index < 30; index++) store.put(`key-${(index * 7) % 11}`, `${index}`);
      store.delete("key-3");
      store.merge();
      store.put("key-3", "back");
      disk.crash();
      return disk.open().keys();
    };
    expect(run()).toEqual(run());
  });

  it("imports no Node built-ins and reads no clock, timer or random source (it runs in the browser)", () => {
    for (const file of ["simulated-disk.ts", "record.ts", "crc32.ts"]) {
      const source = fs
        .readFileSync(new URL(file, import.meta.url), "utf8")
        .replace(/\/\/.*$/gm, "")
        .replace(/\/\*[\s\S]*?\*\//g, "");
      expect(source, file).not.toMatch(
        /from "node:|\bDate\b|setTimeout|setInterval|Math\.random|\bprocess\.|\bBuffer\b/,
      );
    }
  });
});
