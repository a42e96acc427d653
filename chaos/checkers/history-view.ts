// History views (lesson 1, the world is concurrent): pure helpers that turn a flat Jepsen
// history into the shapes checkers reason about. A client operation is an invoke plus at most
// one completion; an invoke that never completes is open to the end of the history and counts
// as `info` (it may have happened). Nemesis operations become fault windows: the stretch of time
// during which a fault was (possibly) in force. No Node built-ins: these run in the browser too.

import type { Operation } from "../harness/history.ts";

/** The three outcomes of a client operation; an open invoke is reported as "info". */
export type Outcome = "ok" | "fail" | "info";

/** A checker's verdict: valid, invalid, or unknown (not enough evidence, or a limit reached). */
export type Validity = true | false | "unknown";

/** One client operation: its invoke paired with its completion. */
export interface PairedOperation {
  process: number;
  f: string;
  key?: string;
  node?: string;
  invoke: Operation;
  /** Undefined when the invoke never completed (then `outcome` is "info"). */
  completion?: Operation;
  outcome: Outcome;
  /** Position of the invoke in the history array (history order is real-time order). */
  invokePosition: number;
  /** Position of the completion, or Infinity when open: it may take effect at any later time. */
  completionPosition: number;
  invokeTimeNs: number;
  /** Completion time, or Infinity when open. */
  completionTimeNs: number;
}

/** A stretch of time during which a fault was (possibly) in force. */
export interface FaultWindow {
  /** The fault's kind, e.g. "partition" (from start-partition) or "kill". */
  name: string;
  /** A short human label: the kind and the fault's value, e.g. `kill "n1"`. */
  label: string;
  startNs: number;
  endNs: number;
  startIndex: number;
  /** History index of the operation that ended the fault, or undefined when still open at the end. */
  endIndex?: number;
}

/** Limits: a history longer than this is refused rather than checked slowly for hours. */
export const historyLengthMax = 10_000_000;
const describeValueLengthMax = 120;

/**
 * Pairs every client invoke with its completion. Throws a one-line error when the history breaks
 * Jepsen's rules: a process with two outstanding invokes, a completion without an invoke, or a
 * completion whose f differs from its invoke's. Nemesis operations are skipped (see faultWindows).
 */
export function pairOperations(history: readonly Operation[]): PairedOperation[] {
  if (history.length > historyLengthMax) {
    throw new Error(
      `Expected a history of at most ${historyLengthMax} operations, got ${history.length}`,
    );
  }
  const pairs: PairedOperation[] = [];
  const openByProcess = new Map<number, PairedOperation>();
  let previousTimeNs = -Infinity;
  for (let position = 0; position < history.length; position += 1) {
    const operation = history[position]!;
    assertOperationShape(operation, position);
    if (operation.time < previousTimeNs) {
      throw new Error(
        `Expected operation times to never decrease, but operation ${operation.index} at ${operation.time} ns follows ${previousTimeNs} ns`,
      );
    }
    previousTimeNs = operation.time;
    if (operation.process === "nemesis") continue;
    const process = operation.process;
    const open = openByProcess.get(process);
    if (operation.type === "invoke") {
      if (open !== undefined) {
        throw new Error(
          `Expected process ${process} to be sequential, but operation ${operation.index} invokes while operation ${open.invoke.index} is still open`,
        );
      }
      const pair: PairedOperation = {
        process,
        f: operation.f,
        invoke: operation,
        outcome: "info",
        invokePosition: position,
        completionPosition: Infinity,
        invokeTimeNs: operation.time,
        completionTimeNs: Infinity,
      };
      if (operation.key !== undefined) pair.key = operation.key;
      if (operation.node !== undefined) pair.node = operation.node;
      openByProcess.set(process, pair);
      pairs.push(pair);
      continue;
    }
    if (open === undefined) {
      throw new Error(
        `Expected an invoke before completion ${operation.index} of process ${process}, found none`,
      );
    }
    if (open.f !== operation.f) {
      throw new Error(
        `Expected completion ${operation.index} of process ${process} to have f "${open.f}" like its invoke, got "${operation.f}"`,
      );
    }
    open.completion = operation;
    open.outcome = operation.type;
    open.completionPosition = position;
    open.completionTimeNs = operation.time;
    if (open.node === undefined && operation.node !== undefined) open.node = operation.node;
    openByProcess.delete(process);
  }
  return pairs;
}

