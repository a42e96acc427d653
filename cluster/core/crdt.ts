// Conflict-free replicated data types in the style of Riak DT (lesson 6, "sharing data", and
// lesson 5, "systems that never stop"). Pure functions over plain JSON states: states are
// stored as JSON and sent between nodes, and any two replicas that have merged each other's
// states hold the same value, whatever order the merges ran in and however the network was cut.
// That is what lets the node accept an update at any replica during a partition and lose none.
//
// Two types, the two riak_dt modules the lesson names:
//
// PN-counter (riak_dt_pncounter): one grow-only total per actor for increments (`p`) and one for
// decrements (`n`); the value is sum(p) - sum(n); merge is the pointwise maximum. An actor only
// ever raises its own totals, so the larger of two totals for one actor has seen every increment
// the smaller has, and the maximum loses nothing.
//   A increments 5, B increments -2, concurrently:   A {p:{A:5}}   B {n:{B:2}}
//   merge: {p:{A:5}, n:{B:2}} = 3 on both; merging again, or in the other order, still gives 3.
//
// OR-set without tombstones (riak_dt_orswot, "observed-remove set without tombstones"): every add
// mints a dot (actor, counter) from the set's own clock; an element is present while it holds at
// least one dot. A remove drops the element's dots and keeps no tombstone: the clock remembers
// that those dots were seen, which is all a merge needs to tell "removed here" from "not yet
// arrived here". A merge keeps a dot if both sides hold it, or if one holds it and the other's
// clock has not seen it. Worked example (tested in crdt.test.ts):
//   A adds "x"                             A: clock {A:1}    entries {x: [(A,1)]}
//   B merges A's state                     B: clock {A:1}    entries {x: [(A,1)]}
//   B removes "x"                          B: clock {A:1}    entries {}         (no tombstone)
//   A adds "x" again, concurrently         A: clock {A:2}    entries {x: [(A,2)]}
//   merge A and B: (A,2) is unseen by B's clock {A:1}, so it is kept: "x" is present (add wins);
//   (A,1) was seen by both and is held by neither, so it is gone on both.
// The state stays compact: one dot per actor per element at most (an add replaces the element's
// dots its replica has seen), and removed elements leave nothing behind.
//
// A remove may carry a causal context: the clock of the state the client read. It removes only
// the dots that clock covers, so an add the client never saw survives (add wins). The replica
// applying the remove may not have seen everything the context has (the client read another
// replica): it removes what it holds now and keeps the remove *deferred* until its clock covers
// the context, as riak_dt_orswot does; each merge applies the deferred removes to the dots that
// arrive. Contexts must be ones the node issued (opaque to clients, like versions.ts's): a forged
// context that claims to have seen future dots would remove adds nobody saw.
//
// Elements are strings. The routes take strings, and a string compares one way everywhere; a
// caller that wants JSON values in a set canonicalises them to strings first (for example
// JSON.stringify with sorted keys), so that equal values are equal elements. Keying by canonical
// JSON here instead would hide that rule inside the module and make `remove` of 1.0 vs 1 or of
// {"a":1,"b":2} vs {"b":2,"a":1} depend on a canonical form the client cannot see.
//
// Actors are `node@incarnation`, as in versions.ts: a node that restarts after losing unsynced
// updates must never reuse its old totals or dots (a counter total that went back down would be
// hidden by the maximum, and its new increments lost). So the number of actors in a clock or a
// counter grows with the cluster's restarts, not with its clients, and is bounded only by them.
//
// States are canonical: records sorted by key, dots by actor, `deferred` omitted when empty, so
// equal states are equal JSON and hash alike in the Merkle trees of anti-entropy.
//
// Elements and keys come from clients: "__proto__" and "constructor" are ordinary elements here,
// so records are read with Object.hasOwn and built with Object.fromEntries, never by assignment.

import type { VersionVector } from "./versions.ts";

/** Elements one set may hold. Checked on adds; concurrent adds on two replicas may pass it by
 * their sum when merged (a merge must never fail, or anti-entropy would stall). */
