// What grading leaves on disk (every lab; node only):
// - each failing check's evidence as a run folder, written by the harness's store writer, so
//   the learner opens the same report.html a chaos run gives (store/lab-03b/<timestamp>/), with
//   the shrunk history beside it (shrunk.jsonl);
// - the learner's progress, .neverstop/labs.json: per lab, whether the last grading passed,
//   which file, when, and each check's result. `npx neverstop lab` lists it.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatJsonLines } from "../../chaos/harness/history-io.ts";
import type { Operation } from "../../chaos/harness/history.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import { defaultRunOptions } from "../../chaos/harness/run-options.ts";
import { writeRun } from "../../chaos/harness/store-writer.ts";
import { labReplayCommand, type CheckVerdict, type LabVerdict } from "./grade.ts";

export interface LabProgressEntry {
  /** The last grading passed. */
  passed: boolean;
  /** Some grading of this lab passed (a learner who breaks it again sees both). */
  everPassed: boolean;
  file: string;
  at: string;
  seed: number;
  backend: string;
  checks: Record<string, boolean>;
}

export type LabProgress = Record<string, LabProgressEntry>;

export const progressFileName = "labs.json";

/** Writes the failing check's evidence; returns the folder holding report.html. */
export function writeCheckFailure(
  verdict: LabVerdict,
  check: CheckVerdict,
  fileArgument: string | undefined,
  storeRoot?: string,
): string {
  const replay = labReplayCommand(
    verdict.lab,
    fileArgument,
    verdict.seed,
    verdict.backend,
    check.id,
  );
  const run = check.run ?? syntheticRun(verdict, check, replay);
  const named: RunResult = {
    ...run,
    options: { ...run.options, name: `lab-${check.id}` },
    summary: { ...run.summary, replayCommand: replay },
  };
  const folder = writeRun(named, storeRoot === undefined ? {} : { root: storeRoot });
  if (check.history !== undefined)
    writeFileSync(join(folder, "shrunk.jsonl"), formatJsonLines(check.history));
  return folder;
}

/** A run-shaped record of a check that ran no cluster (its history is the evidence). */
function syntheticRun(verdict: LabVerdict, check: CheckVerdict, replay: string): RunResult {
  const history: Operation[] = check.history ?? [];
  const options = { ...defaultRunOptions("register"), seed: verdict.seed, checkers: [] };
  const results = { [check.id]: { valid: false as const, reason: check.message ?? "failed" } };
  return {
    options,
    summary: {
      test: `lab-${check.id}`,
      workload: check.title,
      backend: verdict.backend,
      seed: verdict.seed,
      verdict: false,
      checkers: { [check.id]: false },
      operationCount: history.filter((operation) => operation.type === "invoke").length,
      ok: history.filter((operation) => operation.type === "ok").length,
      fail: history.filter((operation) => operation.type === "fail").length,
      info: history.filter((operation) => operation.type === "info").length,
      faultCount: 0,
      messages: { sent: 0, delivered: 0, dropped: 0, refused: 0 },
      simulatedMs: 0,
      wallMs: check.durationMs,
      failureReasons: {},
      replayCommand: replay,
    },
    history,
    trace: [],
    traceTruncated: false,
    schedule: [],
    results,
  };
}

export function readProgress(root = ".neverstop"): LabProgress {
  const file = resolve(root, progressFileName);
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as LabProgress)
      : {};
  } catch {
    return {}; // a damaged progress file is not worth failing a grading over
  }
}

/** Records one grading (the last one wins; `everPassed` remembers a pass). */
export function recordProgress(verdict: LabVerdict, file: string, root = ".neverstop"): void {
  const progress = readProgress(root);
  const previous = progress[verdict.lab];
  const checks = Object.fromEntries(
    verdict.checks.filter((check) => !check.skipped).map((check) => [check.id, check.ok]),
  );
  const entry: LabProgressEntry = {
    passed: verdict.passed,
    everPassed: verdict.passed || previous?.everPassed === true,
    file,
    at: new Date().toISOString(),
    seed: verdict.seed,
    backend: verdict.backend,
    checks,
  };
  progress[verdict.lab] = entry;
  mkdirSync(resolve(root), { recursive: true });
  const target = resolve(root, progressFileName);
  // Write then rename: an interrupted write never leaves half a progress file.
  writeFileSync(`${target}.tmp`, `${JSON.stringify(progress, null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
}