function assertOperationShape(operation: Operation, position: number): void {
  if (typeof operation !== "object" || operation === null) {
    throw new Error(`Expected operation ${position} to be an object, got ${typeof operation}`);
  }
  if (!Number.isFinite(operation.time) || operation.time < 0) {
    throw new Error(
      `Expected operation ${position} to have a time in ns of 0 or more, got ${String(operation.time)}`,
    );
  }
  const process = operation.process;
  if (process !== "nemesis" && !Number.isSafeInteger(process)) {
    throw new Error(
      `Expected operation ${position} to have an integer process or "nemesis", got ${String(process)}`,
    );
  }
  const types = ["invoke", "ok", "fail", "info"];
  if (!types.includes(operation.type)) {
    throw new Error(
      `Expected operation ${position} to have type invoke, ok, fail or info, got ${String(operation.type)}`,
    );
  }
  if (typeof operation.f !== "string") {
    throw new Error(`Expected operation ${position} to have a string f, got ${typeof operation.f}`);
  }
}

/** Nemesis functions that end a fault, by the function that starts it. */
const faultEnds: Readonly<Record<string, string>> = {
  kill: "restart",
  pause: "resume",
  partition: "heal",
  skew: "reset",
};

/**
 * The fault windows of a history, from its nemesis operations. A fault starts at the first record
 * of its starting operation (`start-X`, `kill`, `pause`, `partition`, `skew`) and ends at the last
 * record of its ending operation (`stop-X`, `restart`, `resume`, `heal`, `reset`): between the
 * invoke and the completion of a nemesis operation the fault may or may not be in force, so the
 * window takes the wider reading. An ending operation closes the open window of its kind with an
 * equal value (restart "n1" ends kill "n1"), or else every open window of its kind. Windows still
 * open when the history ends stop at the history's last time.
 *
 * Example: [nemesis invoke start-partition {"n1":["n2"]} at 1 s, nemesis info at 1.1 s,
 * nemesis invoke stop-partition at 5 s, nemesis info at 5.2 s] gives one window
 * { name: "partition", startNs: 1e9, endNs: 5.2e9 }.
 */
export function faultWindows(history: readonly Operation[]): FaultWindow[] {
  const windows: FaultWindow[] = [];
  const open: { window: FaultWindow; value: string }[] = [];
  for (const operation of nemesisOperations(history)) {
    const f = operation.f;
    const startName = f.startsWith("start-") ? f.slice("start-".length) : faultEnds[f] ? f : null;
    if (startName !== null) {
      const window: FaultWindow = {
        name: startName,
        label: `${startName} ${describeValue(operation.value)}`.trim(),
        startNs: operation.startNs,
        endNs: Infinity,
        startIndex: operation.startIndex,
      };
      windows.push(window);
      open.push({ window, value: canonicalJson(operation.value) });
      continue;
    }
    const endName = f.startsWith("stop-")
      ? f.slice("stop-".length)
      : Object.keys(faultEnds).find((name) => faultEnds[name] === f);
    if (endName === undefined) continue;
    const sameKind = open.filter((entry) => entry.window.name === endName);
    const value = canonicalJson(operation.value);
    const exact = sameKind.find((entry) => entry.value === value);
    for (const entry of exact !== undefined ? [exact] : sameKind) {
      entry.window.endNs = operation.endNs;
      entry.window.endIndex = operation.endIndex;
      open.splice(open.indexOf(entry), 1);
    }
  }
  const lastTimeNs = history.length > 0 ? history[history.length - 1]!.time : 0;
  for (const entry of open) entry.window.endNs = Math.max(lastTimeNs, entry.window.startNs);
  return windows;
}

