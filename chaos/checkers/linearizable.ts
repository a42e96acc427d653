// The linearizability checker (lesson 6, sharing data, and lesson 3, network splits: the
// verdict on whether replicated copies behaved like one copy while the network broke).
//
// The algorithm is Wing & Gong's search as improved by Lowe and implemented in Porcupine
// (checker.go). The history becomes a doubly linked list of call and return entries in
// real-time order. The search walks the list from the head:
//   - at a call, it tries to linearize that operation now: if the model accepts it and the
//     pair (set of linearized operations, new state) has not been explored before, it
//     "lifts" the call and its return out of the list, pushes it on a stack and restarts
//     from the head; otherwise it moves on to the next entry;
//   - at a return, the operation it closes should have been linearized already and was not:
//     the search backtracks, "unlifting" the last operation and trying the next entry after it.
// The list is empty when every operation is linearized (valid); the stack is empty when
// every choice has been tried (invalid).
//
// Worked example (a register, initially nil):
//   p0 |--write(1)--|
//   p1      |--read()->1--|
//   p2                        |--read()->nil--|
// write(1) then read()->1 lift; read()->nil meets a register holding 1 and no order avoids it:
// invalid, longest linearizable prefix [write(1), read()->1], failed operation read()->nil.
//
// Choices made here, each with its reason:
//   - `fail` operations are dropped (they did not happen); `info` and never-completed ones get
//     their return at the end of the history (they may take effect at any later time).
//   - P-compositionality: a model with `partitionKey` has each key checked on its own, which
//     turns one exponential search into many small ones.
//   - The cache key is the set of linearized operations (a bitset with a Zobrist hash kept up
//     to date as bits flip, so no bitset is copied until an entry is stored) and the state.
//   - The list lives in Int32Arrays (next, prev, match) instead of node objects.
//   - A time limit gives `valid: "unknown"`, never a guess.
//
// No Node built-ins: this runs in the browser (the course site checks histories live).

import { pairOperations } from "../harness/history.ts";
import type { Operation, OperationPair } from "../harness/history.ts";
import type { AnyModel } from "./models.ts";

export type Verdict = true | false | "unknown";

export interface CheckLinearizableOptions {
  /** Give up after this many milliseconds with `valid: "unknown"`. Default: no limit. */
  timeoutMs?: number;
  /** A clock in milliseconds; default `globalThis.performance.now()`. */
  now?: () => number;
}

/** One operation as the counter-example shows it. */
export interface DescribedOperation {
  /** The invoke's `index` in the history. */
  index: number;
  /** The completion's `index`, or `undefined` when the outcome is unknown. */
  completionIndex: number | undefined;
  process: number;
  description: string;
}

export interface PartitionResult {
  /** The partition key, or `undefined` when the model does not partition. */
  key: string | undefined;
  valid: Verdict;
  /** Operations checked in this partition (fails and unknown reads are dropped first). */
  operationCount: number;
  /** Search steps taken, a measure of how hard the partition was. */
  steps: number;
  /** Distinct (linearized set, state) pairs the search stored. */
  exploredStates: number;
}

export interface CounterExample {
  key?: string;
  /** History indices (of invokes) of the longest prefix found, in linearization order. */
  longestLinearizablePrefix: number[];
  /** The operations of that prefix, described by the model. */
  prefixOperations: DescribedOperation[];
  /** The operation whose return came while it could not be linearized after that prefix. */
  failedOperation: DescribedOperation;
  /** The model's state after the prefix. */
  stateAfterPrefix: string;
}

export interface LinearizableResult {
  valid: Verdict;
  model: string;
  operationCount: number;
  partitions: PartitionResult[];
  counterExample?: CounterExample;
  /** Why the verdict is "unknown", when it is. */
  reason?: string;
}

/** Partitions with more operations than this are refused: the cache would not fit. */
export const partitionOperationCountMax = 1_000_000;
/** How many search steps run between two looks at the clock. */
const clockCheckInterval = 1024;

