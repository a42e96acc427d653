// `neverstop check FILE --model M`: the verdict on a recorded history (lesson 6, sharing
// data, and every lesson that ends with "now check the history").
//
// Exit codes (scripts and CI depend on them):
//   0 valid, 1 invalid, 2 unknown (the time limit ran out), 3 bad input.
// Bad input is one line, `neverstop check: <file>:<line>: <reason>`, never a stack trace.
// When the history is not linearizable a drawing of the counter-example is written to
// store/check/<timestamp>/<file>.counterexample.html (or to `--report`) and its path printed;
// never beside the history, whose folder may be read-only or someone else's test data.
//
// The history's format, told by its content, decides how `fail` and nil are read
// (`HistoryConvention` in history-io.ts, `conventionHelp` below for the words `--help` shows):
// Jepsen's EDN and neverstop's JSON Lines by Jepsen's rules, Porcupine's etcd logs by
// Porcupine's. The same etcd history thus gets the verdict each tool gives it.
//
// This is the command-line edge of the checkers: it alone touches files, and it loads
// `node:fs` lazily so that the checkers it calls stay free of Node built-ins. The command's
// flags are read in cli/check-command.ts, which calls runCheckCommand().

import { HistoryFormatError, parseHistory } from "../harness/history-io.ts";
import type { HistoryConvention } from "../harness/history-io.ts";
import type { ParsedHistory } from "../harness/history-io.ts";
import { HistoryShapeError } from "../harness/history.ts";
import type { Operation } from "../harness/history.ts";
import { checkLinearizable } from "./linearizable.ts";
import type { LinearizableResult } from "./linearizable.ts";
import { ModelInputError, linearizableModelFor } from "./models.ts";
import { renderCounterExample } from "./render-history.ts";
import { checkSet } from "./set.ts";
import { checkCounter } from "./counter.ts";

export const checkModelNames = ["cas-register", "kv", "register", "set", "counter"] as const;

export const exitValid = 0;
export const exitInvalid = 1;
export const exitUnknown = 2;
export const exitBadInput = 3;

/** The default search time limit: a check in CI must end. */
export const checkTimeLimitMsDefault = 60_000;
/** Histories larger than this are refused before reading. */
export const historyFileBytesMax = 1024 * 1024 * 1024;

export interface CheckCommandOptions {
  model: string;
  json?: boolean;
  /** Where lines go; default stdout. */
  out?: (line: string) => void;
  /** The linearizability search time limit; default `checkTimeLimitMsDefault`. */
  timeLimitMs?: number;
  /** Where to write the counter-example drawing; default under `storeRoot`. */
  reportPath?: string;
  /** The store folder the default drawing path is under; default `store`. */
  storeRoot?: string;
}

class BadInput extends Error {
  constructor(readonly where: string) {
    super(where);
  }
}