export const setElementCountMax = 10_000;
/** UTF-8 bytes in one element. */
export const elementLengthMax = 1024;
/** Elements in one operation's `add` plus `remove`. */
export const operationElementCountMax = 1000;
/** Removes waiting for their context (one per distinct context not yet seen here). */
export const deferredRemoveCountMax = 1000;
/** Characters in an actor name (`node@incarnation`). */
export const actorLengthMax = 256;
/** Actors in a client's context. A state's own clock has no such bound: it grows with the
 * cluster's restarts (see the header), but a context a client hands back must be bounded. */
export const contextActorCountMax = 4096;

export type Dot = [actor: string, counter: number];

export interface PnCounter {
  /** Per actor: the total of its positive increments. */
  p: Record<string, number>;
  /** Per actor: the total of its negative increments, as a positive number. */
  n: Record<string, number>;
}

export interface DeferredRemove {
  /** The clock the client read; not yet covered by the set's own clock. */
  context: VersionVector;
  elements: string[];
}

export interface OrSet {
  /** Every add this replica has seen: actor -> the highest counter of its dots. */
  clock: VersionVector;
  /** Present elements and the dots that keep them present. */
  entries: Record<string, Dot[]>;
  /** Removes whose context is ahead of `clock`; absent when there are none. */
  deferred?: DeferredRemove[];
}

export type CrdtType = "pn-counter" | "or-set";

export type CrdtState = { type: "pn-counter"; state: PnCounter } | { type: "or-set"; state: OrSet };

export type CrdtOperation =
  | { type: "pn-counter"; increment: number }
  | { type: "or-set"; add?: string[]; remove?: string[]; context?: VersionVector };

export type CrdtValue = number | string[];

// ---------------------------------------------------------------------------------------------
// PN-counter

/** The counter after `actor` adds `delta` (negative deltas count in `n`). */
export function counterIncrement(state: PnCounter | null, actor: string, delta: number): PnCounter {
  assertActor(actor);
  if (state !== null) assertCounter(state);
  const current = state ?? { p: {}, n: {} };
  const problem = incrementProblem(current, delta);
  if (problem !== undefined) throw new RangeError(problem);
  const side = delta >= 0 ? "p" : "n";
  const totals = new Map(Object.entries(current[side]));
  if (delta !== 0) totals.set(actor, (totals.get(actor) ?? 0) + Math.abs(delta));
  const result: PnCounter = {
    p: side === "p" ? sortedRecord(totals) : sortedRecord(Object.entries(current.p)),
    n: side === "n" ? sortedRecord(totals) : sortedRecord(Object.entries(current.n)),
  };
  assertCounter(result);
  return result;
}

export function counterValue(state: PnCounter): number {
  const increments = sideTotal(state.p);
  const decrements = sideTotal(state.n);
  // Each replica keeps its own totals safe (incrementProblem); increments made concurrently at
  // different replicas can still pass the bound together, and then the sum would be inexact.
  if (!Number.isSafeInteger(increments) || !Number.isSafeInteger(decrements)) {
    throw new RangeError(
      "The counter's total passed Number.MAX_SAFE_INTEGER: concurrent increments at different replicas went past the bound each checks alone",
    );
  }
  return increments - decrements;
}

/** Pointwise maximum: commutative, associative, idempotent. */
export function counterMerge(a: PnCounter, b: PnCounter): PnCounter {
  assertCounter(a);
  assertCounter(b);
  const result: PnCounter = { p: maxRecord(a.p, b.p), n: maxRecord(a.n, b.n) };
  assertCounter(result);
  return result;
}

function incrementProblem(state: PnCounter, delta: unknown): string | undefined {
  if (typeof delta !== "number" || !Number.isSafeInteger(delta)) {
    return `Expected \`increment\` to be a safe integer, got ${shown(delta)}`;
  }
  const counted = sideTotal(delta >= 0 ? state.p : state.n);
  if (counted + Math.abs(delta) > Number.MAX_SAFE_INTEGER) {
    return `Expected \`increment\` to keep the counter's total of ${delta >= 0 ? "increments" : "decrements"} a safe integer, got ${delta} with ${counted} already counted`;
  }
  return undefined;
}

function sideTotal(totals: Record<string, number>): number {
  let sum = 0;
  for (const total of Object.values(totals)) sum += total;
  return sum;
}

function maxRecord(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const joined = new Map(Object.entries(a));
  for (const [actor, total] of Object.entries(b)) {
    joined.set(actor, Math.max(joined.get(actor) ?? 0, total));
  }
  return sortedRecord(joined);
}

