// Grading one lab (every lab): run its checks against a learner's module, one after another,
// time each, shrink the evidence of each failure, and return a verdict a learner can act on:
// which property failed, the smallest history that shows it, and how to replay it.
//
//   const verdict = await gradeLab(lab, module, { seed: 1, backend: "sim", runCluster });
//   verdict.passed            false
//   verdict.checks[1]         { id: "03b", title: "no add is lost across a split", ok: false,
//                               message: "...", shrunk: [3 operations], durationMs: 812 }
//
// The CLI (command.ts), the vitest graders (testing.ts) and the course site's Web Worker all
// call this function; only what they plug in differs (how to run a cluster, where the progress
// goes, where failing runs are written). No Node built-ins: it runs in the browser too.

import type { Operation } from "../../chaos/harness/history.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import type { RunOptionsInput } from "../../chaos/harness/run-options.ts";
import type { Backend, CheckOutcome, ClusterPolicies, Lab } from "./lab.ts";
import { shrinkHistory, type ShrinkOptions } from "./shrink.ts";

export interface CheckVerdict {
  id: string;
  title: string;
  ok: boolean;
  /** Skipped: not run here (a process check in the browser, or not in `only`). */
  skipped: boolean;
  durationMs: number;
  /** On success, an optional detail; on failure, what went wrong. */
  message: string | undefined;
  /** The failure's evidence, shrunk when the check gave a predicate. */
  history: Operation[] | undefined;
  /** Operations in the evidence before shrinking. */
  historyLengthBefore: number | undefined;
  /** Whether `history` was shrunk (a real-process history cannot be replayed, so it is not). */
  shrunk: boolean;
  run: RunResult | undefined;
}

export interface LabVerdict {
  lab: string;
  passed: boolean;
  seed: number;
  backend: Backend;
  checks: CheckVerdict[];
  /** The command that grades the same file the same way again. */
  replayCommand: string;
}

export interface GradeHooks {
  onCheckStart?(check: { id: string; title: string }): void;
  onCheckNote?(check: { id: string; title: string }, text: string): void;
  onCheckEnd?(check: CheckVerdict): void;
}

export interface GradeOptions extends GradeHooks {
  seed?: number;
  backend?: Backend;
  /** Run only these checks (ids). */
  only?: readonly string[];
  /** Stop after the first failing check (the graders of starters and mistakes use it). */
  stopAtFirstFailure?: boolean;
  /** Whether process checks may run here (false in the browser). */
  processChecks: boolean;
  runCluster: ClusterRunner;
  learnerFile?: string;
  /** How the replay command names the file: `--file PATH`, `--solution`, or nothing. */
  fileArgument?: string;
  shrink?: ShrinkOptions;
  /** Wall clock in milliseconds. */
  now?: () => number;
}

export const seedDefault = 1;

/** Runs one chaos test for a cluster check; `note` feeds that check's progress line. */
export type ClusterRunner = (
  input: RunOptionsInput,
  policies: ClusterPolicies | undefined,
  note: (text: string) => void,
) => Promise<RunResult>;

export async function gradeLab(
  lab: Lab,
  module: Record<string, unknown>,
  options: GradeOptions,
): Promise<LabVerdict> {
  const prepared = lab.prepare(module); // LabInputError on a bad module: before any check
  const seed = options.seed ?? lab.definition.seed ?? seedDefault;
  const backend = options.backend ?? "sim";
  const now = options.now ?? (() => globalThis.performance.now());
  const verdicts: CheckVerdict[] = [];
  let failed = false;
  for (const check of lab.checks) {
    const selected = options.only === undefined || options.only.includes(check.id);
    const runnable =
      (check.needs !== "process" && check.needs !== "local") ||
      (options.processChecks && (check.needs === "process" || backend !== "sim"));
    if (!selected || !runnable || (failed && options.stopAtFirstFailure === true)) {
      verdicts.push(skippedVerdict(check));
      continue;
    }
    options.onCheckStart?.(check);
    const startedMs = now();
    const note = (text: string) => options.onCheckNote?.(check, text);
    const outcome = await runGuarded(() =>
      prepared.run(check.id, {
        seed,
        backend,
        learnerFile: options.learnerFile,
        note,
        runCluster: (input, policies) => options.runCluster(input, policies, note),
      }),
    );
    const verdict = toVerdict(check, outcome, options.shrink, note);
    verdict.durationMs = now() - startedMs;
    verdicts.push(verdict);
    if (!verdict.ok) failed = true;
    options.onCheckEnd?.(verdict);
  }
  const ran = verdicts.filter((verdict) => !verdict.skipped);
  return {
    lab: lab.definition.id,
    passed: ran.length > 0 && ran.every((verdict) => verdict.ok),
    seed,
    backend,
    checks: verdicts,
    replayCommand: labReplayCommand(lab.definition.id, options.fileArgument, seed, backend),
  };
}

