// Tests for the CRDTs (lesson 6): the header's worked examples, add-wins and observed-remove,
// deferred removes, the merge laws and convergence on states built by random operations at
// random replicas with random merges (checked step by step against a naive reference that keeps
// every add and every remove forever), and the validation messages.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  assertCrdtState,
  counterIncrement,
  counterMerge,
  counterValue,
  crdtApply,
  crdtMerge,
  crdtOperationProblem,
  crdtStateProblem,
  crdtValue,
  deferredRemoveCountMax,
  operationElementCountMax,
  setAdd,
  setElementCountMax,
  setMerge,
  setRemove,
  setValue,
  type CrdtOperation,
  type CrdtState,
  type OrSet,
  type PnCounter,
} from "./crdt.ts";

/** States travel as JSON: every state that crosses a replica boundary in these tests does too. */
const wire = <T>(state: T): T => JSON.parse(JSON.stringify(state)) as T;
const json = (state: unknown) => JSON.stringify(state);

describe("pn-counter", () => {
  it("replays the header's example: concurrent +5 and -2 merge to 3 in any order", () => {
    const a = counterIncrement(null, "A", 5);
    const b = counterIncrement(null, "B", -2);
    expect(a).toEqual({ p: { A: 5 }, n: {} });
    expect(b).toEqual({ p: {}, n: { B: 2 } });
    expect(counterValue(counterMerge(a, b))).toBe(3);
    expect(json(counterMerge(a, b))).toBe(json(counterMerge(b, a)));
    expect(counterValue(counterMerge(counterMerge(a, b), b))).toBe(3);
  });

  it("keeps one total per actor, so an actor's later state supersedes its earlier one", () => {
    const first = counterIncrement(null, "A", 2);
    const later = counterIncrement(counterIncrement(first, "A", 3), "A", -1);
    expect(later).toEqual({ p: { A: 5 }, n: { A: 1 } });
    expect(counterValue(counterMerge(first, later))).toBe(4);
  });

  it("refuses an increment that would take a total past Number.MAX_SAFE_INTEGER", () => {
    const nearly = counterIncrement(null, "A", Number.MAX_SAFE_INTEGER - 1);
    expect(() => counterIncrement(nearly, "B", 2)).toThrow(
      "Expected `increment` to keep the counter's total of increments a safe integer, got 2 with 9007199254740990 already counted",
    );
    expect(counterValue(counterIncrement(nearly, "B", 1))).toBe(Number.MAX_SAFE_INTEGER);
    // Decrements have their own total, checked the same way.
    expect(counterValue(counterIncrement(nearly, "B", -5))).toBe(Number.MAX_SAFE_INTEGER - 6);
  });

  it("says so when concurrent increments at two replicas pass the bound together", () => {
    const a = counterIncrement(null, "A", Number.MAX_SAFE_INTEGER);
    const b = counterIncrement(null, "B", 1);
    expect(() => counterValue(counterMerge(a, b))).toThrow(/passed Number.MAX_SAFE_INTEGER/);
  });

  it("treats a zero increment as no change", () => {
    const a = counterIncrement(null, "A", 3);
    expect(counterIncrement(a, "B", 0)).toEqual(a);
  });
});

