// Which checker judges what (every lesson's verdict): a name for each checker a run can ask
// for, and the one function that runs it on a history. The checkers themselves live in
// chaos/checkers; this file only adapts the harness's histories to them.
// No Node built-ins: this file runs in the browser too.

import { checkAvailability } from "../checkers/availability.ts";
import { checkCounter } from "../checkers/counter.ts";
import type { Validity } from "../checkers/history-view.ts";
import { checkLinearizable } from "../checkers/linearizable.ts";
import { keyedRegisterModel } from "../checkers/models.ts";
import { checkSession } from "../checkers/session.ts";
import { checkSet } from "../checkers/set.ts";
import type { Operation } from "./history.ts";
import { checkCart } from "./workloads/cart.ts";

export const checkerNames = [
  "linearizable",
  "set",
  "counter",
  "cart",
  "session",
  "availability",
] as const;
export type CheckerName = (typeof checkerNames)[number];

export interface CheckerResult {
  valid: Validity;
  [evidence: string]: unknown;
}

export interface CheckOptions {
  /** The linearizability search gives "unknown" after this long (wall time). */
  linearizableTimeoutMs: number;
  /** The availability target (0 to 1); unset, availability is measured and never invalid. */
  minimumAvailability?: number | undefined;
}

export function runChecker(
  name: CheckerName,
  history: readonly Operation[],
  options: CheckOptions,
): CheckerResult {
  switch (name) {
    case "linearizable":
      return checkRegisterLinearizable(history, options.linearizableTimeoutMs);
    case "set":
      return { ...checkSet(history) };
    case "counter":
      return { ...checkCounter(history) };
    case "cart":
      return { ...checkCart(history) };
    case "session":
      return { ...checkSession(history) };
    case "availability":
      return {
        ...checkAvailability(
          history,
          options.minimumAvailability === undefined
            ? {}
            : { minimumAvailability: options.minimumAvailability },
        ),
      };
  }
}

/** The overall verdict: invalid if any checker says so, else unknown if any is unsure (or
 * none ran: no checker, no evidence). */
export function overallVerdict(results: Readonly<Record<string, CheckerResult>>): Validity {
  const verdicts = Object.values(results).map((result) => result.valid);
  if (verdicts.includes(false)) return false;
  if (verdicts.length === 0 || verdicts.includes("unknown")) return "unknown";
  return true;
}

/**
 * The register workload under the "register" model. A read that returned several siblings is
 * already proof: one register never holds two values at once. Those reads are reported as
 * `siblingReads` and left out of the search (the model takes one value per read), which still
 * looks for a stale read among the rest and draws its counter-example.
 */
function checkRegisterLinearizable(
  history: readonly Operation[],
  timeoutMs: number,
): CheckerResult {
  const siblingReads: { index: number; process: number; key?: string; value: unknown }[] = [];
  const skipped = new Set<number>();
  const openReads = new Map<number, number>();
  for (const [position, operation] of history.entries()) {
    if (operation.f !== "read" || operation.process === "nemesis") continue;
    if (operation.type === "invoke") openReads.set(operation.process, position);
    else if (operation.type === "ok" && Array.isArray(operation.value)) {
      const { index, process, value } = operation;
      siblingReads.push(
        operation.key === undefined
          ? { index, process, value }
          : { index, process, key: operation.key, value },
      );
      skipped.add(position);
      skipped.add(openReads.get(process) ?? position);
    }
  }
  // Indices stay the original ones, so a counter-example points into the recorded history.
  const single = history.filter((_, position) => !skipped.has(position));
  const result = checkLinearizable(keyedRegisterModel, single, { timeoutMs });
  if (siblingReads.length === 0) return { ...result };
  return {
    ...result,
    valid: false,
    /** The search's own verdict on the reads that returned one value (stale reads show here). */
    singleValueReadsValid: result.valid,
    reason: `${siblingReads.length} read(s) returned several siblings (first: ${JSON.stringify(siblingReads[0]!.value)} at operation ${siblingReads[0]!.index}): one register never holds two values`,
    siblingReadCount: siblingReads.length,
    siblingReads: siblingReads.slice(0, 20),
  };
}