export function labReplayCommand(
  labId: string,
  fileArgument: string | undefined,
  seed: number,
  backend: Backend,
  only?: string,
): string {
  return [
    `npx neverstop lab ${labId}`,
    ...(fileArgument === undefined || fileArgument === "" ? [] : [fileArgument]),
    ...(backend === "sim" ? [] : [`--backend ${backend}`]),
    `--seed ${seed}`,
    ...(only === undefined ? [] : [`--only ${only}`]),
  ].join(" ");
}

/** A check that throws (the learner's code, or a bug in the check) fails with the error. */
async function runGuarded(run: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  try {
    return await run();
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, message: `the check stopped on an exception: ${text.split("\n")[0]}` };
  }
}

function skippedVerdict(check: { id: string; title: string }): CheckVerdict {
  return {
    id: check.id,
    title: check.title,
    ok: true,
    skipped: true,
    durationMs: 0,
    message: undefined,
    history: undefined,
    historyLengthBefore: undefined,
    shrunk: false,
    run: undefined,
  };
}

function toVerdict(
  check: { id: string; title: string },
  outcome: CheckOutcome,
  shrinkOptions: ShrinkOptions | undefined,
  note: (text: string) => void,
): CheckVerdict {
  const verdict: CheckVerdict = { ...skippedVerdict(check), skipped: false };
  if (outcome.ok) {
    verdict.message = outcome.detail;
    return verdict;
  }
  verdict.ok = false;
  verdict.message = outcome.message;
  verdict.run = outcome.run;
  const history = outcome.history ?? outcome.run?.history;
  if (history === undefined) return verdict;
  verdict.historyLengthBefore = history.length;
  verdict.history = history;
  if (outcome.stillFails !== undefined && history.length > 1) {
    note(`shrinking ${history.length} operations`);
    const stillFails = outcome.stillFails;
    const safe = (candidate: Operation[]) => {
      try {
        return stillFails(candidate);
      } catch {
        return false; // a history the checker cannot read does not show the failure
      }
    };
    if (safe(history)) {
      const smallest = shrinkHistory(history, safe, shrinkOptions).items;
      verdict.history = outcome.reproduce?.(smallest) ?? smallest;
      verdict.shrunk = true;
    }
  }
  return verdict;
}

/** The verdict as text, one line per check and the failures' evidence (CLI and vitest). */
export function formatVerdict(verdict: LabVerdict, historyLinesMax = 12): string {
  const lines: string[] = [];
  for (const check of verdict.checks) {
    if (check.skipped) continue;
    const mark = check.ok ? "pass" : "FAIL";
    const detail = check.message === undefined ? "" : `: ${check.message}`;
    lines.push(`${mark} ${check.id} ${check.title} (${formatMs(check.durationMs)})${detail}`);
    if (!check.ok && check.history !== undefined) {
      lines.push(
        check.shrunk
          ? `     smallest history that shows it (${check.history.length} of ${check.historyLengthBefore} operations):`
          : `     the history that shows it (${check.history.length} operations, not shrunk):`,
      );
      for (const operation of check.history.slice(0, historyLinesMax))
        lines.push(`       ${describeOperation(operation)}`);
      if (check.history.length > historyLinesMax)
        lines.push(`       ... ${check.history.length - historyLinesMax} more`);
    }
  }
  return lines.join("\n");
}

export function describeOperation(operation: Operation): string {
  const who = operation.process === "nemesis" ? "nemesis" : `process ${operation.process}`;
  const key = operation.key === undefined ? "" : ` key ${operation.key}`;
  const node = operation.node === undefined ? "" : ` on ${operation.node}`;
  const value = JSON.stringify(operation.value) ?? "null";
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return `#${operation.index} ${who} ${operation.type} ${operation.f}${key} ${shown}${node}`;
}

export function formatMs(milliseconds: number): string {
  return milliseconds < 1_000
    ? `${Math.round(milliseconds)} ms`
    : `${(milliseconds / 1_000).toFixed(1)} s`;
}