describe("or-set", () => {
  it("replays the header's worked example: a concurrent add wins over a remove", () => {
    const a1 = setAdd(null, "A", "x");
    expect(a1).toEqual({ clock: { A: 1 }, entries: { x: [["A", 1]] } });
    const b1 = setMerge(setAdd(null, "B", "other"), wire(a1));
    const b2 = setRemove(b1, "x");
    expect(b2.entries).toEqual({ other: [["B", 1]] });
    expect(b2.clock).toEqual({ A: 1, B: 1 });
    const a2 = setAdd(a1, "A", "x");
    expect(a2).toEqual({ clock: { A: 2 }, entries: { x: [["A", 2]] } });
    const merged = setMerge(a2, wire(b2));
    expect(setValue(merged)).toEqual(["other", "x"]);
    expect(merged.entries["x"]).toEqual([["A", 2]]);
    expect(json(setMerge(wire(b2), a2))).toBe(json(merged));
  });

  it("keeps an element that one replica removes while another adds it concurrently", () => {
    const base = setAdd(null, "A", "x");
    const removedAtB = setRemove(wire(base), "x");
    const addedAtC = setAdd(wire(base), "C", "x");
    expect(setValue(setMerge(removedAtB, addedAtC))).toEqual(["x"]);
    expect(setValue(setMerge(addedAtC, removedAtB))).toEqual(["x"]);
  });

  it("removes with a context only the dots the client observed", () => {
    const first = setAdd(null, "A", "x");
    const observed = first.clock; // a client reads { x } with this context
    const again = setAdd(first, "A", "x"); // then someone adds x again, unseen by the client
    const removed = setRemove(again, "x", observed);
    expect(setValue(removed)).toEqual(["x"]);
    expect(removed.entries["x"]).toEqual([["A", 2]]);
    // Without a context (or with a context that saw the second add) it goes.
    expect(setValue(setRemove(again, "x"))).toEqual([]);
    expect(setValue(setRemove(again, "x", again.clock))).toEqual([]);
  });

  it("defers a remove whose context is ahead of the replica, then applies it on merge", () => {
    const atA = setAdd(null, "A", "x");
    const context = atA.clock; // the client read A
    // The remove goes to B, which has not yet seen A's add.
    const atB = setRemove(setAdd(null, "B", "y"), "x", context);
    expect(atB.deferred).toEqual([{ context: { A: 1 }, elements: ["x"] }]);
    expect(setValue(atB)).toEqual(["y"]);
    // Meanwhile A adds z: unseen by the context, so the deferred remove must leave it alone.
    const atA2 = setAdd(atA, "A", "z");
    const merged = setMerge(atB, wire(atA2));
    expect(setValue(merged)).toEqual(["y", "z"]);
    expect(merged.deferred).toBeUndefined(); // the clock caught up: nothing waits any more
    expect(json(setMerge(wire(atA2), atB))).toBe(json(merged));
    // A third replica that saw A's x but not the remove loses x when it learns of the remove.
    const atC = setMerge(setAdd(null, "C", "w"), wire(atA));
    expect(setValue(setMerge(atC, wire(merged)))).toEqual(["w", "y", "z"]);
  });

  it("keeps a deferred remove through merges with replicas that cannot satisfy it", () => {
    const atA = setAdd(null, "A", "x");
    const atB = setRemove(null, "x", atA.clock);
    const unrelated = setAdd(null, "C", "y");
    const atB2 = setMerge(atB, wire(unrelated));
    expect(atB2.deferred).toEqual([{ context: { A: 1 }, elements: ["x"] }]);
    expect(setValue(setMerge(atB2, wire(atA)))).toEqual(["y"]);
  });

  it("does not bring back a removed element when merging with a replica that still holds it", () => {
    const atA = setAdd(null, "A", "x");
    const atB = setRemove(setMerge(setAdd(null, "B", "y"), wire(atA)), "x");
    expect(setValue(setMerge(atA, wire(atB)))).toEqual(["y"]);
    expect(setValue(setMerge(atB, wire(atA)))).toEqual(["y"]);
    // No tombstone is kept: only the clock remembers.
    expect(Object.keys(setMerge(atA, atB).entries)).toEqual(["y"]);
  });

  it("treats __proto__, constructor and numeric-looking strings as ordinary elements", () => {
    let state: OrSet | null = null;
    for (const element of ["__proto__", "constructor", "toString", "10", "9", ""]) {
      state = setAdd(state, "A", element);
    }
    const travelled = wire(state!);
    expect(setValue(travelled)).toEqual(["", "10", "9", "__proto__", "constructor", "toString"]);
    expect(Object.getPrototypeOf(travelled.entries)).toBe(Object.prototype);
    const removed = setRemove(travelled, "__proto__");
    expect(setValue(removed)).toEqual(["", "10", "9", "constructor", "toString"]);
    expect(setValue(setRemove(null, "constructor"))).toEqual([]);
  });

  it("refuses to grow past setElementCountMax, but takes an add paid for by a remove", () => {
    let state: CrdtState | null = null;
    const all = Array.from({ length: setElementCountMax }, (_, index) => `e${index}`);
    for (let start = 0; start < all.length; start += operationElementCountMax) {
      const add = all.slice(start, start + operationElementCountMax);
      state = crdtApply(state, { type: "or-set", add }, "A");
    }
    expect(crdtValue(state!)).toHaveLength(setElementCountMax);
    expect(crdtOperationProblem(state, { type: "or-set", add: ["new"] })).toBe(
      `Expected the set to hold at most ${setElementCountMax} elements, got ${setElementCountMax + 1} after this operation`,
    );
    expect(() => setAdd((state as { state: OrSet }).state, "A", "new")).toThrow(
      `got ${setElementCountMax + 1} after this add`,
    );
    expect(crdtOperationProblem(state, { type: "or-set", add: ["e0"] })).toBeUndefined();
    const swapped = crdtApply(state, { type: "or-set", add: ["new"], remove: ["e0"] }, "A");
    expect(crdtValue(swapped)).toHaveLength(setElementCountMax);
    expect(crdtValue(swapped)).toContain("new");
  });

  it("bounds the removes waiting for their context", () => {
    // Built directly: a thousand setRemove calls would re-sort the list a thousand times.
    const state: OrSet = {
      clock: {},
      entries: {},
      deferred: Array.from({ length: deferredRemoveCountMax }, (_, index) => ({
        context: { Z: index + 1 },
        elements: ["x"],
      })),
    };
    const operation: CrdtOperation = { type: "or-set", remove: ["x"], context: { Z: 1_000_000 } };
    const expected = `Expected at most ${deferredRemoveCountMax} removes waiting for their context, got one more: merge with the replica the context was read from first`;
    const tagged: CrdtState = { type: "or-set", state };
    expect(crdtOperationProblem(tagged, operation)).toBe(expected);
    expect(() => crdtApply(tagged, operation, "A")).toThrow(expected);
    expect(() => setRemove(state, "x", { Z: 1_000_000 })).toThrow(expected);
    expect(setRemove(state, "x", { Z: 7 }).deferred).toHaveLength(deferredRemoveCountMax);
    // A context already waiting takes more elements without a new entry.
    const sameContext = crdtApply(
      tagged,
      { type: "or-set", remove: ["y"], context: { Z: 7 } },
      "A",
    );
    expect((sameContext.state as OrSet).deferred).toHaveLength(deferredRemoveCountMax);
  });
});