async function readHistoryFile(file: string): Promise<string> {
  const { readFile, stat } = await import("node:fs/promises");
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new BadInput(
      `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  if (size > historyFileBytesMax)
    throw new BadInput(`${file}: larger than ${historyFileBytesMax} bytes`);
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new BadInput(
      `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

function lineOfIndex(parsed: ParsedHistory, index: number): number {
  const position = parsed.operations.findIndex((operation) => operation.index === index);
  return parsed.lines[position] ?? 1;
}

interface Verdict {
  valid: true | false | "unknown";
  summary: string;
  details: Record<string, unknown>;
  linearizable?: LinearizableResult;
}

function judge(
  history: Operation[],
  model: string,
  convention: HistoryConvention,
  timeLimitMs: number,
): Verdict {
  if (model === "set" || model === "counter") {
    const result = model === "set" ? checkSet(history) : checkCounter(history);
    const reason = (result as { reason?: unknown }).reason;
    return {
      valid: result.valid,
      summary: typeof reason === "string" ? reason : "",
      details: { ...result },
    };
  }
  const linearizableModel = linearizableModelFor(model, convention)!;
  const result = checkLinearizable(linearizableModel, history, { timeoutMs: timeLimitMs });
  const partitions = result.partitions.length;
  let summary = `${result.operationCount} operations in ${partitions} partition${partitions === 1 ? "" : "s"}`;
  const counterExample = result.counterExample;
  if (counterExample !== undefined) {
    const failed = counterExample.failedOperation;
    summary =
      `${counterExample.key === undefined ? "" : `key ${counterExample.key}: `}operation #${failed.index} (process ${failed.process}, ${failed.description}) ` +
      `cannot be linearized after the longest linearizable prefix of ${counterExample.longestLinearizablePrefix.length} operations (state ${counterExample.stateAfterPrefix})`;
  } else if (result.reason !== undefined) {
    summary = `${summary}; ${result.reason}`;
  }
  return { valid: result.valid, summary, details: { ...result }, linearizable: result };
}

/** Runs `neverstop check` and returns its exit code; never throws for bad input. */
export async function runCheckCommand(file: string, options: CheckCommandOptions): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const fail = (where: string): number => {
    out(`neverstop check: ${where}`);
    return exitBadInput;
  };
  if (!(checkModelNames as readonly string[]).includes(options.model)) {
    return fail(
      `${file}: unknown model \`${options.model}\` (expected one of ${checkModelNames.join(", ")})`,
    );
  }
  const timeLimitMs = options.timeLimitMs ?? checkTimeLimitMsDefault;
  if (!Number.isFinite(timeLimitMs) || timeLimitMs <= 0) {
    return fail(
      `${file}: expected \`--time-limit\` to be a positive number of milliseconds, got ${timeLimitMs}`,
    );
  }
  let parsed: ParsedHistory;
  let verdict: Verdict;
  try {
    parsed = parseHistory(await readHistoryFile(file));
    try {
      verdict = judge(parsed.operations, options.model, parsed.convention, timeLimitMs);
    } catch (error) {
      if (error instanceof ModelInputError)
        throw new BadInput(`${file}:${lineOfIndex(parsed, error.operationIndex)}: ${error.reason}`);
      if (error instanceof HistoryShapeError)
        throw new BadInput(`${file}:${parsed.lines[error.position] ?? 1}: ${error.reason}`);
      throw error;
    }
  } catch (error) {
    if (error instanceof BadInput) return fail(error.where);
    if (error instanceof HistoryFormatError) return fail(`${file}:${error.line}: ${error.reason}`);
    throw error;
  }

  let drawing: string | undefined;
  if (verdict.valid === false && verdict.linearizable !== undefined) {
    drawing = options.reportPath ?? (await defaultDrawingPath(file, options.storeRoot));
    const { mkdir, writeFile } = await import("node:fs/promises");
    const { dirname } = await import("node:path");
    await mkdir(dirname(drawing), { recursive: true });
    await writeFile(
      drawing,
      renderCounterExample(parsed.operations, verdict.linearizable, {
        title: `${file} (${options.model})`,
      }),
    );
  }
  const code =
    verdict.valid === true ? exitValid : verdict.valid === false ? exitInvalid : exitUnknown;
  if (options.json === true) {
    out(
      JSON.stringify({
        file,
        model: options.model,
        format: parsed.format,
        convention: parsed.convention,
        ...verdict.details,
        valid: verdict.valid,
        drawing,
      }),
    );
  } else {
    const word = verdict.valid === true ? "valid" : verdict.valid === false ? "INVALID" : "unknown";
    out(
      `neverstop check: ${file}: ${word} (${options.model}, ${parsed.format}, ${parsed.convention}'s convention)${verdict.summary === "" ? "" : `: ${verdict.summary}`}`,
    );
    if (drawing !== undefined) out(`counter-example drawing: ${drawing}`);
  }
  return code;
}

/**
 * A fresh store/check/<timestamp>/ folder for this drawing: two checks never overwrite each
 * other's drawings, and the history's own folder is left as it was.
 */
async function defaultDrawingPath(file: string, storeRoot: string | undefined): Promise<string> {
  const { defaultStoreRoot, folderTimestamp } = await import("../harness/store-writer.ts");
  const { basename, join, resolve } = await import("node:path");
  const { existsSync } = await import("node:fs");
  const base = join(resolve(storeRoot ?? defaultStoreRoot), "check", folderTimestamp(new Date()));
  let folder = base;
  for (let suffix = 2; existsSync(folder); suffix += 1) folder = `${base}~${suffix}`;
  return join(folder, `${basename(file)}.counterexample.html`);
}

/** What `check --help` says about formats and the conventions they are read by. */
export const conventionHelp = `
Formats and conventions (told apart by the file's content, never its name):
  Jepsen EDN (history.edn)      Jepsen's rules, as Knossos reads them: a :fail did not
  neverstop JSON Lines          happen (dropped, for every model); an :info may take effect
                                at any time after its invoke, or never; with cas-register,
                                an :ok read of nil tells nothing (with register, nil is
                                a key nobody wrote, in every format).
  Jepsen log lines              Porcupine's rules for the etcd logs of its corpus
  (INFO jepsen.util - ...)      (cas-register): a :fail cas ran its compare and did not
                                match; a read of nil needs the register to be nil.
The drawing of a counter-example goes to store/check/<timestamp>/ unless --report says where.
`;