interface CheckedOperation {
  pair: OperationPair;
  input: unknown;
  output: unknown;
  /** Position of the return in real-time order; pending operations sort after everything. */
  returnPosition: number;
}

/** Search steps a partition gets in the first round; each round doubles it. */
const firstRoundSteps = 4096;

/** Checks that `history` is linearizable with respect to `model`. */
export function checkLinearizable(
  model: AnyModel,
  history: readonly Operation[],
  options: CheckLinearizableOptions = {},
): LinearizableResult {
  const now = options.now ?? (() => globalThis.performance.now());
  const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
  const partitions = partitionOperations(model, pairOperations(history), history.length);
  const searches: PartitionSearch[] = [];
  for (const [key, operations] of partitions)
    searches.push(new PartitionSearch(model, key, operations));
  const verdict = runSearches(searches, deadline, now);
  const result: LinearizableResult = {
    valid: verdict,
    model: model.name,
    operationCount: searches.reduce((sum, search) => sum + search.operations.length, 0),
    partitions: searches.map((search) => ({
      key: search.key,
      valid: search.verdict,
      operationCount: search.operations.length,
      steps: search.steps,
      exploredStates: search.exploredStates,
    })),
  };
  const failed = searches.find((search) => search.verdict === false);
  if (failed !== undefined) result.counterExample = counterExample(model, failed);
  if (verdict === "unknown") result.reason = `time limit of ${options.timeoutMs} ms reached`;
  return result;
}

/**
 * Runs the partitions in rounds, each round doubling every unfinished partition's step
 * budget, and stops at the first partition that is not linearizable. Porcupine runs the
 * partitions in parallel and stops the same way; round-robin gives one thread the same
 * property: one hard valid key cannot hide an easy invalid one.
 */
function runSearches(searches: PartitionSearch[], deadline: number, now: () => number): Verdict {
  let budget = firstRoundSteps;
  let running = searches.filter(
    (search) => search.verdict === "unknown" && !search.run(0, deadline, now),
  );
  while (running.length > 0) {
    for (const search of running) {
      search.run(budget, deadline, now);
      if (search.verdict === false) return false;
      if (search.timedOut) return "unknown";
    }
    running = running.filter((search) => search.verdict === "unknown");
    budget = Math.min(budget * 2, 1 << 30);
  }
  return searches.every((search) => search.verdict === true) ? true : "unknown";
}

function partitionOperations(
  model: AnyModel,
  pairs: OperationPair[],
  historyLength: number,
): Map<string | undefined, CheckedOperation[]> {
  const partitions = new Map<string | undefined, CheckedOperation[]>();
  let pendingCount = 0;
  for (const pair of pairs) {
    const call = model.call(pair.invoke, pair.completion);
    if (call === null) continue;
    const known = pair.completion !== undefined && pair.completion.type !== "info";
    const returnPosition = known ? pair.completionPosition : historyLength + pendingCount++;
    const key = model.partitionKey === undefined ? undefined : model.partitionKey(call.input);
    let operations = partitions.get(key);
    if (operations === undefined) {
      operations = [];
      partitions.set(key, operations);
    }
    if (operations.length >= partitionOperationCountMax) {
      throw new RangeError(
        `Expected at most ${partitionOperationCountMax} operations per partition, got more`,
      );
    }
    operations.push({ pair, input: call.input, output: call.output, returnPosition });
  }
  return partitions;
}

/** Deterministic 32-bit keys for the Zobrist hash of the linearized set (xorshift32). */
function zobristKeys(count: number): Int32Array {
  const keys = new Int32Array(count);
  let seed = 0x2f6b3c1d;
  for (let index = 0; index < count; index += 1) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    keys[index] = seed;
  }
  return keys;
}

/**
 * The set of (linearized operations, state) pairs already explored: open addressing over
 * typed arrays, bitsets packed in one pool, so storing an entry allocates nothing new until
 * the table grows. Each slot is two neighbouring numbers in one array, the entry and its hash,
 * so a probe reads one cache line instead of one in each of two arrays: with hundreds of
 * thousands of entries nearly every probe misses the cache, and the misses were the cost.
 */