// ---------------------------------------------------------------------------------------------
// Random histories: operations at random replicas, merges in random directions, each checked
// after every step against a naive reference that never forgets an add or a remove.

const replicaCount = 4;
const stateAt = (replicas: Array<CrdtState | null>, index: number) => replicas[index] ?? null;
const actorOf = (replica: number) => `n${replica + 1}@1`;
const replica = fc.nat(replicaCount - 1);
const element = fc.constantFrom("x", "y", "__proto__", "constructor", "10", "");

type CounterStep =
  | { kind: "increment"; replica: number; delta: number }
  | { kind: "merge"; replica: number; from: number };

const counterStep: fc.Arbitrary<CounterStep> = fc.oneof(
  fc.record({
    kind: fc.constant("increment" as const),
    replica,
    delta: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -1e9, max: 1e9 })),
  }),
  fc.record({ kind: fc.constant("merge" as const), replica, from: replica }),
);

type SetStep =
  | { kind: "add"; replica: number; element: string }
  | { kind: "remove"; replica: number; element: string }
  /** A client read `readFrom` and sends the remove, with that context, to `replica`. */
  | { kind: "remove-observed"; replica: number; readFrom: number; element: string }
  | { kind: "merge"; replica: number; from: number };

const setStep: fc.Arbitrary<SetStep> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("add" as const), replica, element }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("remove" as const), replica, element }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("remove-observed" as const),
      replica,
      readFrom: replica,
      element,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("merge" as const), replica, from: replica }),
    weight: 3,
  },
);

interface CounterRun {
  replicas: Array<CrdtState | null>;
  snapshots: CrdtState[];
  total: number;
}

