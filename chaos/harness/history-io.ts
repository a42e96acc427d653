// Reading and writing histories (lesson 1, the world is concurrent: a history is what the
// clients saw, and it must survive the trip to disk and back, to and from other tools).
//
// Three formats, told apart by their content, never by the file name:
//   jsonl       neverstop's own: one Operation as a JSON object per line (history.jsonl).
//   edn         Jepsen's: a top-level vector or list of op maps, or bare maps one per line,
//               `{:process 0, :type :invoke, :f :read, :value nil}`; an op map may carry the
//               tag of Jepsen's op record, `#jepsen.history.Op{...}`.
//   jepsen-log  the log lines of Jepsen's early etcd test that Porcupine's corpus replays,
//               `INFO  jepsen.util - 4	:ok	:write	2` (tabs or spaces: split on runs).
// Each format comes with the convention its tools read it by (`HistoryConvention`):
//   jsonl, edn  jepsen     a `fail` did not happen; an ok read of nil tells nothing (Knossos's
//                          cas-register); `info` may take effect at any time after its invoke.
//   jepsen-log  porcupine  Porcupine's reading of these logs: a `fail` cas compared and did not
//                          match, and a read of nil needs the register to be nil.
// A source without `index` or `time` gets them from line order. Values that Jepsen writes
// as keywords (`:timed-out`) arrive as plain strings (`"timed-out"`).
//
// Bad input is a `HistoryFormatError` with the line and a one-line reason: a half line, an
// unknown op type, a completion without an invoke, a second invoke on a busy process.
// No Node built-ins: the caller reads the file, so this runs in the browser too.

import {
  EdnKeyword,
  EdnList,
  EdnMap,
  EdnSet,
  EdnSymbol,
  EdnSyntaxError,
  EdnTagged,
  readEdnForms,
  writeEdn,
} from "./edn.ts";
import type { EdnValue } from "./edn.ts";
import { HistoryShapeError, pairOperations } from "./history.ts";
import type { Operation, OperationType } from "./history.ts";

export type HistoryFormat = "jsonl" | "edn" | "jepsen-log";

/**
 * How the checkers read `fail` and nil in a history: Jepsen's rules (Knossos) or the ones
 * Porcupine applies to the early Jepsen etcd logs of its corpus. See the header.
 */
export type HistoryConvention = "jepsen" | "porcupine";

/** The convention a format is read by: Porcupine's for its etcd logs, Jepsen's otherwise. */
export function historyConvention(format: HistoryFormat): HistoryConvention {
  return format === "jepsen-log" ? "porcupine" : "jepsen";
}

export class HistoryFormatError extends Error {
  constructor(
    /** The line (from 1) where the problem is. */
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "HistoryFormatError";
  }
}

export interface ParsedHistory {
  format: HistoryFormat;
  /** How to read `fail` and nil: `historyConvention(format)`. */
  convention: HistoryConvention;
  operations: Operation[];
  /** `lines[i]` is the source line of `operations[i]`, for error messages and drawings. */
  lines: number[];
}

/** More operations than this in one history is refused: no checker could search them. */
export const historyOperationCountMax = 10_000_000;

const operationTypes: ReadonlySet<string> = new Set(["invoke", "ok", "fail", "info"]);
const jepsenLogLine = /^\S+\s+jepsen\.util\s+-\s/;

