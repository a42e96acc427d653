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