function runCounter(steps: CounterStep[]): CounterRun {
  const replicas: Array<CrdtState | null> = Array.from({ length: replicaCount }, () => null);
  // Reference: the increments each replica knows of, by a global id.
  const deltas: number[] = [];
  const known = Array.from({ length: replicaCount }, () => new Set<number>());
  const snapshots: CrdtState[] = [];
  for (const step of steps) {
    if (step.kind === "increment") {
      const operation: CrdtOperation = { type: "pn-counter", increment: step.delta };
      replicas[step.replica] = crdtApply(
        stateAt(replicas, step.replica),
        operation,
        actorOf(step.replica),
      );
      known[step.replica]!.add(deltas.push(step.delta) - 1);
    } else {
      const incoming = stateAt(replicas, step.from);
      replicas[step.replica] = crdtMerge(
        stateAt(replicas, step.replica),
        incoming && wire(incoming),
      );
      for (const id of known[step.from]!) known[step.replica]!.add(id);
    }
    const state = stateAt(replicas, step.replica);
    const expected = [...known[step.replica]!].reduce((sum, id) => sum + deltas[id]!, 0);
    expect(state === null ? 0 : crdtValue(state)).toBe(expected);
    if (state !== null) snapshots.push(state);
  }
  return { replicas, snapshots, total: deltas.reduce((sum, delta) => sum + delta, 0) };
}

interface SetRun {
  replicas: Array<CrdtState | null>;
  snapshots: CrdtState[];
}

function runSet(steps: SetStep[]): SetRun {
  const replicas: Array<CrdtState | null> = Array.from({ length: replicaCount }, () => null);
  // Reference: every add gets a tag; a replica knows some adds and some removed tags, and an
  // element is present while one of its known tags is not removed. Merge is union of both.
  const adds = Array.from({ length: replicaCount }, () => new Map<string, string>());
  const removed = Array.from({ length: replicaCount }, () => new Set<string>());
  const tagsOf = (at: number, target: string) =>
    [...adds[at]!].filter(([, value]) => value === target).map(([tag]) => tag);
  const snapshots: CrdtState[] = [];
  let tagCount = 0;
  for (const step of steps) {
    const here = step.replica;
    if (step.kind === "add") {
      const operation: CrdtOperation = { type: "or-set", add: [step.element] };
      replicas[here] = crdtApply(stateAt(replicas, here), operation, actorOf(here));
      adds[here]!.set(`t${(tagCount += 1)}`, step.element);
    } else if (step.kind === "remove") {
      const operation: CrdtOperation = { type: "or-set", remove: [step.element] };
      replicas[here] = crdtApply(stateAt(replicas, here), operation, actorOf(here));
      for (const tag of tagsOf(here, step.element)) removed[here]!.add(tag);
    } else if (step.kind === "remove-observed") {
      const read = stateAt(replicas, step.readFrom);
      const context = read?.type === "or-set" ? wire(read.state.clock) : {};
      const operation: CrdtOperation = { type: "or-set", remove: [step.element], context };
      replicas[here] = crdtApply(stateAt(replicas, here), operation, actorOf(here));
      for (const tag of tagsOf(step.readFrom, step.element)) removed[here]!.add(tag);
    } else {
      const incoming = stateAt(replicas, step.from);
      replicas[here] = crdtMerge(stateAt(replicas, here), incoming && wire(incoming));
      for (const [tag, value] of adds[step.from]!) adds[here]!.set(tag, value);
      for (const tag of removed[step.from]!) removed[here]!.add(tag);
    }
    const expected = [
      ...new Set(
        [...adds[here]!].filter(([tag]) => !removed[here]!.has(tag)).map(([, value]) => value),
      ),
    ];
    const state = stateAt(replicas, here);
    expect(state === null ? [] : crdtValue(state)).toEqual(
      expected.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    if (state !== null) snapshots.push(state);
  }
  return { replicas, snapshots };
}

/** Every replica sends its state to every other, twice around: all now hold everything. */
function exchangeAll(replicas: Array<CrdtState | null>): Array<CrdtState | null> {
  const result = [...replicas];
  for (let round = 0; round < 2; round += 1) {
    for (let to = 0; to < result.length; to += 1) {
      for (let from = 0; from < result.length; from += 1) {
        const incoming = stateAt(result, from);
        result[to] = crdtMerge(stateAt(result, to), incoming && wire(incoming));
      }
    }
  }
  return result;
}

const picks = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 1, maxLength: 6 });