/** Which format `text` is in, judged by its first meaningful line. */
export function detectFormat(text: string): HistoryFormat {
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!.trim();
    if (line === "" || line.startsWith(";")) continue;
    if (jepsenLogLine.test(line)) return "jepsen-log";
    if (/^\{\s*"/.test(line) || line === "{") return line === "{" ? "edn" : "jsonl";
    // `#jepsen.history.Op{...}`: the record Jepsen 0.3's jepsen.history prints an op as.
    if (/^[[({]/.test(line) || /^#(?:[A-Za-z][\w.-]*)?\{/.test(line)) return "edn";
    throw new HistoryFormatError(
      index + 1,
      "not a history: expected JSON Lines, Jepsen EDN or Jepsen log lines",
    );
  }
  throw new HistoryFormatError(1, "empty history: no operations");
}

/** Parses a history in any supported format and checks that invokes and completions pair up. */
export function parseHistory(text: string): ParsedHistory {
  const format = detectFormat(text);
  const parsed =
    format === "jsonl"
      ? parseJsonLines(text)
      : format === "edn"
        ? parseEdnHistory(text)
        : parseJepsenLog(text);
  checkShape(parsed);
  return parsed;
}

function checkShape(parsed: ParsedHistory): void {
  if (parsed.operations.length === 0)
    throw new HistoryFormatError(1, "empty history: no operations");
  try {
    pairOperations(parsed.operations);
  } catch (error) {
    if (error instanceof HistoryShapeError) {
      throw new HistoryFormatError(parsed.lines[error.position] ?? 1, error.reason);
    }
    throw error;
  }
}

function countLimit(count: number, line: number): void {
  if (count >= historyOperationCountMax) {
    throw new HistoryFormatError(line, `more than ${historyOperationCountMax} operations`);
  }
}

// ---------------------------------------------------------------------------------------
// JSON Lines

export function parseJsonLines(text: string): ParsedHistory {
  const operations: Operation[] = [];
  const lines: number[] = [];
  const rows = text.split("\n");
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]!.trim();
    if (row === "") continue;
    const line = index + 1;
    countLimit(operations.length, line);
    let object: unknown;
    try {
      object = JSON.parse(row);
    } catch {
      throw new HistoryFormatError(line, "not a JSON object (truncated line?)");
    }
    if (typeof object !== "object" || object === null || Array.isArray(object)) {
      throw new HistoryFormatError(line, "expected a JSON object per line");
    }
    operations.push(
      operationFromFields(object as Record<string, unknown>, operations.length, line),
    );
    lines.push(line);
  }
  return { format: "jsonl", convention: historyConvention("jsonl"), operations, lines };
}

/** Validates the fields of one operation from any source; fills index and time from order. */
function operationFromFields(
  fields: Record<string, unknown>,
  position: number,
  line: number,
): Operation {
  const type = fields["type"];
  if (typeof type !== "string" || !operationTypes.has(type)) {
    throw new HistoryFormatError(
      line,
      `unknown op type ${JSON.stringify(type)} (expected invoke, ok, fail or info)`,
    );
  }
  const process = fields["process"];
  if (
    process !== "nemesis" &&
    !(typeof process === "number" && Number.isSafeInteger(process) && process >= 0)
  ) {
    throw new HistoryFormatError(
      line,
      `expected \`process\` to be an integer from 0 or "nemesis", got ${JSON.stringify(process)}`,
    );
  }
  const f = fields["f"];
  if (typeof f !== "string" || f === "") {
    throw new HistoryFormatError(
      line,
      `expected \`f\` to be a name such as read or write, got ${JSON.stringify(f)}`,
    );
  }
  const operation: Operation = {
    index: numberField(fields, "index", position, line),
    time: numberField(fields, "time", position, line),
    process,
    type: type as OperationType,
    f,
    value: fields["value"] === undefined ? null : fields["value"],
  };
  const key = fields["key"];
  if (key !== undefined && key !== null) {
    if (typeof key !== "string" && typeof key !== "number") {
      throw new HistoryFormatError(
        line,
        `expected \`key\` to be a string or a number, got ${JSON.stringify(key)}`,
      );
    }
    operation.key = String(key);
  }
  const node = fields["node"];
  if (typeof node === "string") operation.node = node;
  return operation;
}

function numberField(
  fields: Record<string, unknown>,
  name: string,
  fallback: number,
  line: number,
): number {
  const value = fields[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new HistoryFormatError(
      line,
      `expected \`${name}\` to be a number from 0, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function formatJsonLines(operations: readonly Operation[]): string {
  return (
    operations.map((operation) => JSON.stringify(operation)).join("\n") +
    (operations.length > 0 ? "\n" : "")
  );
}

// ---------------------------------------------------------------------------------------
// Jepsen EDN

export function parseEdnHistory(text: string): ParsedHistory {
  const flat = parseFlatEdnLines(text);
  if (flat !== undefined) return flat;
  let forms;
  try {
    forms = readEdnForms(text);
  } catch (error) {
    if (error instanceof EdnSyntaxError) throw new HistoryFormatError(error.line, error.reason);
    throw error;
  }
  // A top-level vector or list holds the whole history; otherwise every form is one op map.
  let maps: Array<{ value: EdnValue; line: number }> = forms;
  const only = forms[0];
  if (
    forms.length === 1 &&
    only !== undefined &&
    (Array.isArray(only.value) || only.value instanceof EdnList)
  ) {
    const items = Array.isArray(only.value) ? only.value : only.value.items;
    // Line numbers of items inside one form are not tracked; recover them from the text.
    const itemLines = mapStartLines(text, items.length, only.line);
    maps = items.map((value, index) => ({ value, line: itemLines[index] ?? only.line }));
  }
  const operations: Operation[] = [];
  const lines: number[] = [];
  for (const { value: form, line } of maps) {
    countLimit(operations.length, line);
    // A tagged op record (`#jepsen.history.Op{...}`) is its map.
    const value = form instanceof EdnTagged ? form.value : form;
    if (!(value instanceof EdnMap))
      throw new HistoryFormatError(line, "expected an op map such as {:type :invoke, ...}");
    const fields: Record<string, unknown> = {};
    for (const [key, item] of value.entries) {
      if (key instanceof EdnKeyword) fields[key.name] = plainValue(item);
    }
    operations.push(operationFromFields(fields, operations.length, line));
    lines.push(line);
  }
  return { format: "edn", convention: historyConvention("edn"), operations, lines };
}

// The shape almost every Jepsen history has: one op map per line, keyword keys, plain values.
//   {:process 6, :type :invoke, :f :append, :key "0", :value "x 6 0 y"}
// Lines of that shape are read with two regular expressions instead of the general reader,
// which builds a form per keyword and per map before plainValue flattens them again: about
// twice as fast on Porcupine's kv histories, where reading is a good share of a cold check.
// Anything else on any line (a comment, a float, an escape in a string, a vector, a history
// that is one big vector) sends the whole text to the general reader, so values and errors
// are the general reader's, always. Blanks are EDN's (spaces, tabs, commas; not Unicode's
// other spaces, which EDN reads as part of a token), and every pair must be followed by a
// blank or the closing brace, so a line is split into pairs one way only: no backtracking.
const flatBlank = String.raw`[ \t\r\f,]`;
const flatValue = String.raw`(?:nil|true|false|-?\d{1,15}|:[A-Za-z][\w.-]*|"[^"\\\n]*")`;
const flatPair = String.raw`:[A-Za-z][\w.-]*${flatBlank}+${flatValue}(?:${flatBlank}+|(?=\}))`;
const flatOpMap = new RegExp(
  String.raw`^${flatBlank}*\{${flatBlank}*(?:${flatPair})*\}${flatBlank}*$`,
);
const flatField = new RegExp(String.raw`:([A-Za-z][\w.-]*)${flatBlank}+(${flatValue})`, "g");
const flatBlankLine = new RegExp(String.raw`^${flatBlank}*$`);

function parseFlatEdnLines(text: string): ParsedHistory | undefined {
  const operations: Operation[] = [];
  const lines: number[] = [];
  const rows = text.split("\n");
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]!;
    if (flatBlankLine.test(row)) continue;
    if (!flatOpMap.test(row)) return undefined;
    const line = index + 1;
    countLimit(operations.length, line);
    const fields: Record<string, unknown> = {};
    for (const [, key, value] of row.matchAll(flatField)) fields[key!] = flatScalar(value!);
    operations.push(operationFromFields(fields, operations.length, line));
    lines.push(line);
  }
  return { format: "edn", convention: historyConvention("edn"), operations, lines };
}

/** A value the flat shape allows, as plainValue would give it. */
function flatScalar(text: string): unknown {
  if (text === "nil") return null;
  if (text === "true") return true;
  if (text === "false") return false;
  if (text.startsWith(":")) return text.slice(1);
  if (text.startsWith('"')) return text.slice(1, -1);
  return Number(text);
}

/** The lines where the op maps of a one-vector history start: each `{` at nesting depth 1. */
function mapStartLines(text: string, count: number, firstLine: number): number[] {
  const starts: number[] = [];
  let depth = 0;
  let line = firstLine;
  let inString = false;
  let index = 0;
  // Skip to the opening bracket of the form.
  for (let skippedLine = 1; skippedLine < firstLine; index += 1)
    if (text.charCodeAt(index) === 10) skippedLine += 1;
  for (; index < text.length && starts.length < count; index += 1) {
    const character = text[index]!;
    if (character === "\n") line += 1;
    if (inString) {
      if (character === "\\") index += 1;
      else if (character === '"') inString = false;
      continue;
    }
    if (character === '"') inString = true;
    else if (character === ";")
      while (index + 1 < text.length && text[index + 1] !== "\n") index += 1;
    else if (character === "[" || character === "(" || character === "{") {
      if (character === "{" && depth === 1) starts.push(line);
      depth += 1;
    } else if (character === "]" || character === ")" || character === "}") depth -= 1;
  }
  return starts;
}

/** EDN to plain JSON-like data: keywords and symbols become their names, collections arrays. */
export function plainValue(value: EdnValue): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint")
      return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
    return value;
  }
  if (Array.isArray(value)) return value.map(plainValue);
  if (value instanceof EdnKeyword || value instanceof EdnSymbol) return value.name;
  if (value instanceof EdnList || value instanceof EdnSet) return value.items.map(plainValue);
  if (value instanceof EdnTagged) return plainValue(value.value);
  const object: Record<string, unknown> = {};
  for (const [key, item] of value.entries) {
    const name =
      key instanceof EdnKeyword || key instanceof EdnSymbol
        ? key.name
        : typeof key === "string"
          ? key
          : writeEdn(key);
    object[name] = plainValue(item);
  }
  return object;
}

/** Plain data back to EDN: strings stay strings, objects become maps with keyword keys. */
export function ednValue(value: unknown): EdnValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "boolean":
    case "number":
    case "string":
    case "bigint":
      return value;
    default:
      break;
  }
  if (Array.isArray(value)) return value.map(ednValue);
  if (typeof value === "object") {
    return new EdnMap(
      Object.entries(value).map(([key, item]) => [new EdnKeyword(key), ednValue(item)]),
    );
  }
  throw new TypeError(`Expected plain data in an operation value, got ${typeof value}`);
}