interface NemesisOperation {
  f: string;
  /** The invoke's value (what the fault is); the completion's value is only a result. */
  value: unknown;
  startNs: number;
  endNs: number;
  startIndex: number;
  endIndex: number;
}

/**
 * Nemesis records paired the way Jepsen writes them: an invoke, then an info (or ok) with the
 * same f. A completion with no pending invoke stands alone, starting and ending at its time.
 */
function nemesisOperations(history: readonly Operation[]): NemesisOperation[] {
  const result: NemesisOperation[] = [];
  const pending = new Map<string, NemesisOperation>();
  for (const operation of history) {
    if (operation.process !== "nemesis") continue;
    const waiting = pending.get(operation.f);
    if (operation.type !== "invoke" && waiting !== undefined) {
      waiting.endNs = operation.time;
      waiting.endIndex = operation.index;
      pending.delete(operation.f);
      continue;
    }
    const nemesisOperation: NemesisOperation = {
      f: operation.f,
      value: operation.value,
      startNs: operation.time,
      endNs: operation.time,
      startIndex: operation.index,
      endIndex: operation.index,
    };
    result.push(nemesisOperation);
    if (operation.type === "invoke") pending.set(operation.f, nemesisOperation);
  }
  return result;
}

/** Whether the closed interval [startNs, endNs] overlaps any fault window. */
export function overlapsFault(
  windows: readonly FaultWindow[],
  startNs: number,
  endNs: number,
): boolean {
  return windows.some((window) => startNs <= window.endNs && endNs >= window.startNs);
}

/**
 * JSON with object keys sorted at every depth, so that equal values give equal strings:
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) === '{"a":[2,{"c":4,"d":3}],"b":1}'.
 * undefined becomes "null" (a missing value and an explicit null compare equal).
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map(
        (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
      );
    return `{${entries.join(",")}}`;
  }
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value) ?? "null";
}

/** A short one-line rendering of a value for labels and messages, cut at 120 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return "";
  const text = canonicalJson(value);
  return text.length > describeValueLengthMax
    ? `${text.slice(0, describeValueLengthMax - 1)}…`
    : text;
}

/** Nearest-rank percentile of sorted numbers: percentile([1,2,3,4], 0.5) === 2. */
export function percentile(sortedValues: readonly number[], fraction: number): number | undefined {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new Error(`Expected a percentile fraction from 0 to 1, got ${fraction}`);
  }
  if (sortedValues.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(fraction * sortedValues.length));
  return sortedValues[rank - 1];
}

/** The first `countMax` items: evidence lists stay readable. */
export function examples<T>(items: Iterable<T>, countMax = 20): T[] {
  const result: T[] = [];
  for (const item of items) {
    if (result.length >= countMax) break;
    result.push(item);
  }
  return result;
}

/** One record in the compact form tests and lessons write histories in. */
export type HistoryStep = readonly [
  process: number | "nemesis",
  type: Operation["type"],
  f: string,
  value?: unknown,
  key?: string,
];

/**
 * A history from compact steps, one record each, `stepNs` apart (1 ms by default), indexed from 0:
 * buildHistory([[0, "invoke", "add", 1], [0, "ok", "add", 1]]) is an add of 1 by process 0.
 */
export function buildHistory(steps: readonly HistoryStep[], stepNs = 1_000_000): Operation[] {
  return steps.map(([process, type, f, value, key], index) => {
    const operation: Operation = {
      index,
      time: index * stepNs,
      process,
      type,
      f,
      value: value ?? null,
    };
    if (key !== undefined) operation.key = key;
    return operation;
  });
}
