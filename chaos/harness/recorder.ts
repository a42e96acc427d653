// The history recorder (every lesson that breaks something): appends client and nemesis
// operations in the order they happen, Jepsen's way (see history.ts), with times in
// nanoseconds since the run started. It also keeps the running counts the progress line shows.
// No Node built-ins: this file runs in the browser too.

import type { Operation, OperationType } from "./history.ts";

export type Completion = {
  type: Exclude<OperationType, "invoke">;
  value: unknown;
  node?: string;
  /** Why a fail or info happened (kept out of the history; the summary counts reasons). */
  reason?: string;
};

/** No run records more operations than this: a runaway generator stops here. */
export const historyLengthMax = 5_000_000;

export class HistoryRecorder {
  readonly operations: Operation[] = [];
  readonly counts = { invoke: 0, ok: 0, fail: 0, info: 0 };
  /** How often each reason for a fail or info came up (numbers blanked out, so they group). */
  readonly reasons = new Map<string, number>();

  constructor(private readonly nowNs: () => number) {}

  invoke(
    process: number,
    f: string,
    value: unknown,
    key: string | undefined,
    node: string | undefined,
  ): void {
    this.counts.invoke += 1;
    this.append({ process, type: "invoke", f, value, key, node });
  }

  complete(process: number, f: string, completion: Completion, key: string | undefined): void {
    this.counts[completion.type] += 1;
    if (completion.type !== "ok" && completion.reason !== undefined) {
      const reason = `${completion.type}: ${completion.reason.replace(/\d+/g, "#").slice(0, 100)}`;
      this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    }
    this.append({
      process,
      type: completion.type,
      f,
      value: completion.value,
      key,
      node: completion.node,
    });
  }

  /** A nemesis operation: "invoke" when the fault begins, "info" once it is in force. */
  nemesis(type: "invoke" | "info", f: string, value: unknown): void {
    this.append({ process: "nemesis", type, f, value, key: undefined, node: undefined });
  }

  private append(fields: {
    process: number | "nemesis";
    type: OperationType;
    f: string;
    value: unknown;
    key: string | undefined;
    node: string | undefined;
  }): void {
    if (this.operations.length >= historyLengthMax) {
      throw new RangeError(
        `Expected a history of at most ${historyLengthMax} operations; lower the rate or the time`,
      );
    }
    const operation: Operation = {
      index: this.operations.length,
      time: this.nowNs(),
      process: fields.process,
      type: fields.type,
      f: fields.f,
      value: fields.value ?? null,
    };
    if (fields.key !== undefined) operation.key = fields.key;
    if (fields.node !== undefined) operation.node = fields.node;
    this.operations.push(operation);
  }
}
