// The behaviour suite every KeyValueStore must pass (lesson 5, "systems that never stop"): the
// same cases run against the Bitcask store on a real disk (with large and with tiny data files)
// and against the simulated disk, the way Hono runs one suite on every runtime adapter. A case
// that passes on one implementation and fails on the other is a simulator that lies.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BitcaskStore } from "./bitcask.ts";
import { deletionRecordBytes, keyBytesMax, putRecordBytes } from "./record.ts";
import { SimulatedDisk } from "./simulated-disk.ts";
import { StoreError } from "./store.ts";
import type { KeyValueStore, SyncPolicy } from "./store.ts";

/** One implementation's way to open, crash and clean up a store over the same storage. */
interface StoreHarness {
  /** Opens (or reopens) a store over the harness's one storage. */
  open(syncPolicy?: SyncPolicy): KeyValueStore;
  /** Stops the store abruptly: no close, no sync. The next open() recovers. */
  crash(store: KeyValueStore): void;
  /** Whether a crash loses writes that were not synced (a power loss does; kill -9 does not). */
  crashLosesUnsyncedWrites: boolean;
  dispose(): void;
}

const policies: SyncPolicy[] = [
  { kind: "always" },
  { kind: "interval", intervalMs: 1000 },
  { kind: "never" },
];

function bitcaskHarness(fileBytesMax: number): () => StoreHarness {
  return () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "neverstop-store-"));
    const opened: BitcaskStore[] = [];
    return {
      open(syncPolicy = { kind: "always" }) {
        const store = BitcaskStore.open({ folder, syncPolicy, fileBytesMax, now: () => 0 });
        opened.push(store);
        return store;
      },
      crash(store) {
        (store as BitcaskStore).crashForTesting();
      },
      crashLosesUnsyncedWrites: false,
      dispose() {
        for (const store of opened) store.close();
        fs.rmSync(folder, { recursive: true, force: true });
      },
    };
  };
}

function simulatedHarness(): StoreHarness {
  const disk = new SimulatedDisk({ name: "n1" });
  return {
    open(syncPolicy = { kind: "always" }) {
      return disk.open({ syncPolicy, now: () => 0 });
    },
    crash() {
      disk.crash();
    },
    crashLosesUnsyncedWrites: true,
    dispose() {},
  };
}

describeKeyValueStore("Bitcask store, 64 MiB files", bitcaskHarness(64 * 1024 * 1024));
describeKeyValueStore("Bitcask store, 64-byte files", bitcaskHarness(64));
describeKeyValueStore("simulated disk", simulatedHarness);

