// The session checker (lesson 6, sharing data; lesson 2, copy state instead of locating it):
// Dynamo promises eventual consistency, not linearizability, but a client session can still
// expect two guarantees: read-your-writes and monotonic reads. This checker finds the reads that
// break them, with the pair of operations that proves it. No Node built-ins: it runs in the
// browser too.

import type { Operation } from "../harness/history.ts";
import { pairOperations } from "./history-view.ts";
import type { PairedOperation, Validity } from "./history-view.ts";

/** An operation as recorded: its invoke and its completion. */
export interface OperationRecord {
  invoke: Operation;
  completion?: Operation;
}

/** A process read a key after its own acknowledged write and saw only older values. */
export interface ReadYourWritesViolation {
  process: number;
  key: string;
  write: OperationRecord;
  read: OperationRecord;
}

/** A process saw `newerValue`, then a later read of its saw only values older than it. */
export interface MonotonicReadViolation {
  process: number;
  key: string;
  newerValue: number;
  earlierRead: OperationRecord;
  laterRead: OperationRecord;
}

/** A read returned a value no write ever wrote, or one whose only write failed. */
export interface UnexpectedRead {
  process: number;
  key: string;
  value: number;
  read: OperationRecord;
}

export interface SessionCheckResult {
  valid: Validity;
  reason: string;
  writeCount: number;
  readCount: number;
  readYourWritesViolationCount: number;
  monotonicReadViolationCount: number;
  unexpectedReadCount: number;
  /** The first 100 of each kind, in history order. */
  readYourWritesViolations: ReadYourWritesViolation[];
  monotonicReadViolations: MonotonicReadViolation[];
  unexpectedReads: UnexpectedRead[];
}

const evidenceMax = 100;

/** What a read needs to know about the write of a value. */
interface WriteFacts {
  invokePosition: number;
  /** Completion position of an ok write; Infinity when it may take effect at any later time. */
  completionPosition: number;
  failed: boolean;
}

/** What one process has established about one key. */
interface SessionState {
  lastOwnWrite?: PairedOperation;
  /** The value seen so far whose write was invoked last, and the read that saw it. */
  frontier?: { value: number; writeInvokePosition: number; read: PairedOperation };
}

/**
 * Checks read-your-writes and monotonic reads on register histories with keys (write values are
 * unique per key; a read returns an integer, null, or an array of sibling values, all of which it
 * saw). "v is older than w" means v's write completed ok before w's write was invoked; null (the
 * key absent) is older than every write. A read sees "only older values" when every value it
 * returned is older; one value that is not older (w itself, a newer write, a concurrent sibling,
 * or an info write that may have landed late) is enough to pass. So the rules are sound under
 * Dynamo's siblings and never blame a legal concurrent write:
 * - read-your-writes: after a process's ok write w to key k, a later read of k by the same process
 *   must not see only values older than w;
 * - monotonic reads: after a process's read of k saw v2, a later read of k by the same process
 *   must not see only values older than v2.
 * Reads of values never written, or written only by failed writes, are reported as unexpected.
 *
 * Worked example on key "x": process 0 writes 1 (ok), then process 1 writes 2 (ok), then process
 * 1 reads 1: read-your-writes violation (1 completed before 2 was invoked). Process 0 reads 2,
 * then reads [1]: monotonic reads violation. Process 0 reading [1, 3] where 3 is an info write is
 * fine: 3 may have been written after 2.
 */
export function checkSession(history: readonly Operation[]): SessionCheckResult {
  const pairs = pairOperations(history);
  const writes = collectWrites(pairs);
  const result: SessionCheckResult = {
    valid: "unknown",
    reason: "",
    writeCount: pairs.filter((pair) => pair.f === "write").length,
    readCount: 0,
    readYourWritesViolationCount: 0,
    monotonicReadViolationCount: 0,
    unexpectedReadCount: 0,
    readYourWritesViolations: [],
    monotonicReadViolations: [],
    unexpectedReads: [],
  };
  const sessions = new Map<string, SessionState>();
  for (const pair of pairs) {
    const key = pair.key ?? "";
    const sessionKey = `${pair.process}\u0000${key}`;
    const session = sessions.get(sessionKey) ?? {};
    sessions.set(sessionKey, session);
    if (pair.f === "write" && pair.outcome === "ok") session.lastOwnWrite = pair;
    if (pair.f !== "read" || pair.outcome !== "ok") continue;
    result.readCount += 1;
    checkRead(result, session, pair, writes.get(key) ?? new Map());
  }
  const violationCount =
    result.readYourWritesViolationCount +
    result.monotonicReadViolationCount +
    result.unexpectedReadCount;
  if (result.readCount === 0) result.reason = "No read completed ok: there is nothing to check.";
  else {
    result.valid = violationCount === 0;
    result.reason = result.valid
      ? `All ${result.readCount} read(s) respect read-your-writes and monotonic reads.`
      : `${result.readYourWritesViolationCount} read-your-writes violation(s), ` +
        `${result.monotonicReadViolationCount} monotonic-reads violation(s), ` +
        `${result.unexpectedReadCount} read(s) of values never written.`;
  }
  return result;
}