function checkMergeLaws(snapshots: CrdtState[], triples: Array<[number, number, number]>) {
  if (snapshots.length === 0) return;
  for (const [i, j, k] of triples) {
    const a = snapshots[i % snapshots.length]!;
    const b = snapshots[j % snapshots.length]!;
    const c = snapshots[k % snapshots.length]!;
    // Equal JSON, not only equal values: states are canonical, so replicas hash alike.
    expect(json(crdtMerge(a, b)), "commutative").toBe(json(crdtMerge(b, a)));
    expect(json(crdtMerge(crdtMerge(a, b), c)), "associative").toBe(
      json(crdtMerge(a, crdtMerge(b, c))),
    );
    expect(json(crdtMerge(a, a)), "idempotent").toBe(json(a));
    expect(json(crdtMerge(a, crdtMerge(a, b))), "absorbs").toBe(json(crdtMerge(a, b)));
    expect(crdtStateProblem(wire(crdtMerge(a, b)))).toBeUndefined();
  }
}

const steps = <T>(step: fc.Arbitrary<T>) => fc.array(step, { maxLength: 60, size: "max" });

describe("merge laws and convergence on random histories", () => {
  it("pn-counter: merges are commutative, associative and idempotent", () => {
    fc.assert(
      fc.property(steps(counterStep), picks, (program, triples) => {
        checkMergeLaws(runCounter(program).snapshots, triples);
      }),
      { numRuns: 300 },
    );
  });

  it("pn-counter: every replica reads the sum of the increments it knows, and once all states are merged, the sum of all", () => {
    fc.assert(
      fc.property(steps(counterStep), (program) => {
        const run = runCounter(program);
        const converged = exchangeAll(run.replicas);
        for (const state of converged) {
          expect(state === null ? 0 : crdtValue(state)).toBe(run.total);
          expect(json(state)).toBe(json(converged[0]));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("or-set: merges are commutative, associative and idempotent", () => {
    fc.assert(
      fc.property(steps(setStep), picks, (program, triples) => {
        checkMergeLaws(runSet(program).snapshots, triples);
      }),
      { numRuns: 300 },
    );
  });

  it("or-set: every replica matches the reference after every step, and all converge", () => {
    fc.assert(
      fc.property(steps(setStep), (program) => {
        const converged = exchangeAll(runSet(program).replicas);
        for (const state of converged) expect(json(state)).toBe(json(converged[0]));
        // Merging everything is also where every deferred remove finds its dots.
        for (const state of converged) {
          if (state?.type === "or-set") expect(state.state.deferred).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("or-set: the state stays compact (at most one dot per replica per element)", () => {
    fc.assert(
      fc.property(steps(setStep), (program) => {
        for (const state of runSet(program).snapshots) {
          const set = state.state as OrSet;
          for (const dots of Object.values(set.entries)) {
            expect(dots.length).toBeLessThanOrEqual(replicaCount);
          }
          expect(Object.keys(set.clock).length).toBeLessThanOrEqual(replicaCount);
        }
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("crdtApply and crdtMerge", () => {
  it("applies counter and set operations through the tagged union", () => {
    const counter = crdtApply(null, { type: "pn-counter", increment: 4 }, "A");
    expect(crdtValue(crdtApply(counter, { type: "pn-counter", increment: -6 }, "B"))).toBe(-2);
    const set = crdtApply(null, { type: "or-set", add: ["b", "a", "b"] }, "A");
    expect(crdtValue(set)).toEqual(["a", "b"]);
    expect((set.state as OrSet).clock).toEqual({ A: 2 }); // the duplicate "b" minted no dot
    expect(crdtValue(crdtApply(set, { type: "or-set", remove: ["a", "zzz"] }, "B"))).toEqual(["b"]);
  });

  it("refuses to merge a counter with a set", () => {
    const counter = crdtApply(null, { type: "pn-counter", increment: 1 }, "A");
    const set = crdtApply(null, { type: "or-set", add: ["x"] }, "A");
    expect(() => crdtMerge(counter, set)).toThrow(
      "Cannot merge a pn-counter with an or-set: a key holds one data type",
    );
    expect(() => crdtMerge(set, counter)).toThrow(
      "Cannot merge an or-set with a pn-counter: a key holds one data type",
    );
    expect(crdtMerge(null, set)).toBe(set);
    expect(crdtMerge(null, null)).toBeNull();
  });

  const counter: CrdtState = { type: "pn-counter", state: { p: { A: 1 }, n: {} } };
  const set: CrdtState = { type: "or-set", state: { clock: { A: 1 }, entries: { x: [["A", 1]] } } };
  const cases: Array<[string, CrdtState | null, unknown, string]> = [
    [
      "a fractional increment",
      null,
      { type: "pn-counter", increment: 1.5 },
      "Expected `increment` to be a safe integer, got 1.5",
    ],
    [
      "a string increment",
      null,
      { type: "pn-counter", increment: "3" },
      'Expected `increment` to be a safe integer, got "3"',
    ],
    [
      "a missing increment",
      counter,
      { type: "pn-counter" },
      "Expected `increment` to be a safe integer, got undefined",
    ],
    [
      "an unsafe increment",
      null,
      { type: "pn-counter", increment: 2 ** 53 },
      "Expected `increment` to be a safe integer, got 9007199254740992",
    ],
    [
      "NaN",
      null,
      { type: "pn-counter", increment: Number.NaN },
      "Expected `increment` to be a safe integer, got NaN",
    ],
    [
      "a misspelt field",
      null,
      { type: "pn-counter", incremnt: 1 },
      "Expected only `type` and `increment` in a pn-counter operation, got `incremnt`",
    ],
    [
      "an unknown type",
      null,
      { type: "g-counter", increment: 1 },
      'Expected `type` to be "pn-counter" or "or-set", got "g-counter"',
    ],
    ["no object", null, null, "Expected the operation to be an object, got null"],
    [
      "a set operation on a counter",
      counter,
      { type: "or-set", add: ["x"] },
      "Expected a pn-counter operation for a key that holds a pn-counter, got an or-set operation",
    ],
    [
      "a counter operation on a set",
      set,
      { type: "pn-counter", increment: 1 },
      "Expected an or-set operation for a key that holds an or-set, got a pn-counter operation",
    ],
    [
      "an empty set operation",
      set,
      { type: "or-set" },
      "Expected `add` or `remove` to hold at least one element, got none",
    ],
    [
      "add as a string",
      null,
      { type: "or-set", add: "x" },
      'Expected `add` to be an array of strings, got "x"',
    ],
    [
      "a number element",
      null,
      { type: "or-set", remove: [1] },
      "Expected each element of `remove` to be a string, got 1",
    ],
    [
      "a long element",
      null,
      { type: "or-set", add: ["a".repeat(1025)] },
      "Expected each element of `add` to be at most 1024 bytes, got 1025",
    ],
    [
      "a long multibyte element",
      null,
      { type: "or-set", add: ["é".repeat(513)] },
      "Expected each element of `add` to be at most 1024 bytes, got 1026",
    ],
    [
      "too many adds",
      null,
      { type: "or-set", add: Array.from({ length: 1001 }, (_, i) => `${i}`) },
      "Expected `add` to hold at most 1000 elements, got 1001",
    ],
    [
      "too many together",
      null,
      {
        type: "or-set",
        add: Array.from({ length: 600 }, (_, i) => `a${i}`),
        remove: Array.from({ length: 500 }, (_, i) => `r${i}`),
      },
      "Expected at most 1000 elements in `add` and `remove` together, got 1100",
    ],
    [
      "one element both ways",
      null,
      { type: "or-set", add: ["x", "y"], remove: ["y"] },
      'Expected each element in at most one of `add` and `remove`, got "y" in both',
    ],
    [
      "a zero in the context",
      set,
      { type: "or-set", remove: ["x"], context: { A: 0 } },
      'Expected `context` to map each actor to a positive safe integer, got 0 for "A"',
    ],
    [
      "a context that is an array",
      set,
      { type: "or-set", remove: ["x"], context: [] },
      "Expected `context` to be an object of actor counters, got []",
    ],
    [
      "an unknown set field",
      set,
      { type: "or-set", add: ["x"], contxt: {} },
      "Expected only `type`, `add`, `remove` and `context` in an or-set operation, got `contxt`",
    ],
  ];

  it.each(cases)("refuses %s with its message", (_name, state, operation, message) => {
    expect(crdtOperationProblem(state, operation)).toBe(message);
    expect(() => crdtApply(state, operation as CrdtOperation, "A")).toThrow(message);
    expect(() => crdtApply(state, operation as CrdtOperation, "A")).toThrow(RangeError);
  });

  it("accepts the valid neighbours of those cases", () => {
    const valid: Array<[CrdtState | null, unknown]> = [
      [null, { type: "pn-counter", increment: -(2 ** 53 - 1) }],
      [counter, { type: "pn-counter", increment: 0 }],
      [null, { type: "or-set", add: ["a".repeat(1024)] }],
      [null, { type: "or-set", add: ["é".repeat(512)] }],
      [set, { type: "or-set", remove: ["x"], context: { A: 1 } }],
      [null, { type: "or-set", add: Array.from({ length: 1000 }, (_, i) => `${i}`) }],
    ];
    for (const [state, operation] of valid) {
      expect(crdtOperationProblem(state, operation)).toBeUndefined();
      expect(crdtStateProblem(crdtApply(state, operation as CrdtOperation, "A"))).toBeUndefined();
    }
  });
});

describe("state invariants (states arrive as JSON from peers and disk)", () => {
  const broken: Array<[string, unknown, RegExp]> = [
    [
      "a dot the clock has not seen",
      { type: "or-set", state: { clock: { A: 1 }, entries: { x: [["A", 2]] } } },
      /not covered by its set's clock/,
    ],
    [
      "two dots of one actor",
      {
        type: "or-set",
        state: {
          clock: { A: 2 },
          entries: {
            x: [
              ["A", 1],
              ["A", 2],
            ],
          },
        },
      },
      /two dots of actor "A"/,
    ],
    [
      "an element without dots",
      { type: "or-set", state: { clock: {}, entries: { x: [] } } },
      /non-empty array/,
    ],
    [
      "a deferred remove the clock covers",
      {
        type: "or-set",
        state: { clock: { A: 1 }, entries: {}, deferred: [{ context: { A: 1 }, elements: ["x"] }] },
      },
      /should have been applied/,
    ],
    [
      "a held dot a deferred remove covers",
      {
        type: "or-set",
        state: {
          clock: { A: 1 },
          entries: { x: [["A", 1]] },
          deferred: [{ context: { A: 1, B: 1 }, elements: ["x"] }],
        },
      },
      /held although a deferred remove covers it/,
    ],
    [
      "a negative counter total",
      { type: "pn-counter", state: { p: { A: -1 }, n: {} } },
      /positive safe integer/,
    ],
    ["a counter without n", { type: "pn-counter", state: { p: {} } }, /`n` to be an object/],
    ["an unknown type", { type: "g-set", state: {} }, /"pn-counter" or "or-set"/],
  ];

  it.each(broken)("finds %s", (_name, state, message) => {
    expect(crdtStateProblem(state)).toMatch(message);
    expect(() => assertCrdtState(state)).toThrow(message);
  });

  it("merge refuses a broken state instead of spreading it", () => {
    const good = crdtApply(null, { type: "or-set", add: ["x"] }, "A");
    const bad = { type: "or-set", state: { clock: {}, entries: { x: [["B", 1]] } } } as CrdtState;
    expect(() => crdtMerge(good, bad)).toThrow(/not covered/);
    const counterState: PnCounter = { p: { A: 1.5 }, n: {} };
    expect(() => counterMerge(counterState, { p: {}, n: {} })).toThrow(/positive safe integer/);
  });
});