// ---------------------------------------------------------------------------------------------
// OR-set: the public functions open a state into Maps, work on them, and close it into canonical
// JSON again, so a batch of adds costs one copy instead of one per element.

interface WorkingSet {
  clock: Map<string, number>;
  entries: Map<string, Dot[]>;
  /** Keyed by the context's canonical JSON, so equal contexts share one deferred remove. */
  deferred: Map<string, { context: VersionVector; elements: Set<string> }>;
}

/** The set after `actor` adds `element` with a new dot. */
export function setAdd(state: OrSet | null, actor: string, element: string): OrSet {
  const working = openSet(state);
  addElement(working, actor, element);
  return closeSet(working);
}

/**
 * The set after removing `element`'s dots: all those held here, or with a `context`, those the
 * context covers. Removing an absent element is not an error: a retried remove must succeed.
 */
export function setRemove(state: OrSet | null, element: string, context?: VersionVector): OrSet {
  const working = openSet(state);
  removeElement(working, element, context);
  return closeSet(working);
}

/** The present elements, sorted (by UTF-16 code units: the same order on every machine). */
export function setValue(state: OrSet): string[] {
  return Object.keys(state.entries).sort(compareText);
}

/** The ORSWOT join: commutative, associative, idempotent. */
export function setMerge(a: OrSet, b: OrSet): OrSet {
  assertOrSet(a);
  assertOrSet(b);
  const merged: WorkingSet = {
    clock: new Map(Object.entries(joinClocks(a.clock, b.clock))),
    entries: new Map(),
    deferred: new Map(),
  };
  for (const element of new Set([...Object.keys(a.entries), ...Object.keys(b.entries)])) {
    const dotsA = own(a.entries, element) ?? [];
    const dotsB = own(b.entries, element) ?? [];
    // A dot one side lacks but whose clock has seen it was removed (or superseded) there.
    const kept = [
      ...dotsA.filter((dot) => holdsDot(dotsB, dot) || !covers(b.clock, dot)),
      ...dotsB.filter((dot) => !holdsDot(dotsA, dot) && !covers(a.clock, dot)),
    ];
    if (kept.length > 0) merged.entries.set(element, kept);
  }
  for (const side of [a, b]) {
    for (const { context, elements } of side.deferred ?? []) {
      for (const element of elements) deferRemove(merged, context, element);
    }
  }
  applyDeferred(merged);
  return closeSet(merged);
}

function addElement(working: WorkingSet, actor: string, element: string): void {
  assertActor(actor);
  const problem = elementProblem("element", element);
  if (problem !== undefined) throw new RangeError(problem);
  if (!working.entries.has(element) && working.entries.size >= setElementCountMax) {
    throw new RangeError(
      `Expected the set to hold at most ${setElementCountMax} elements, got ${working.entries.size + 1} after this add`,
    );
  }
  const counter = (working.clock.get(actor) ?? 0) + 1;
  working.clock.set(actor, counter);
  // The new dot replaces every dot of the element held here: this replica's clock has seen them
  // all, so a replica merging this state learns they are superseded (seen here, held nowhere).
  working.entries.set(element, [[actor, counter]]);
  // A deferred remove covers only dots its client saw, never a new one, unless its context was
  // forged; applying it anyway keeps the invariant "no held dot is covered by a deferred remove".
  for (const { context, elements } of working.deferred.values()) {
    if (elements.has(element) && covers(context, [actor, counter])) {
      working.entries.delete(element);
    }
  }
}

function removeElement(
  working: WorkingSet,
  element: string,
  context: VersionVector | undefined,
): void {
  const problem =
    elementProblem("element", element) ??
    (context === undefined ? undefined : clockProblem("context", context, contextActorCountMax));
  if (problem !== undefined) throw new RangeError(problem);
  const dots = working.entries.get(element) ?? [];
  const survivors = context === undefined ? [] : dots.filter((dot) => !covers(context, dot));
  if (survivors.length > 0) working.entries.set(element, survivors);
  else working.entries.delete(element);
  if (context !== undefined && !descends(Object.fromEntries(working.clock), context)) {
    // The client saw adds this replica has not: remove those too when they arrive.
    if (
      !working.deferred.has(contextKey(context)) &&
      working.deferred.size >= deferredRemoveCountMax
    ) {
      throw new RangeError(
        `Expected at most ${deferredRemoveCountMax} removes waiting for their context, got one more: merge with the replica the context was read from first`,
      );
    }
    deferRemove(working, context, element);
  }
}