function describeKeyValueStore(name: string, makeHarness: () => StoreHarness): void {
  describe(`KeyValueStore behaviour: ${name}`, () => {
    let harness: StoreHarness;
    beforeEach(() => {
      harness = makeHarness();
    });
    afterEach(() => {
      harness.dispose();
    });

    it("put then get returns the value; an absent key is undefined", () => {
      const store = harness.open();
      store.put("apple", "red");
      expect(store.get("apple")).toBe("red");
      expect(store.get("pear")).toBeUndefined();
    });

    it("a put overwrites the previous value", () => {
      const store = harness.open();
      store.put("apple", "red");
      store.put("apple", "green");
      expect(store.get("apple")).toBe("green");
      expect(store.keys()).toEqual(["apple"]);
    });

    it("delete removes the key; deleting an absent key writes nothing", () => {
      const store = harness.open();
      store.put("apple", "red");
      store.delete("apple");
      expect(store.get("apple")).toBeUndefined();
      const before = store.stats().totalBytes;
      store.delete("apple");
      store.delete("never-written");
      expect(store.stats().totalBytes).toBe(before);
    });

    it("keys lists every live key and no deleted one", () => {
      const store = harness.open();
      for (const key of ["a", "b", "c", "d"]) store.put(key, key.toUpperCase());
      store.delete("b");
      store.put("a", "again");
      expect(store.keys().sort()).toEqual(["a", "c", "d"]);
    });

    it("stats count keys and record bytes, dead records in totalBytes only", () => {
      const store = harness.open();
      store.put("k1", "one");
      store.put("k2", "two");
      store.put("k1", "uno");
      store.delete("k2");
      expect(store.stats()).toEqual({
        keyCount: 1,
        liveBytes: putRecordBytes("k1", "uno"),
        totalBytes:
          putRecordBytes("k1", "one") +
          putRecordBytes("k2", "two") +
          putRecordBytes("k1", "uno") +
          deletionRecordBytes("k2"),
        mergeCount: 0,
      });
    });

    it("keys and values in any script round-trip, empty values included", () => {
      const store = harness.open();
      const pairs: [string, string][] = [
        ["naïve", "café ☕"],
        ["ключ", "значение"],
        ["🔑", "😀".repeat(10)],
        ["empty", ""],
      ];
      for (const [key, value] of pairs) store.put(key, value);
      store.close();
      const reopened = harness.open();
      for (const [key, value] of pairs) expect(reopened.get(key)).toBe(value);
    });

    it("refuses bad keys and values with a one-line error", () => {
      const store = harness.open();
      expect(() => store.put("", "v")).toThrow(/non-empty/);
      expect(() => store.put("x".repeat(keyBytesMax + 1), "v")).toThrow(/at most 4096 bytes/);
      expect(() => store.put("\ud800", "v")).toThrow(/lone surrogate/);
      expect(() => store.put("k", "\udc00")).toThrow(/lone surrogate/);
      expect(() => store.put("k", 42 as unknown as string)).toThrow(/to be a string, got number/);
      expect(store.stats().totalBytes).toBe(0);
    });

    it("merge keeps every live value and drops the dead bytes", () => {
      const store = harness.open();
      for (let round = 0; round < 5; round++) {
        for (let index = 0; index < 20; index++)
          store.put(`key-${index}`, `value-${round}-${index}`);
      }
      for (let index = 0; index < 20; index += 3) store.delete(`key-${index}`);
      const before = store.stats();
      store.merge();
      const after = store.stats();
      expect(after.mergeCount).toBe(1);
      expect(after.keyCount).toBe(before.keyCount);
      expect(after.liveBytes).toBe(before.liveBytes);
      expect(after.totalBytes).toBe(after.liveBytes);
      expect(after.totalBytes).toBeLessThan(before.totalBytes);
      for (let index = 0; index < 20; index++) {
        expect(store.get(`key-${index}`)).toBe(index % 3 === 0 ? undefined : `value-4-${index}`);
      }
      store.put("after-merge", "yes");
      expect(store.get("after-merge")).toBe("yes");
    });

    it("a merged store reopens with the same contents", () => {
      const store = harness.open();
      for (let index = 0; index < 30; index++) store.put(`key-${index % 10}`, `value-${index}`);
      store.delete("key-3");
      store.merge();
      store.put("key-0", "latest");
      const stats = store.stats();
      store.close();
      const reopened = harness.open();
      expect(reopened.get("key-0")).toBe("latest");
      expect(reopened.get("key-3")).toBeUndefined();
      expect(reopened.get("key-9")).toBe("value-29");
      expect(reopened.stats()).toEqual({ ...stats, mergeCount: 0 });
    });

    it.each(policies)("reopening after close keeps everything (sync $kind)", (syncPolicy) => {
      const store = harness.open(syncPolicy);
      for (let index = 0; index < 50; index++) store.put(`key-${index}`, `value-${index}`);
      store.delete("key-7");
      const stats = store.stats();
      store.close();
      const reopened = harness.open(syncPolicy);
      expect(reopened.stats()).toEqual(stats);
      expect(reopened.get("key-7")).toBeUndefined();
      for (let index = 0; index < 50; index++) {
        if (index !== 7) expect(reopened.get(`key-${index}`)).toBe(`value-${index}`);
      }
    });

    it("under sync always every acknowledged write survives a crash", () => {
      const store = harness.open({ kind: "always" });
      for (let index = 0; index < 40; index++) store.put(`key-${index}`, `value-${index}`);
      store.delete("key-0");
      harness.crash(store);
      const reopened = harness.open({ kind: "always" });
      expect(reopened.keys().length).toBe(39);
      expect(reopened.get("key-0")).toBeUndefined();
      expect(reopened.get("key-39")).toBe("value-39");
    });

    it("writes made durable by sync() or merge() survive a crash under sync never", () => {
      const store = harness.open({ kind: "never" });
      store.put("synced", "1");
      store.sync();
      store.put("merged", "2");
      store.merge();
      harness.crash(store);
      const reopened = harness.open({ kind: "never" });
      expect(reopened.get("synced")).toBe("1");
      expect(reopened.get("merged")).toBe("2");
    });

    it("unsynced writes under sync never are lost by a crash only where the crash is a power loss", () => {
      const store = harness.open({ kind: "never" });
      store.put("synced", "1");
      store.sync();
      store.put("unsynced", "2");
      store.delete("synced");
      harness.crash(store);
      const reopened = harness.open({ kind: "never" });
      if (harness.crashLosesUnsyncedWrites) {
        expect(reopened.keys()).toEqual(["synced"]);
      } else {
        expect(reopened.keys()).toEqual(["unsynced"]);
      }
    });

    it("a closed store refuses every operation", () => {
      const store = harness.open();
      store.put("k", "v");
      store.close();
      expect(() => store.get("k")).toThrow(StoreError);
      expect(() => store.put("k", "w")).toThrow(/closed/);
      expect(() => store.stats()).toThrow(StoreError);
      store.close(); // closing twice is harmless
    });

    it("a second store cannot open the same storage while the first is open", () => {
      const store = harness.open();
      expect(() => harness.open()).toThrow(/in use/);
      store.close();
      const second = harness.open();
      expect(second.keys()).toEqual([]);
    });

    it("holds a thousand keys across a reopen", () => {
      const store = harness.open({ kind: "never" });
      for (let index = 0; index < 1000; index++) store.put(`key-${index}`, `value-${index * 7}`);
      store.close();
      const reopened = harness.open({ kind: "never" });
      expect(reopened.stats().keyCount).toBe(1000);
      for (let index = 0; index < 1000; index += 37) {
        expect(reopened.get(`key-${index}`)).toBe(`value-${index * 7}`);
      }
    });
  });
}
