// Tests of Bitcask's key revisions (store.ts's revision(); lesson 5, "systems that never stop"):
// the replica store serves a key's cached version without reading the disk while its revision
// stays the same (replica-store.ts), so a revision that failed to change when the key's record
// did would serve a stale version. Each test names one way a record changes and fails if the
// revision survives it: a put, a deletion, a merge that moves records, a reopen from hints, from
// a full replay, or after a crash.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BitcaskStore } from "./bitcask.ts";
import type { BitcaskOptions } from "./bitcask.ts";
import { StoreError } from "./store.ts";

let folder: string;
let opened: BitcaskStore[];

beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), "neverstop-revision-"));
  opened = [];
});

afterEach(() => {
  for (const store of opened) store.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

function open(options: Partial<BitcaskOptions> = {}): BitcaskStore {
  const store = BitcaskStore.open({ folder, syncPolicy: { kind: "never" }, ...options });
  opened.push(store);
  return store;
}

/** Every key's revision, by key. */
function revisionsOf(store: BitcaskStore, keys: readonly string[]): Map<string, number> {
  const revisions = new Map<string, number>();
  for (const key of keys) {
    const revision = store.revision(key);
    expect(revision, key).toBeTypeOf("number");
    revisions.set(key, revision!);
  }
  return revisions;
}

function expectAllChanged(before: Map<string, number>, after: Map<string, number>): void {
  for (const [key, revision] of before) expect(after.get(key), key).not.toBe(revision);
}

const keys = Array.from({ length: 12 }, (_, index) => `key-${index}`);

/** Puts every key, in several data files (64-byte files hold one record each). */
function fill(store: BitcaskStore): void {
  for (const key of keys) store.put(key, `value of ${key}`);
}

describe("a key's revision", () => {
  it("is undefined for an absent key, and reads and writes to other keys keep it", () => {
    const store = open();
    expect(store.revision("a")).toBeUndefined();
    store.put("a", "1");
    const revision = store.revision("a");
    expect(revision).toBeTypeOf("number");
    expect(store.get("a")).toBe("1");
    store.put("b", "2");
    store.delete("b");
    expect(store.revision("a")).toBe(revision);
  });

  it("changes with every put, even of the same value", () => {
    const store = open();
    store.put("a", "same");
    const first = store.revision("a");
    store.put("a", "same");
    const second = store.revision("a");
    store.put("a", "other");
    expect(new Set([first, second, store.revision("a")]).size).toBe(3);
  });

  it("is undefined after a deletion, and a put after it gets a new one", () => {
    const store = open();
    store.put("a", "1");
    const before = store.revision("a");
    store.delete("a");
    expect(store.revision("a")).toBeUndefined();
    store.put("a", "1");
    expect(store.revision("a")).toBeTypeOf("number");
    expect(store.revision("a")).not.toBe(before);
  });

  it("changes for every key a merge moves", () => {
    const store = open({ fileBytesMax: 64 });
    fill(store);
    store.put("key-0", "overwritten"); // a dead record for the merge to drop
    const before = revisionsOf(store, keys);
    store.merge();
    expect(store.stats().mergeCount).toBe(1);
    expectAllChanged(before, revisionsOf(store, keys));
    expect(store.get("key-0")).toBe("overwritten");
  });

  it("changes on reopen when the key directory comes from hint files", () => {
    const first = open({ fileBytesMax: 64 });
    fill(first);
    const before = revisionsOf(first, keys);
    first.close();
    expect(fs.readdirSync(folder).some((name) => name.endsWith(".hint"))).toBe(true);
    expectAllChanged(before, revisionsOf(open({ fileBytesMax: 64 }), keys));
  });

  it("changes on reopen when every record is replayed (no hints, or after kill -9)", () => {
    const first = open({ fileBytesMax: 64 });
    fill(first);
    const before = revisionsOf(first, keys);
    first.close();
    for (const name of fs.readdirSync(folder)) {
      if (name.endsWith(".hint")) fs.rmSync(path.join(folder, name));
    }
    const second = open();
    const replayed = revisionsOf(second, keys);
    expectAllChanged(before, replayed);
    second.crashForTesting();
    expectAllChanged(replayed, revisionsOf(open(), keys));
  });

  it("is never one that another store in this process handed out", () => {
    const seen = new Set<number>();
    for (let index = 0; index < 3; index++) {
      // Fresh folders, each written the same way: numbers counted per store would repeat.
      const store = open({ folder: path.join(folder, `store-${index}`) });
      fill(store);
      for (const revision of revisionsOf(store, keys).values()) {
        expect(seen.has(revision)).toBe(false);
        seen.add(revision);
      }
      store.close();
    }
  });

  it("is refused by a closed store, like every other call", () => {
    const store = open();
    store.put("a", "1");
    store.close();
    expect(() => store.revision("a")).toThrow(StoreError);
  });
});