function deferRemove(working: WorkingSet, context: VersionVector, element: string): void {
  const key = contextKey(context);
  const deferred = working.deferred.get(key);
  if (deferred === undefined) {
    working.deferred.set(key, {
      context: sortedRecord(Object.entries(context)),
      elements: new Set([element]),
    });
  } else {
    deferred.elements.add(element);
  }
}

/** Drops the dots each deferred remove covers; forgets the removes the clock has caught up with. */
function applyDeferred(working: WorkingSet): void {
  const clock = Object.fromEntries(working.clock);
  for (const [key, { context, elements }] of working.deferred) {
    for (const element of elements) {
      const survivors = (working.entries.get(element) ?? []).filter((dot) => !covers(context, dot));
      if (survivors.length > 0) working.entries.set(element, survivors);
      else working.entries.delete(element);
    }
    // Every dot the context covers has now arrived here and was just dropped, or was dropped
    // before: a later merge drops it again because this clock has seen it.
    if (descends(clock, context)) working.deferred.delete(key);
  }
}

function openSet(state: OrSet | null): WorkingSet {
  if (state === null) return { clock: new Map(), entries: new Map(), deferred: new Map() };
  assertOrSet(state);
  const working: WorkingSet = {
    clock: new Map(Object.entries(state.clock)),
    entries: new Map(Object.entries(state.entries).map(([element, dots]) => [element, [...dots]])),
    deferred: new Map(),
  };
  for (const { context, elements } of state.deferred ?? []) {
    for (const element of elements) deferRemove(working, context, element);
  }
  return working;
}

function closeSet(working: WorkingSet): OrSet {
  const result: OrSet = {
    clock: sortedRecord(working.clock),
    entries: sortedRecord(
      [...working.entries].map(([element, dots]): [string, Dot[]] => [element, sortDots(dots)]),
    ),
  };
  const deferred = [...working.deferred]
    .sort(([a], [b]) => compareText(a, b))
    .map(([, { context, elements }]) => ({ context, elements: [...elements].sort(compareText) }));
  if (deferred.length > 0) result.deferred = deferred;
  assertOrSet(result);
  return result;
}

function sortDots(dots: Dot[]): Dot[] {
  return [...dots].sort((a, b) => compareText(a[0], b[0]) || a[1] - b[1]);
}

function holdsDot(dots: Dot[], dot: Dot): boolean {
  return dots.some((other) => other[0] === dot[0] && other[1] === dot[1]);
}

function contextKey(context: VersionVector): string {
  return JSON.stringify(Object.entries(context).sort(([a], [b]) => compareText(a, b)));
}

// ---------------------------------------------------------------------------------------------
// The tagged union the node stores and its routes apply.

/** Merges two replicas' states of one key; null is "no copy". Refuses two different types. */
export function crdtMerge(a: CrdtState, b: CrdtState | null): CrdtState;
export function crdtMerge(a: CrdtState | null, b: CrdtState): CrdtState;
export function crdtMerge(a: CrdtState | null, b: CrdtState | null): CrdtState | null;
export function crdtMerge(a: CrdtState | null, b: CrdtState | null): CrdtState | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.type === "pn-counter" && b.type === "pn-counter") {
    return { type: "pn-counter", state: counterMerge(a.state, b.state) };
  }
  if (a.type === "or-set" && b.type === "or-set") {
    return { type: "or-set", state: setMerge(a.state, b.state) };
  }
  // One key holds one type for its whole life; two types for one key can only come from
  // concurrent first updates of different types, which the node prevents by keeping each type
  // under its own keys. There is no meaningful join of a counter and a set.
  throw new Error(`Cannot merge ${named(a.type)} with ${named(b.type)}: a key holds one data type`);
}

export function crdtValue(state: CrdtState): CrdtValue {
  return state.type === "pn-counter" ? counterValue(state.state) : setValue(state.state);
}

/**
 * The reason `operation` can never apply to `state` (null: the key has no state yet), in the
 * project's message form, or undefined. The node answers 400 with it; crdtApply throws it.
 */