/** Jepsen's history.edn shape: one op map per line, keys in Jepsen's order. */
export function formatEdn(operations: readonly Operation[]): string {
  const lines = operations.map((operation) => {
    const entries: Array<[EdnValue, EdnValue]> = [
      [new EdnKeyword("index"), operation.index],
      [new EdnKeyword("time"), operation.time],
      [new EdnKeyword("type"), new EdnKeyword(operation.type)],
      [
        new EdnKeyword("process"),
        operation.process === "nemesis" ? new EdnKeyword("nemesis") : operation.process,
      ],
      [new EdnKeyword("f"), new EdnKeyword(operation.f)],
    ];
    if (operation.key !== undefined) entries.push([new EdnKeyword("key"), operation.key]);
    entries.push([new EdnKeyword("value"), ednValue(operation.value)]);
    if (operation.node !== undefined) entries.push([new EdnKeyword("node"), operation.node]);
    return writeEdn(new EdnMap(entries));
  });
  return lines.join("\n") + (lines.length > 0 ? "\n" : "");
}

// ---------------------------------------------------------------------------------------
// Jepsen log lines (Porcupine's etcd corpus)

export function parseJepsenLog(text: string): ParsedHistory {
  const operations: Operation[] = [];
  const lines: number[] = [];
  const rows = text.split("\n");
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]!.trim();
    if (row === "") continue;
    const line = index + 1;
    countLimit(operations.length, line);
    if (!jepsenLogLine.test(row))
      throw new HistoryFormatError(line, "not a `jepsen.util` log line");
    // level, logger, "-", process, type, f, value...
    const fields = row.split(/\s+/);
    if (fields.length < 7)
      throw new HistoryFormatError(line, "truncated log line: expected process, type, f and value");
    const [processText, typeText, fText] = [fields[3]!, fields[4]!, fields[5]!];
    const process =
      processText === ":nemesis"
        ? "nemesis"
        : /^\d+$/.test(processText)
          ? Number(processText)
          : undefined;
    if (process === undefined)
      throw new HistoryFormatError(line, `expected a process number, got \`${processText}\``);
    if (!typeText.startsWith(":") || !operationTypes.has(typeText.slice(1))) {
      throw new HistoryFormatError(
        line,
        `unknown op type \`${typeText}\` (expected :invoke, :ok, :fail or :info)`,
      );
    }
    if (!fText.startsWith(":") || fText.length === 1)
      throw new HistoryFormatError(line, `expected an op name such as :read, got \`${fText}\``);
    const value = logValue(fields, line);
    operations.push({
      index: operations.length,
      time: operations.length,
      process,
      type: typeText.slice(1) as OperationType,
      f: fText.slice(1),
      value,
    });
    lines.push(line);
  }
  return { format: "jepsen-log", convention: historyConvention("jepsen-log"), operations, lines };
}

/** The value of a log line: the common shapes directly, anything else through the EDN reader. */
function logValue(fields: string[], line: number): unknown {
  const text = fields.length === 7 ? fields[6]! : fields.slice(6).join(" ");
  if (text === "nil") return null;
  if (/^-?\d{1,15}$/.test(text)) return Number(text);
  if (/^:[A-Za-z][\w.-]*$/.test(text)) return text.slice(1);
  const pair = /^\[(-?\d{1,15}) (-?\d{1,15})\]$/.exec(text); // a cas: [from to]
  if (pair !== null) return [Number(pair[1]), Number(pair[2])];
  try {
    const forms = readEdnForms(text);
    if (forms.length !== 1)
      throw new EdnSyntaxError(1, `expected one value, found ${forms.length}`);
    return plainValue(forms[0]!.value);
  } catch (error) {
    if (error instanceof EdnSyntaxError)
      throw new HistoryFormatError(line, `bad value: ${error.reason}`);
    throw error;
  }
}
