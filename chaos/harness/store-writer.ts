// Writes a run to store/<test>/<timestamp>/ (lesson 10, monitoring for five nines: a failure you
// cannot look at again is a failure you cannot fix). The only harness module that touches the
// file system; the run itself (run-core.ts) stays browser-safe.
//
//   history.jsonl   every operation, one JSON object a line (chaos/harness/history-io.ts)
//   results.json    every checker's result, the summary, the options and the fault schedule
//   seed.txt        the seed and the exact command that replays the run
//   trace.json      the simulator's message trace: columns once, then one row a line
//   report.html     the self-contained report (chaos/checkers/report.ts)
//   logs/           node logs, when the backend has any

import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderReport, reportInputFromResults } from "../checkers/report.ts";
import { formatJsonLines } from "./history-io.ts";
import type { RunResult } from "./run-core.ts";
import { describeFault } from "./run-core.ts";

export const defaultStoreRoot = "store";

/** A folder-safe timestamp: 2025-01-31T12-00-00-000Z. */
export function folderTimestamp(date: Date): string {
  return date.toISOString().replaceAll(":", "-").replace(".", "-");
}

export interface StoreOptions {
  /** Default `store` under the current directory. */
  root?: string;
  /** Default now. */
  date?: Date;
  /** Node log files to copy into logs/. */
  nodeLogs?: readonly string[];
}

/** Writes every file of the run; returns the folder. */
export function writeRun(run: RunResult, options: StoreOptions = {}): string {
  const root = resolve(options.root ?? defaultStoreRoot);
  let folder = join(root, run.options.name, folderTimestamp(options.date ?? new Date()));
  // Two runs in the same millisecond (a fast test loop) get their own folders.
  for (let suffix = 2; existsSync(folder); suffix += 1)
    folder = `${folder.replace(/~\d+$/, "")}~${suffix}`;
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "history.jsonl"), formatJsonLines(run.history));
  writeFileSync(join(folder, "results.json"), `${JSON.stringify(resultsDocument(run), null, 2)}\n`);
  writeFileSync(join(folder, "seed.txt"), `${run.options.seed}\n${run.summary.replayCommand}\n`);
  writeFileSync(join(folder, "trace.json"), traceDocument(run));
  writeFileSync(join(folder, "report.html"), reportHtml(run));
  if (options.nodeLogs !== undefined && options.nodeLogs.length > 0) {
    mkdirSync(join(folder, "logs"), { recursive: true });
    for (const log of options.nodeLogs) {
      if (existsSync(log))
        copyFileSync(log, join(folder, "logs", log.split(/[\\/]/).slice(-2).join("-")));
    }
  }
  return folder;
}

function resultsDocument(run: RunResult): Record<string, unknown> {
  return {
    summary: run.summary,
    results: run.results,
    options: run.options,
    schedule: run.schedule.map((entry) => ({ ...entry, description: describeFault(entry.fault) })),
  };
}

/** Compact: the column names once, then one entry per line, so big traces stay greppable. */
function traceDocument(run: RunResult): string {
  const rows = run.trace.map((entry) => JSON.stringify(entry)).join(",\n");
  return `{"columns":["timeMs","event","from","to","messageType"],"truncated":${run.traceTruncated},"entries":[\n${rows}\n]}\n`;
}

function reportHtml(run: RunResult): string {
  // The same recipe as the course site's report viewer, which reads these files back.
  return renderReport(reportInputFromResults(run.history, resultsDocument(run)));
}

/** The newest run folders of a test, newest first (for `neverstop` commands that show them). */
export function listRuns(test: string, root = defaultStoreRoot): string[] {
  const folder = resolve(root, test);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .sort()
    .reverse()
    .map((name) => join(folder, name));
}
