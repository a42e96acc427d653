// The history model (every lesson that breaks something): what the clients saw, recorded the
// Jepsen way. Each client operation is an `invoke` followed by at most one completion:
//   ok    it happened,
//   fail  it did not happen (a definite refusal),
//   info  it may have happened, at any time after its invoke, or never (a timeout, a lost
//         connection, a write that failed after some replica stored it).
// An invoke with no completion is treated like `info`: it stays open to the end of the history.
// Operations of one process are sequential; a client that crashes comes back as a new process.
// Nemesis operations (faults) sit in the same history under process "nemesis".

export type OperationType = "invoke" | "ok" | "fail" | "info";

export interface Operation {
  /** Position in the history, from 0. */
  index: number;
  /** Nanoseconds since the test started. */
  time: number;
  /** The logical client (an integer) or "nemesis". */
  process: number | "nemesis";
  type: OperationType;
  /** The function: read, write, cas, add, get, put, append, or a nemesis fault name. */
  f: string;
  /** The argument on invoke, the result on completion (workload-specific; see the workload). */
  value: unknown;
  /** For keyed workloads: the key this operation touched. */
  key?: string;
  /** Which node served the request, when known. */
  node?: string;
}

/** The ordered history broke a rule every recorder keeps; `position` is the offending entry. */
export class HistoryShapeError extends Error {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(`operation ${position}: ${reason}`);
    this.name = "HistoryShapeError";
  }
}

/** One client operation: its invoke and, when it arrived, its completion. */
export interface OperationPair {
  invoke: Operation;
  /** Where the invoke sits in the history array. */
  invokePosition: number;
  /** `undefined` when the history ended with the operation still open. */
  completion: Operation | undefined;
  /** Where the completion sits in the history array, or -1 when there is none. */
  completionPosition: number;
}

/**
 * Matches every client invoke with its completion, in invoke order; nemesis operations are
 * left out. The array order is the real-time order. A process may invoke again after an
 * `info` (Porcupine's etcd logs do, Jepsen's own never do): the `info` operation stays
 * pending to the end of the history either way, so reusing the process changes nothing.
 * Throws `HistoryShapeError` for a completion without an invoke, a second invoke on a process
 * whose operation is still open, or a completion whose `f` differs from its invoke's.
 */
export function pairOperations(history: readonly Operation[]): OperationPair[] {
  const pairs: OperationPair[] = [];
  const open = new Map<number, OperationPair>();
  for (let position = 0; position < history.length; position += 1) {
    const operation = history[position]!;
    if (operation.process === "nemesis") continue;
    const pending = open.get(operation.process);
    if (operation.type === "invoke") {
      if (pending !== undefined) {
        throw new HistoryShapeError(
          position,
          `process ${operation.process} invoked ${operation.f} while its ${pending.invoke.f} from operation ${pending.invokePosition} is still open`,
        );
      }
      const pair: OperationPair = {
        invoke: operation,
        invokePosition: position,
        completion: undefined,
        completionPosition: -1,
      };
      pairs.push(pair);
      open.set(operation.process, pair);
      continue;
    }
    if (pending === undefined) {
      throw new HistoryShapeError(
        position,
        `${operation.type} ${operation.f} on process ${operation.process} without an invoke`,
      );
    }
    if (pending.invoke.f !== operation.f) {
      throw new HistoryShapeError(
        position,
        `${operation.type} ${operation.f} on process ${operation.process} completes an invoke of ${pending.invoke.f}`,
      );
    }
    pending.completion = operation;
    pending.completionPosition = position;
    open.delete(operation.process);
  }
  return pairs;
}