class ExploredCache {
  /** slots[2i] = entry number + 1 (0 = empty), slots[2i + 1] = that entry's hash. */
  private slots: Int32Array;
  private mask: number;
  private bitsPool: Uint32Array;
  private readonly states: unknown[] = [];
  size = 0;

  constructor(
    private readonly words: number,
    private readonly model: AnyModel,
  ) {
    this.slots = new Int32Array(2 * 1024);
    this.mask = 1023;
    this.bitsPool = new Uint32Array(Math.max(words, 1) * 512);
  }

  /** Adds (bits, state) under `hash`; false when it was explored already. */
  insert(hash: number, bits: Uint32Array, state: unknown): boolean {
    const words = this.words;
    const slots = this.slots;
    let slot = hash & this.mask;
    for (;;) {
      const stored = slots[2 * slot]!;
      if (stored === 0) break;
      if (slots[2 * slot + 1] === hash) {
        const base = (stored - 1) * words;
        let same = true;
        for (let word = 0; word < words; word += 1) {
          if (this.bitsPool[base + word] !== bits[word]) {
            same = false;
            break;
          }
        }
        if (same && this.model.equal(this.states[stored - 1], state)) return false;
      }
      slot = (slot + 1) & this.mask;
    }
    const entry = this.size;
    if ((entry + 1) * words > this.bitsPool.length) {
      const grown = new Uint32Array(this.bitsPool.length * 2);
      grown.set(this.bitsPool);
      this.bitsPool = grown;
    }
    const base = entry * words;
    for (let word = 0; word < words; word += 1) this.bitsPool[base + word] = bits[word]!;
    this.states.push(state);
    slots[2 * slot] = entry + 1;
    slots[2 * slot + 1] = hash;
    this.size += 1;
    if (this.size * 2 > this.mask + 1) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.slots.length / 2 - 1;
    for (let oldSlot = 0; oldSlot < old.length; oldSlot += 2) {
      const stored = old[oldSlot]!;
      if (stored === 0) continue;
      const hash = old[oldSlot + 1]!;
      let slot = hash & this.mask;
      while (this.slots[2 * slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[2 * slot] = stored;
      this.slots[2 * slot + 1] = hash;
    }
  }
}

/**
 * The search over one partition, resumable so that partitions can take turns. Entry 0 is the
 * head; entries 1..2n are calls and returns in real-time order. `match[call]` is its return
 * entry; `match[return]` is -1.
 */
class PartitionSearch {
  verdict: Verdict = "unknown";
  timedOut = false;
  steps = 0;
  /** The longest linearizable prefix seen (operation numbers), its state, and the blocked op. */
  longest: number[] = [];
  longestState: unknown;
  failed = -1;

  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly match: Int32Array;
  private readonly operationOf: Int32Array;
  private readonly inputs: unknown[];
  private readonly outputs: unknown[];
  private readonly readOnly: Uint8Array;
  private readonly keys: Int32Array;
  private readonly linearized: Uint32Array;
  private readonly cache: ExploredCache;
  private readonly stackEntries: Int32Array;
  private readonly stackStates: unknown[];
  private linearizedHash = 0;
  private depth = 0;
  private state: unknown;
  private entry: number;

  constructor(
    private readonly model: AnyModel,
    readonly key: string | undefined,
    readonly operations: CheckedOperation[],
  ) {
    const count = operations.length;
    const entryCount = 2 * count + 1;
    this.next = new Int32Array(entryCount);
    this.prev = new Int32Array(entryCount);
    this.match = new Int32Array(entryCount).fill(-1);
    this.operationOf = new Int32Array(entryCount).fill(-1);
    buildEntries(operations, this.next, this.prev, this.match, this.operationOf);
    this.inputs = operations.map((operation) => operation.input);
    this.outputs = operations.map((operation) => operation.output);
    this.readOnly = new Uint8Array(count);
    if (model.readOnly !== undefined) {
      for (let operation = 0; operation < count; operation += 1) {
        this.readOnly[operation] = model.readOnly(this.inputs[operation], this.outputs[operation])
          ? 1
          : 0;
      }
    }
    this.keys = zobristKeys(count);
    this.linearized = new Uint32Array((count + 31) >>> 5);
    this.cache = new ExploredCache(this.linearized.length, model);
    this.stackEntries = new Int32Array(count);
    this.stackStates = new Array<unknown>(count).fill(undefined);
    this.state = model.init();
    this.longestState = this.state;
    this.entry = this.next[0]!;
    if (count === 0) this.verdict = true;
  }

  get exploredStates(): number {
    return this.cache.size;
  }

  /** Takes up to `budget` steps; true when the verdict is known. */
  run(budget: number, deadline: number, now: () => number): boolean {
    if (this.verdict !== "unknown") return true;
    const {
      next,
      prev,
      match,
      operationOf,
      inputs,
      outputs,
      keys,
      linearized,
      cache,
      stackEntries,
      stackStates,
      model,
      readOnly,
    } = this;
    let { entry, state, depth, linearizedHash, steps } = this;
    const stepsEnd = steps + budget;
    let verdict: Verdict = "unknown";
    while (steps < stepsEnd) {
      if (next[0] === -1) {
        verdict = true;
        break;
      }
      steps += 1;
      if ((steps & (clockCheckInterval - 1)) === 0 && now() > deadline) {
        this.timedOut = true;
        break;
      }
      const matching = match[entry]!;
      if (matching !== -1) {
        const operation = operationOf[entry]!;
        // Indexing, not `const [legal, newState] = ...`: array destructuring goes through the
        // iterator protocol, which costs little once the JIT has compiled this loop but a lot
        // before it has, and a cold check (the CLI's) runs this loop uncompiled for a while.
        const answer = model.step(state, inputs[operation], outputs[operation]);
        const newState: unknown = answer[1];
        if (answer[0]) {
          const word = operation >>> 5;
          const bit = 1 << (operation & 31);
          linearized[word]! |= bit;
          const bitsHash = linearizedHash ^ keys[operation]!;
          const hash = (bitsHash ^ Math.imul(model.hash(newState), 0x85ebca6b)) | 0;
          if (cache.insert(hash, linearized, newState)) {
            stackEntries[depth] = entry;
            stackStates[depth] = state;
            depth += 1;
            state = newState;
            linearizedHash = bitsHash;
            liftEntry(entry, matching, next, prev);
            entry = next[0]!;
            continue;
          }
          linearized[word]! &= ~bit;
        }
        entry = next[entry]!;
        continue;
      }
      // A return of an operation not yet linearized: note the best prefix, then backtrack.
      if (depth > this.longest.length || this.failed === -1) {
        this.notePrefix(depth, state, operationOf[entry]!);
      }
      if (depth === 0) {
        verdict = false;
        break;
      }
      // Pop the last choice. A read-only operation that was legal where it was tried can be
      // moved to the front of any linearization from there (it changes no state, and every
      // operation that had to precede it already did), so if trying it first failed, every
      // other choice at that point fails too: pop again instead of trying the next entry.
      let operation: number;
      do {
        depth -= 1;
        entry = stackEntries[depth]!;
        state = stackStates[depth];
        stackStates[depth] = undefined;
        operation = operationOf[entry]!;
        linearized[operation >>> 5]! &= ~(1 << (operation & 31));
        linearizedHash ^= keys[operation]!;
        unliftEntry(entry, match[entry]!, next, prev);
      } while (readOnly[operation] === 1 && depth > 0);
      if (readOnly[operation] === 1) {
        verdict = false;
        break;
      }
      entry = next[entry]!;
    }
    if (verdict === "unknown" && next[0] === -1) verdict = true;
    this.entry = entry;
    this.state = state;
    this.depth = depth;
    this.linearizedHash = linearizedHash;
    this.steps = steps;
    this.verdict = verdict;
    if (verdict === true) this.notePrefix(depth, state, -1);
    return verdict !== "unknown";
  }

  /**
   * Keeps the linearized prefix on the stack as the longest seen, its state, and the operation
   * that could not follow it (-1 when there is none). Out of `run` on purpose: it runs rarely,
   * and a rare path inside the hot loop is where the JIT's first compiled code gives up (it has
   * not seen it run yet) and has to compile the loop again, which a cold check pays for.
   */
  private notePrefix(depth: number, state: unknown, failed: number): void {
    const operationOf = this.operationOf;
    const longest = new Array<number>(depth);
    for (let index = 0; index < depth; index += 1) {
      longest[index] = operationOf[this.stackEntries[index]!]!;
    }
    this.longest = longest;
    this.longestState = state;
    this.failed = failed;
  }
}

/** Lays out the call and return entries in real-time order as a linked list after the head. */
function buildEntries(
  operations: CheckedOperation[],
  next: Int32Array,
  prev: Int32Array,
  match: Int32Array,
  operationOf: Int32Array,
): void {
  const count = operations.length;
  // (position, 0 call | 1 return, operation), sorted by position: the real-time order.
  const events: Array<[number, number, number]> = new Array(2 * count);
  for (let operation = 0; operation < count; operation += 1) {
    const checked = operations[operation]!;
    events[2 * operation] = [checked.pair.invokePosition, 0, operation];
    events[2 * operation + 1] = [checked.returnPosition, 1, operation];
  }
  events.sort((left, right) => left[0] - right[0] || left[1] - right[1]);
  const callEntry = new Int32Array(count);
  const returnEntry = new Int32Array(count);
  let previous = 0;
  for (let index = 0; index < events.length; index += 1) {
    const entry = index + 1;
    const [, kind, operation] = events[index]!;
    operationOf[entry] = operation;
    if (kind === 0) callEntry[operation] = entry;
    else returnEntry[operation] = entry;
    next[previous] = entry;
    prev[entry] = previous;
    previous = entry;
  }
  next[previous] = -1;
  prev[0] = -1;
  for (let operation = 0; operation < count; operation += 1)
    match[callEntry[operation]!] = returnEntry[operation]!;
}

/** Takes a call and its return out of the list (the call's `next` always exists). */
function liftEntry(call: number, matching: number, next: Int32Array, prev: Int32Array): void {
  next[prev[call]!] = next[call]!;
  prev[next[call]!] = prev[call]!;
  const after = next[matching]!;
  next[prev[matching]!] = after;
  if (after !== -1) prev[after] = prev[matching]!;
}

/** Puts them back, in the reverse order of `liftEntry`, so the neighbours line up again. */
function unliftEntry(call: number, matching: number, next: Int32Array, prev: Int32Array): void {
  next[prev[matching]!] = matching;
  const after = next[matching]!;
  if (after !== -1) prev[after] = matching;
  next[prev[call]!] = call;
  prev[next[call]!] = call;
}

function describe(model: AnyModel, operation: CheckedOperation): DescribedOperation {
  const { invoke, completion } = operation.pair;
  const known = completion !== undefined && completion.type !== "info";
  return {
    index: invoke.index,
    completionIndex: known ? completion.index : undefined,
    process: invoke.process as number,
    description: model.describeOperation(operation.input, operation.output),
  };
}

function counterExample(model: AnyModel, search: PartitionSearch): CounterExample {
  const operations = search.operations;
  const result: CounterExample = {
    longestLinearizablePrefix: search.longest.map(
      (operation) => operations[operation]!.pair.invoke.index,
    ),
    prefixOperations: search.longest.map((operation) => describe(model, operations[operation]!)),
    failedOperation: describe(model, operations[search.failed]!),
    stateAfterPrefix: model.describeState(search.longestState),
  };
  if (search.key !== undefined) result.key = search.key;
  return result;
}