export function crdtOperationProblem(
  state: CrdtState | null,
  operation: unknown,
): string | undefined {
  if (!isPlainRecord(operation)) {
    return `Expected the operation to be an object, got ${shown(operation)}`;
  }
  const type = operation["type"];
  if (type !== "pn-counter" && type !== "or-set") {
    return `Expected \`type\` to be "pn-counter" or "or-set", got ${shown(type)}`;
  }
  if (state !== null && state.type !== type) {
    return `Expected ${named(state.type)} operation for a key that holds ${named(state.type)}, got ${named(type)} operation`;
  }
  const allowed =
    type === "pn-counter" ? ["type", "increment"] : ["type", "add", "remove", "context"];
  const unknown = Object.keys(operation).find((field) => !allowed.includes(field));
  if (unknown !== undefined) {
    const fields = allowed.map((field) => `\`${field}\``);
    const listed = `${fields.slice(0, -1).join(", ")} and ${fields.at(-1)!}`;
    return `Expected only ${listed} in ${named(type)} operation, got \`${unknown}\``;
  }
  if (type === "pn-counter") {
    return incrementProblem(
      state?.type === "pn-counter" ? state.state : { p: {}, n: {} },
      operation["increment"],
    );
  }
  return setOperationProblem(state?.type === "or-set" ? state.state : null, operation);
}

/** The state after `actor` applies `operation`; throws a RangeError with the one-line reason
 * when the operation is invalid (see crdtOperationProblem). */
export function crdtApply(
  state: CrdtState | null,
  operation: CrdtOperation,
  actor: string,
): CrdtState {
  const problem = crdtOperationProblem(state, operation);
  if (problem !== undefined) throw new RangeError(problem);
  assertActor(actor);
  if (operation.type === "pn-counter") {
    const counter = state?.type === "pn-counter" ? state.state : null;
    return { type: "pn-counter", state: counterIncrement(counter, actor, operation.increment) };
  }
  const working = openSet(state?.type === "or-set" ? state.state : null);
  // Removes first: the elements of `add` and `remove` are disjoint, so the order changes nothing
  // but the peak size, and this way a full set can take an add paid for by a remove.
  for (const element of new Set(operation.remove ?? [])) {
    removeElement(working, element, operation.context);
  }
  for (const element of new Set(operation.add ?? [])) addElement(working, actor, element);
  return { type: "or-set", state: closeSet(working) };
}

function setOperationProblem(
  state: OrSet | null,
  operation: Record<string, unknown>,
): string | undefined {
  const add = operation["add"];
  const remove = operation["remove"];
  const context = operation["context"];
  const problem =
    elementsProblem("add", add) ??
    elementsProblem("remove", remove) ??
    (context === undefined ? undefined : clockProblem("context", context, contextActorCountMax));
  if (problem !== undefined) return problem;
  const adds = new Set((add ?? []) as string[]);
  const removes = new Set((remove ?? []) as string[]);
  if (adds.size + removes.size === 0) {
    return "Expected `add` or `remove` to hold at least one element, got none";
  }
  if (adds.size + removes.size > operationElementCountMax) {
    return `Expected at most ${operationElementCountMax} elements in \`add\` and \`remove\` together, got ${adds.size + removes.size}`;
  }
  const both = [...adds].find((element) => removes.has(element));
  if (both !== undefined) {
    return `Expected each element in at most one of \`add\` and \`remove\`, got ${shown(both)} in both`;
  }
  return state === null
    ? undefined
    : setLimitProblem(state, adds, removes, context as VersionVector | undefined);
}

