// Property test (lesson 5, "systems that never stop"): random sequences of put, delete, sync,
// merge, reopen and crash against a Map model. Both stores must agree with the model after every
// step; for the simulated disk the model also tracks what was synced, because its crash is a
// power loss. fast-check shrinks a failure to the shortest sequence that still breaks.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BitcaskStore } from "./bitcask.ts";
import { putRecordBytes } from "./record.ts";
import { SimulatedDisk } from "./simulated-disk.ts";
import type { KeyValueStore, SyncPolicy } from "./store.ts";

type Operation =
  | { kind: "put"; key: string; value: string }
  | { kind: "delete"; key: string }
  | { kind: "sync" }
  | { kind: "merge" }
  | { kind: "reopen" }
  | { kind: "crash" };

const keySpace = ["a", "b", "c", "ключ", "🔑"];
const keyArbitrary = fc.constantFrom(...keySpace);
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("put" as const),
      key: keyArbitrary,
      value: fc.string({ unit: "grapheme", maxLength: 30 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: keyArbitrary }) },
  { weight: 1, arbitrary: fc.constant({ kind: "sync" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "merge" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "crash" as const }) },
);
const policyArbitrary: fc.Arbitrary<SyncPolicy> = fc.constantFrom(
  { kind: "always" as const },
  { kind: "interval" as const, intervalMs: 1000 },
  { kind: "never" as const },
);

/** The model: what the store holds now, and what a power loss would leave. */
class Model {
  current = new Map<string, string>();
  durable = new Map<string, string>();
  constructor(private readonly syncPolicy: SyncPolicy) {}

  apply(operation: Operation, crashLosesUnsyncedWrites: boolean): void {
    switch (operation.kind) {
      case "put":
        this.current.set(operation.key, operation.value);
        break;
      case "delete":
        this.current.delete(operation.key);
        break;
      case "sync":
      case "merge":
        this.durable = new Map(this.current);
        break;
      case "reopen":
        if (this.syncPolicy.kind !== "never") this.durable = new Map(this.current);
        break;
      case "crash":
        if (crashLosesUnsyncedWrites) this.current = new Map(this.durable);
        break;
    }
    // With a clock that never moves, `interval` syncs only when told to, like `never`.
    if (this.syncPolicy.kind === "always") this.durable = new Map(this.current);
  }
}

interface Subject {
  open(): KeyValueStore;
  crash(store: KeyValueStore): void;
  crashLosesUnsyncedWrites: boolean;
  dispose(): void;
}

function run(subject: Subject, syncPolicy: SyncPolicy, operations: Operation[]): void {
  const model = new Model(syncPolicy);
  let store = subject.open();
  try {
    for (const operation of operations) {
      switch (operation.kind) {
        case "put":
          store.put(operation.key, operation.value);
          break;
        case "delete":
          store.delete(operation.key);
          break;
        case "sync":
          store.sync();
          break;
        case "merge":
          store.merge();
          expect(store.stats().totalBytes).toBe(store.stats().liveBytes);
          break;
        case "reopen":
          store.close();
          store = subject.open();
          break;
        case "crash":
          subject.crash(store);
          store = subject.open();
          break;
      }
      model.apply(operation, subject.crashLosesUnsyncedWrites);
      expectAgreement(store, model.current);
    }
  } finally {
    store.close();
    subject.dispose();
  }
}

function expectAgreement(store: KeyValueStore, expected: Map<string, string>): void {
  for (const key of keySpace) expect(store.get(key)).toBe(expected.get(key));
  expect(store.keys().sort()).toEqual([...expected.keys()].sort());
  let liveBytes = 0;
  for (const [key, value] of expected) liveBytes += putRecordBytes(key, value);
  expect(store.stats().liveBytes).toBe(liveBytes);
  expect(store.stats().totalBytes).toBeGreaterThanOrEqual(liveBytes);
}

describe("store property: random operations agree with a Map model", () => {
  it("Bitcask store (small files, in-process crashes keep what reached the kernel)", () => {
    fc.assert(
      fc.property(
        policyArbitrary,
        fc.constantFrom(64, 128, 4096),
        fc.array(operationArbitrary, { maxLength: 40 }),
        (syncPolicy, fileBytesMax, operations) => {
          const folder = fs.mkdtempSync(path.join(os.tmpdir(), "neverstop-property-"));
          const subject: Subject = {
            open: () => BitcaskStore.open({ folder, syncPolicy, fileBytesMax, now: () => 0 }),
            crash: (store) => (store as BitcaskStore).crashForTesting(),
            crashLosesUnsyncedWrites: false,
            dispose: () => fs.rmSync(folder, { recursive: true, force: true }),
          };
          run(subject, syncPolicy, operations);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("simulated disk (a crash is a power loss: unsynced writes go)", () => {
    fc.assert(
      fc.property(
        policyArbitrary,
        fc.array(operationArbitrary, { maxLength: 60 }),
        (syncPolicy, operations) => {
          const disk = new SimulatedDisk();
          const subject: Subject = {
            open: () => disk.open({ syncPolicy, now: () => 0 }),
            crash: () => disk.crash(),
            crashLosesUnsyncedWrites: true,
            dispose: () => {},
          };
          run(subject, syncPolicy, operations);
        },
      ),
      { numRuns: 300 },
    );
  });
});
