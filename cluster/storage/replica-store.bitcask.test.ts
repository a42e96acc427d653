// Tests of the replica store's version cache over stores that name records with revisions
// (cluster/core/replica-store.ts, store.ts's revision(); lessons 2 and 5). The cache lets a
// real node serve a key it read or wrote without reading Bitcask again (issue 13: six pread
// calls per operation before); these tests pin down that it reads again whenever the key's
// record may have changed underneath it, and never serves a stale version.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AntiEntropy } from "../core/anti-entropy.ts";
import { newCounters } from "../core/node-health.ts";
import { parsedVersionCountMax, ReplicaStore } from "../core/replica-store.ts";
import type { Environment } from "../core/types.ts";
import { encodeVersion, update, type VersionedObject } from "../core/versions.ts";
import { BitcaskStore } from "./bitcask.ts";
import type { KeyValueStore, StoreStats } from "./store.ts";
import { StoreError } from "./store.ts";

const partitionCount = 8;

let folder: string;
let opened: BitcaskStore[];

beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), "neverstop-replica-store-"));
  opened = [];
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const store of opened) store.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

function openBitcask(): BitcaskStore {
  const store = BitcaskStore.open({ folder, syncPolicy: { kind: "never" } });
  opened.push(store);
  return store;
}

function replicaStoreOver(store: KeyValueStore): ReplicaStore {
  const replicas = Array.from({ length: partitionCount }, () => ["n1"]);
  const env = { store } as unknown as Environment;
  return new ReplicaStore(env, partitionCount, new AntiEntropy(replicas, "n1"), newCounters());
}

let nextTimestamp = 1;

/** A new causal version of `value` written by `actor` over `local`. */
function version(value: string, local: VersionedObject | null = null, actor = "n1@1") {
  return update(local, {
    mode: "causal",
    value,
    tombstone: false,
    context: local?.clock ?? {},
    actor,
    timestamp: nextTimestamp++,
  });
}

function valueOf(object: VersionedObject | null): unknown {
  return object?.siblings.map((sibling) => sibling.value);
}

describe("the version cache over Bitcask", () => {
  it("serves what it saved, and what it read once, without reading the disk again", () => {
    const store = openBitcask();
    const replicas = replicaStoreOver(store);
    const saved = version("a");
    replicas.save("b\u0000k", saved);
    const get = vi.spyOn(store, "get");
    expect(replicas.load("b\u0000k")).toBe(saved);
    expect(replicas.load("b\u0000absent")).toBeNull();
    expect(get).not.toHaveBeenCalled();

    const reader = replicaStoreOver(store); // a cold cache: reads once, then serves
    expect(valueOf(reader.load("b\u0000k"))).toEqual(["a"]);
    expect(reader.load("b\u0000k")).toBe(reader.load("b\u0000k"));
    expect(get).toHaveBeenCalledTimes(1);
  });

  it("reads again after another writer put the key, even the same text", () => {
    const store = openBitcask();
    const replicas = replicaStoreOver(store);
    const first = version("first");
    replicas.save("b\u0000k", first);
    const second = version("second", first);
    store.put("b\u0000k", encodeVersion(second)); // hinted handoff, a test, another module
    expect(valueOf(replicas.load("b\u0000k"))).toEqual(["second"]);
    store.put("b\u0000k", encodeVersion(second));
    const get = vi.spyOn(store, "get");
    expect(valueOf(replicas.load("b\u0000k"))).toEqual(["second"]);
    expect(get).toHaveBeenCalledTimes(1);
  });

  it("answers null once the key was deleted underneath it", () => {
    const store = openBitcask();
    const replicas = replicaStoreOver(store);
    replicas.save("b\u0000k", version("a"));
    store.delete("b\u0000k");
    expect(replicas.load("b\u0000k")).toBeNull();
    replicas.save("b\u0000k", version("again"));
    replicas.remove("b\u0000k");
    expect(replicas.load("b\u0000k")).toBeNull();
  });

  it("reads each key once again after a merge moved its record", () => {
    const store = openBitcask();
    const replicas = replicaStoreOver(store);
    const keys = ["b\u0000x", "b\u0000y", "b\u0000z"];
    for (const key of keys) replicas.save(key, version(key));
    store.merge();
    const get = vi.spyOn(store, "get");
    for (const key of keys) expect(valueOf(replicas.load(key))).toEqual([key]);
    for (const key of keys) replicas.load(key);
    expect(get).toHaveBeenCalledTimes(keys.length);
  });

  it("checks the CRC of every read it does make: a flipped byte is reported, not served", () => {
    const store = openBitcask();
    replicaStoreOver(store).save("b\u0000k", version("a"));
    const dataFile = fs.readdirSync(folder).find((name) => name.endsWith(".data"))!;
    const bytes = fs.readFileSync(path.join(folder, dataFile));
    bytes[bytes.length - 3]! ^= 0x01;
    fs.writeFileSync(path.join(folder, dataFile), bytes);
    expect(() => replicaStoreOver(store).load("b\u0000k")).toThrow(StoreError);
  });
});

/** A store in memory with revisions, for counts of keys a real disk would make slow. */
class MemoryRevisionStore implements KeyValueStore {
  readonly values = new Map<string, { text: string; revision: number }>();
  private nextRevision = 1;
  reads = 0;

  get(key: string): string | undefined {
    this.reads += 1;
    return this.values.get(key)?.text;
  }
  put(key: string, value: string): void {
    this.values.set(key, { text: value, revision: this.nextRevision++ });
  }
  delete(key: string): void {
    this.values.delete(key);
  }
  keys(): string[] {
    return [...this.values.keys()];
  }
  revision(key: string): number | undefined {
    return this.values.get(key)?.revision;
  }
  sync(): void {}
  merge(): void {}
  stats(): StoreStats {
    return { keyCount: this.values.size, liveBytes: 0, totalBytes: 0, mergeCount: 0 };
  }
  close(): void {}
}

describe("the version cache's size limit", () => {
  it("forgets everything past parsedVersionCountMax, then reads again and still answers right", () => {
    const store = new MemoryRevisionStore();
    const replicas = replicaStoreOver(store);
    const keyCount = parsedVersionCountMax + 1;
    const first = version("first");
    replicas.save("b\u00000", first);
    const small = version("small");
    for (let index = 1; index < keyCount; index++) replicas.save(`b\u0000${index}`, small);
    store.put("b\u00001", encodeVersion(version("changed"))); // another writer
    expect(replicas.load("b\u00000")).toEqual(first);
    expect(valueOf(replicas.load("b\u00001"))).toEqual(["changed"]);
    expect(store.reads).toBe(2);
    replicas.load("b\u00000");
    expect(store.reads).toBe(2);
  });
});

describe("the version cache over a store without revisions", () => {
  it("compares the stored text: another writer's version is read, an unchanged one served", () => {
    const store = new MemoryRevisionStore();
    const textOnly: KeyValueStore = {
      get: (key) => store.get(key),
      put: (key, value) => store.put(key, value),
      delete: (key) => store.delete(key),
      keys: () => store.keys(),
      sync: () => {},
      merge: () => {},
      stats: () => store.stats(),
      close: () => {},
    };
    const replicas = replicaStoreOver(textOnly);
    const saved = version("a");
    replicas.save("b\u0000k", saved);
    expect(replicas.load("b\u0000k")).toBe(saved);
    store.put("b\u0000k", encodeVersion(version("b", saved)));
    expect(valueOf(replicas.load("b\u0000k"))).toEqual(["b"]);
  });
});