/** The limits that depend on the state: its size after the operation, and deferred removes. */
function setLimitProblem(
  state: OrSet,
  adds: Set<string>,
  removes: Set<string>,
  context: VersionVector | undefined,
): string | undefined {
  let size = Object.keys(state.entries).length;
  for (const element of adds) if (own(state.entries, element) === undefined) size += 1;
  for (const element of removes) {
    const dots = own(state.entries, element);
    if (
      dots !== undefined &&
      (context === undefined || dots.every((dot) => covers(context, dot)))
    ) {
      size -= 1;
    }
  }
  if (adds.size > 0 && size > setElementCountMax) {
    return `Expected the set to hold at most ${setElementCountMax} elements, got ${size} after this operation`;
  }
  const deferredCount = state.deferred?.length ?? 0;
  if (
    removes.size > 0 &&
    context !== undefined &&
    !descends(state.clock, context) &&
    !(state.deferred ?? []).some(
      (deferred) => contextKey(deferred.context) === contextKey(context),
    ) &&
    deferredCount >= deferredRemoveCountMax
  ) {
    return `Expected at most ${deferredRemoveCountMax} removes waiting for their context, got one more: merge with the replica the context was read from first`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Invariants, asserted on every state built here and on every state merged in (TigerBeetle
// style: both sides; states arrive as JSON from peers and from disk).

/** The reason `value` is not a well-formed CrdtState, or undefined. */
export function crdtStateProblem(value: unknown): string | undefined {
  if (!isPlainRecord(value)) return `Expected a CRDT state to be an object, got ${shown(value)}`;
  if (value["type"] === "pn-counter") return counterProblem(value["state"]);
  if (value["type"] === "or-set") return orSetProblem(value["state"]);
  return `Expected a CRDT state's \`type\` to be "pn-counter" or "or-set", got ${shown(value["type"])}`;
}

export function assertCrdtState(value: unknown): asserts value is CrdtState {
  const problem = crdtStateProblem(value);
  if (problem !== undefined) throw new Error(problem);
}

function assertCounter(state: PnCounter): void {
  const problem = counterProblem(state);
  if (problem !== undefined) throw new Error(problem);
}

function assertOrSet(state: OrSet): void {
  const problem = orSetProblem(state);
  if (problem !== undefined) throw new Error(problem);
}

function assertActor(actor: string): void {
  const problem = actorProblem("actor", actor);
  if (problem !== undefined) throw new RangeError(problem);
}

function counterProblem(value: unknown): string | undefined {
  if (!isPlainRecord(value))
    return `Expected a pn-counter state to be an object, got ${shown(value)}`;
  return clockProblem("p", value["p"], Infinity) ?? clockProblem("n", value["n"], Infinity);
}

function orSetProblem(value: unknown): string | undefined {
  if (!isPlainRecord(value)) return `Expected an or-set state to be an object, got ${shown(value)}`;
  const clock = value["clock"];
  const entries = value["entries"];
  const problem = clockProblem("clock", clock, Infinity);
  if (problem !== undefined) return problem;
  if (!isPlainRecord(entries)) return `Expected \`entries\` to be an object, got ${shown(entries)}`;
  for (const [element, dots] of Object.entries(entries)) {
    const dotsProblem =
      elementProblem("element", element) ?? heldDotsProblem(element, dots, clock as VersionVector);
    if (dotsProblem !== undefined) return dotsProblem;
  }
  return deferredProblem(value, clock as VersionVector, entries as Record<string, Dot[]>);
}

function heldDotsProblem(element: string, dots: unknown, clock: VersionVector) {
  if (!Array.isArray(dots) || dots.length === 0) {
    return `Expected the dots of ${shown(element)} to be a non-empty array, got ${shown(dots)}`;
  }
  const actors = new Set<string>();
  for (const dot of dots as unknown[]) {
    if (
      !Array.isArray(dot) ||
      dot.length !== 2 ||
      typeof dot[0] !== "string" ||
      actorProblem("actor", dot[0]) !== undefined ||
      !Number.isSafeInteger(dot[1]) ||
      (dot[1] as number) < 1
    ) {
      return `Expected a dot of ${shown(element)} to be [actor, positive counter], got ${shown(dot)}`;
    }
    if (!covers(clock, dot as Dot)) {
      return `Dot ${shown(dot)} of ${shown(element)} is not covered by its set's clock`;
    }
    // An add replaces the dots its replica has seen, and a replica has seen all its actor's
    // earlier dots, so two dots of one actor on one element mean two replicas share an actor.
    if (actors.has(dot[0]))
      return `Element ${shown(element)} holds two dots of actor ${shown(dot[0])}`;
    actors.add(dot[0]);
  }
  return undefined;
}

function deferredProblem(
  value: Record<string, unknown>,
  clock: VersionVector,
  entries: Record<string, Dot[]>,
): string | undefined {
  const deferred = value["deferred"];
  if (deferred === undefined) return undefined;
  if (!Array.isArray(deferred) || deferred.length === 0) {
    return `Expected \`deferred\` to be absent or a non-empty array, got ${shown(deferred)}`;
  }
  for (const remove of deferred as unknown[]) {
    if (!isPlainRecord(remove))
      return `Expected a deferred remove to be an object, got ${shown(remove)}`;
    const { context, elements } = remove;
    const problem = clockProblem("context", context, Infinity);
    if (problem !== undefined) return problem;
    if (!Array.isArray(elements) || elements.length === 0) {
      return `Expected a deferred remove's \`elements\` to be a non-empty array, got ${shown(elements)}`;
    }
    if (descends(clock, context as VersionVector)) {
      return "A deferred remove whose context the clock covers should have been applied";
    }
    for (const element of elements as unknown[]) {
      const elementIssue = elementProblem("element", element);
      if (elementIssue !== undefined) return elementIssue;
      const covered = (own(entries, element as string) ?? []).find((dot) =>
        covers(context as VersionVector, dot),
      );
      if (covered !== undefined) {
        return `Dot ${shown(covered)} of ${shown(element)} is held although a deferred remove covers it`;
      }
    }
  }
  return undefined;
}

function clockProblem(name: string, value: unknown, actorCountMax: number): string | undefined {
  if (!isPlainRecord(value))
    return `Expected \`${name}\` to be an object of actor counters, got ${shown(value)}`;
  const pairs = Object.entries(value);
  if (pairs.length > actorCountMax) {
    return `Expected \`${name}\` to name at most ${actorCountMax} actors, got ${pairs.length}`;
  }
  for (const [actor, counter] of pairs) {
    const problem = actorProblem(`an actor of \`${name}\``, actor);
    if (problem !== undefined) return problem;
    if (typeof counter !== "number" || !Number.isSafeInteger(counter) || counter < 1) {
      return `Expected \`${name}\` to map each actor to a positive safe integer, got ${shown(counter)} for ${shown(actor)}`;
    }
  }
  return undefined;
}

function actorProblem(name: string, actor: unknown): string | undefined {
  if (typeof actor !== "string" || actor.length === 0 || actor.length > actorLengthMax) {
    return `Expected ${name.startsWith("an ") ? name : `\`${name}\``} to be a string of 1 to ${actorLengthMax} characters, got ${shown(actor)}`;
  }
  return undefined;
}

function elementsProblem(name: "add" | "remove", value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value))
    return `Expected \`${name}\` to be an array of strings, got ${shown(value)}`;
  if (value.length > operationElementCountMax) {
    return `Expected \`${name}\` to hold at most ${operationElementCountMax} elements, got ${value.length}`;
  }
  for (const element of value as unknown[]) {
    const problem = elementProblem(`each element of \`${name}\``, element);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function elementProblem(name: string, element: unknown): string | undefined {
  const what = name.startsWith("each ") ? name : `\`${name}\``;
  if (typeof element !== "string") return `Expected ${what} to be a string, got ${shown(element)}`;
  // Three bytes per UTF-16 unit at most: short strings need no encoding to be measured.
  if (element.length * 3 <= elementLengthMax) return undefined;
  const length = new TextEncoder().encode(element).length;
  if (length > elementLengthMax) {
    return `Expected ${what} to be at most ${elementLengthMax} bytes, got ${length}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Clocks and records, read with Object.hasOwn: "constructor" is an element like any other.

function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function covers(clock: VersionVector, dot: Dot): boolean {
  return (own(clock, dot[0]) ?? 0) >= dot[1];
}

/** a <= b: `b` has seen every event `a` has. */
function descends(b: VersionVector, a: VersionVector): boolean {
  return Object.entries(a).every(([actor, counter]) => (own(b, actor) ?? 0) >= counter);
}

function joinClocks(a: VersionVector, b: VersionVector): VersionVector {
  return maxRecord(a, b);
}

function sortedRecord<T>(pairs: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...pairs].sort(([a], [b]) => compareText(a, b)));
}

function named(type: CrdtType): string {
  return type === "or-set" ? "an or-set" : "a pn-counter";
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as a message shows it: numbers as written, the rest as (shortened) JSON. */
function shown(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || value === undefined) {
    return String(value);
  }
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