function collectWrites(pairs: readonly PairedOperation[]): Map<string, Map<number, WriteFacts>> {
  const writes = new Map<string, Map<number, WriteFacts>>();
  for (const pair of pairs) {
    if (pair.f !== "write") continue;
    const value = pair.invoke.value;
    if (!Number.isSafeInteger(value)) {
      throw new Error(
        `Expected write ${pair.invoke.index} to write an integer, got ${JSON.stringify(value)}`,
      );
    }
    const key = pair.key ?? "";
    const byValue = writes.get(key) ?? new Map<number, WriteFacts>();
    writes.set(key, byValue);
    if (byValue.has(value as number)) {
      throw new Error(
        `Expected write values to be unique per key, but ${String(value)} is written twice to key ${JSON.stringify(key)}`,
      );
    }
    byValue.set(value as number, {
      invokePosition: pair.invokePosition,
      completionPosition: pair.outcome === "ok" ? pair.completionPosition : Infinity,
      failed: pair.outcome === "fail",
    });
  }
  return writes;
}

function readValues(pair: PairedOperation): (number | null)[] {
  const value = pair.completion!.value;
  const values = Array.isArray(value) ? (value.length === 0 ? [null] : value) : [value];
  for (const element of values) {
    if (element !== null && !Number.isSafeInteger(element)) {
      throw new Error(
        `Expected ok read ${pair.completion!.index} to return an integer, null or an array of integers, got ${JSON.stringify(value)}`,
      );
    }
  }
  return values as (number | null)[];
}

function checkRead(
  result: SessionCheckResult,
  session: SessionState,
  read: PairedOperation,
  writes: Map<number, WriteFacts>,
): void {
  const key = read.key ?? "";
  // The newest evidence the read carries: the latest completion among the writes of the values it
  // saw. Every value it saw is older than w exactly when this is before w's invoke.
  let latestCompletion = -Infinity;
  for (const value of readValues(read)) {
    if (value === null) continue;
    const facts = writes.get(value);
    if (facts === undefined || facts.failed) {
      result.unexpectedReadCount += 1;
      if (result.unexpectedReads.length < evidenceMax) {
        result.unexpectedReads.push({ process: read.process, key, value, read: recordOf(read) });
      }
      latestCompletion = Infinity; // Do not blame the session guarantees for an unknown value.
      continue;
    }
    latestCompletion = Math.max(latestCompletion, facts.completionPosition);
  }
  const ownWrite = session.lastOwnWrite;
  if (ownWrite !== undefined && latestCompletion < ownWrite.invokePosition) {
    result.readYourWritesViolationCount += 1;
    if (result.readYourWritesViolations.length < evidenceMax) {
      const violation = { process: read.process, key, write: recordOf(ownWrite) };
      result.readYourWritesViolations.push({ ...violation, read: recordOf(read) });
    }
  }
  const frontier = session.frontier;
  if (frontier !== undefined && latestCompletion < frontier.writeInvokePosition) {
    result.monotonicReadViolationCount += 1;
    if (result.monotonicReadViolations.length < evidenceMax) {
      result.monotonicReadViolations.push({
        process: read.process,
        key,
        newerValue: frontier.value,
        earlierRead: recordOf(frontier.read),
        laterRead: recordOf(read),
      });
    }
  }
  for (const value of readValues(read)) {
    const facts = value === null ? undefined : writes.get(value);
    if (value === null || facts === undefined || facts.failed) continue;
    if (
      session.frontier === undefined ||
      facts.invokePosition > session.frontier.writeInvokePosition
    ) {
      session.frontier = { value, writeInvokePosition: facts.invokePosition, read };
    }
  }
}

function recordOf(pair: PairedOperation): OperationRecord {
  return pair.completion === undefined
    ? { invoke: pair.invoke }
    : { invoke: pair.invoke, completion: pair.completion };
}
