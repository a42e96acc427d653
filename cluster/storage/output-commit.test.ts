// OutputCommit (lesson 5: acknowledged means on disk): outputs wait for the commit that covers
// the writes before them, and leave in the order they were produced.

import { describe, expect, it } from "vitest";
import { OutputCommit, type CommitSource } from "./output-commit.ts";

/** A store whose disk finishes only when the test says so. */
class FakeStore implements CommitSource {
  writeSequence = 0;
  commitSequence = 0;
  private waiters: { sequence: number; done: (error: Error | undefined) => void }[] = [];
  write(): void {
    this.writeSequence += 1;
  }
  afterCommit(done: (error: Error | undefined) => void): void {
    this.waiters.push({ sequence: this.writeSequence, done });
  }
  commitUpTo(sequence: number, error?: Error): void {
    this.commitSequence = error === undefined ? sequence : this.commitSequence;
    const ready = this.waiters.filter(
      (waiter) => error !== undefined || waiter.sequence <= sequence,
    );
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.done(error);
  }
  get waiting(): number {
    return this.waiters.length;
  }
}

describe("OutputCommit", () => {
  it("lets an output through at once when every write before it is committed", () => {
    const store = new FakeStore();
    const sent: string[] = [];
    const outputs = new OutputCommit(store, () => {});
    outputs.release(() => sent.push("a"));
    store.write();
    store.commitUpTo(1);
    outputs.release(() => sent.push("b"));
    expect(sent).toEqual(["a", "b"]);
    expect(store.waiting).toBe(0);
  });

  it("holds outputs until the commit covering their writes, and keeps their order", () => {
    const store = new FakeStore();
    const sent: string[] = [];
    const outputs = new OutputCommit(store, () => {});
    store.write();
    outputs.release(() => sent.push("A after write 1"));
    store.write();
    outputs.release(() => sent.push("B after write 2"));
    outputs.release(() => sent.push("C after no new write"));
    expect(sent).toEqual([]);
    expect(store.waiting).toBe(2); // one afterCommit per new write, not per output
    store.commitUpTo(1);
    expect(sent).toEqual(["A after write 1"]);
    outputs.release(() => sent.push("D")); // C and B still wait: D may not overtake them
    expect(sent).toEqual(["A after write 1"]);
    store.commitUpTo(2);
    expect(sent).toEqual(["A after write 1", "B after write 2", "C after no new write", "D"]);
    expect(outputs.heldCount).toBe(0);
  });

  it("drops held outputs and reports a failed commit", () => {
    const store = new FakeStore();
    const sent: string[] = [];
    const failures: Error[] = [];
    const outputs = new OutputCommit(store, (error) => failures.push(error));
    store.write();
    outputs.release(() => sent.push("never"));
    const failure = new Error("EIO");
    store.commitUpTo(0, failure);
    expect(sent).toEqual([]);
    expect(failures).toEqual([failure]);
    expect(outputs.heldCount).toBe(0);
  });
});
