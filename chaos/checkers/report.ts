// The HTML report of a checked run (lesson 10, monitoring for five nines; every lesson that breaks
// something): one self-contained page, with inline CSS and inline SVG, no script and no network,
// that a learner can open from store/<test>/<timestamp>/report.html or the course site. It shows
// the verdicts first, then the pictures that explain them: a timeline of every operation with the
// fault windows behind it, latency, and availability over time. No Node built-ins: the course
// site renders it in the browser too.

import type { Operation } from "../harness/history.ts";
import { checkAvailability } from "./availability.ts";
import type { AvailabilityCheckResult } from "./availability.ts";
import { describeValue, pairOperations } from "./history-view.ts";
import type { FaultWindow, PairedOperation, Validity } from "./history-view.ts";

/** How the run was made: shown at the top so the run can be reproduced. */
export interface ReportParameters {
  workload: string;
  seed: string | number;
  backend: string;
  nemesis: string;
  /** The exact command that replays this run, e.g. `npx neverstop test set --seed 42`. */
  replayCommand: string;
  /** Anything else worth showing (node count, time limit, quorum sizes). */
  extra?: Readonly<Record<string, string | number | boolean>>;
}

/** A checker's result: its verdict, and any evidence fields (numbers are shown as counts). */
export interface CheckerSummary {
  valid: Validity;
  reason?: string;
}

/** The linearizability checker's counter-example, to draw on the timeline. */
export interface LinearizabilityCounterExample {
  /** History index (of the invoke or the completion) of the operation that cannot be linearized. */
  failingOperationIndex: number;
  /** History indices of the longest linearizable prefix's operations, in linearization order. */
  linearizablePrefixIndices: readonly number[];
}

export interface ReportInput {
  title: string;
  parameters: ReportParameters;
  history: readonly Operation[];
  /** Each checker's result by name, e.g. { set: checkSet(history), availability: ... }. */
  results: Readonly<Record<string, CheckerSummary>>;
  /** Computed from the history when absent. */
  availability?: AvailabilityCheckResult;
  counterExample?: LinearizabilityCounterExample;
}

/** Limits that keep a report of a long run small enough for a browser to open. */
export const reportBarCountMax = 50_000;
export const reportPointCountMax = 20_000;
export const reportLaneCountMax = 200;
const countFieldsMax = 14;

const plotWidthPx = 1000;
const marginLeftPx = 90;
const marginRightPx = 20;
const laneHeightPx = 16;
const laneGapPx = 4;
const chartHeightPx = 220;

/** Labels in the drawings use this font size; `textWidthPx` measures with it. */
export const labelFontPx = 10;
/** The timeline grows wider (and scrolls) to keep this many pixels per operation in a lane. */
const timelinePxPerOperation = 7;
const timelineWidthMaxPx = 16_000;

/**
 * A label that may be drawn, as a box in SVG pixels. `roomPx` is the space its anchor offers
 * (the bar or the band it names): a label wider than its room is not drawn at all.
 */
export interface LabelCandidate {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  roomPx: number;
  /** Higher first: a counter-example's marks win over plain operation names. */
  priority: number;
}

/**
 * An upper bound on the width of `text` in a sans-serif font of `fontPx`: 0.62 em per
 * character is wider than any digit or lower-case letter of system-ui, so a label measured
 * here never spills out of the box it was given.
 */
export function textWidthPx(text: string, fontPx: number): number {
  return [...text].length * fontPx * 0.62;
}

/**
 * Chooses the labels to draw so that no two overlap and each fits its room: highest priority
 * first, then left to right, each kept only if its box meets no kept box. The layout is all
 * arithmetic, so a test can check it without a browser. Example: two 30 px labels at x = 0 and
 * x = 20 on one row keep only the first; the second stays readable on hover.
 */
export function placeLabels(candidates: readonly LabelCandidate[]): LabelCandidate[] {
  const ordered = candidates
    .filter((label) => label.width <= label.roomPx)
    .sort((a, b) => b.priority - a.priority || a.x - b.x || a.y - b.y);
  const rowHeightPx = 8;
  const rows = new Map<number, LabelCandidate[]>();
  const kept: LabelCandidate[] = [];
  for (const label of ordered) {
    const firstRow = Math.floor(label.y / rowHeightPx);
    const lastRow = Math.floor((label.y + label.height) / rowHeightPx);
    let clear = true;
    for (let row = firstRow; row <= lastRow && clear; row += 1) {
      clear = (rows.get(row) ?? []).every((other) => !boxesOverlap(label, other));
    }
    if (!clear) continue;
    kept.push(label);
    for (let row = firstRow; row <= lastRow; row += 1) {
      const list = rows.get(row) ?? [];
      list.push(label);
      rows.set(row, list);
    }
  }
  return kept;
}

/** `text`, cut with "…" to fit `roomPx`; the whole text when it fits; "" below 6 characters. */
export function fitText(text: string, roomPx: number, fontPx: number): string {
  if (textWidthPx(text, fontPx) <= roomPx) return text;
  const characters = Math.floor(roomPx / (fontPx * 0.62)) - 1;
  return characters < 6 ? "" : `${[...text].slice(0, characters).join("")}…`;
}

/** Whether two label boxes share any area (touching edges do not count). */
export function boxesOverlap(
  a: Pick<LabelCandidate, "x" | "y" | "width" | "height">,
  b: Pick<LabelCandidate, "x" | "y" | "width" | "height">,
): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * A fault in the words its schedule already has, from the value the history recorded when it
 * started: `{ description: "isolate n3", how: "drop", cut: [...] }` reads "partition: isolate n3
 * (messages dropped)", never the list of cut links. Values this does not know (a Jepsen
 * keyword such as "majority") are shown as they are.
 */
export function faultInWords(name: string, value: unknown): string {
  if (typeof value === "string" || typeof value === "number") return `${name} ${value}`;
  if (value === null || typeof value !== "object") return name;
  const fields = value as Record<string, unknown>;
  if (typeof fields["description"] === "string") {
    const how =
      fields["how"] === "refuse"
        ? " (connections refused)"
        : fields["how"] === "drop"
          ? " (messages dropped)"
          : "";
    return `${name}: ${fields["description"]}${how}`;
  }
  if (Array.isArray(fields["links"])) {
    const links = fields["links"].map(String);
    const shown =
      links.length > 4
        ? `${links.slice(0, 4).join(", ")} and ${links.length - 4} more`
        : links.join(", ");
    if (typeof fields["lossRate"] === "number")
      return `${name} ${shown} (${Number((fields["lossRate"] * 100).toFixed(1))}% of messages lost)`;
    if (typeof fields["latencyMs"] === "number")
      return `${name} ${shown} (+${fields["latencyMs"]} ms latency)`;
    return `${name} ${shown}`;
  }
  if (typeof fields["node"] === "string" && typeof fields["via"] === "string")
    return `${name} ${fields["node"]} via ${fields["via"]}`;
  if (typeof fields["node"] === "string") {
    const offsetMs = fields["offsetMs"];
    if (name === "skew" && typeof offsetMs === "number") {
      const sign = offsetMs >= 0 ? "+" : "-";
      return `skew ${fields["node"]}'s clock ${sign}${(Math.abs(offsetMs) / 1000).toFixed(3)} s`;
    }
    const crash = name === "crash" || name === "kill" ? " (kill -9)" : "";
    return `${name} ${fields["node"]}${crash}`;
  }
  if (typeof fields["error"] === "string") return `${name} failed: ${fields["error"]}`;
  return `${name} ${describeValue(value)}`.trim();
}

/** The fault windows with their labels in words (see `faultInWords`). */
export function describeFaultWindows(
  history: readonly Operation[],
  windows: readonly FaultWindow[],
): FaultWindow[] {
  const byIndex = new Map<number, Operation>();
  for (const window of windows) {
    const atPosition = history[window.startIndex];
    const start =
      atPosition?.index === window.startIndex
        ? atPosition
        : history.find((operation) => operation.index === window.startIndex);
    if (start !== undefined) byIndex.set(window.startIndex, start);
  }
  return windows.map((window) => {
    const start = byIndex.get(window.startIndex);
    return start === undefined
      ? window
      : { ...window, label: faultInWords(window.name, start.value) };
  });
}

/** Escapes text for HTML and SVG, in element content and in quoted attributes alike. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** The overall verdict: invalid if any checker is, else unknown if any is, else valid. */
export function overallVerdict(results: Readonly<Record<string, CheckerSummary>>): Validity {
  const verdicts = Object.values(results).map((result) => result.valid);
  if (verdicts.includes(false)) return false;
  if (verdicts.length === 0 || verdicts.includes("unknown")) return "unknown";
  return true;
}

/**
 * Renders the report as one HTML string. Every piece of text from the history or the input is
 * escaped; the page has no script, so everything is readable with JavaScript off.
 */
export function renderReport(input: ReportInput): string {
  const pairs = pairOperations(input.history);
  const availability = input.availability ?? checkAvailability(input.history);
  const endNs = Math.max(1, ...input.history.slice(-1).map((operation) => operation.time));
  const scale: TimeScale = {
    endNs,
    widthPx: plotWidthPx,
    x: (timeNs) => marginLeftPx + (Math.min(timeNs, endNs) / endNs) * innerWidth(),
  };
  const verdict = overallVerdict(input.results);
  const windows = describeFaultWindows(input.history, availability.faultWindows);
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${styles}</style>`,
    "</head>",
    "<body>",
    `<h1>${escapeHtml(input.title)} <span class="verdict ${verdictClass(verdict)}">${verdictText(verdict)}</span></h1>`,
    renderParameters(input.parameters),
    renderSummary(input.results),
    renderGuide(),
    renderTimeline(pairs, windows, input.counterExample, endNs),
    renderFaultTable(windows),
    renderScatter(pairs, windows, scale),
    renderPercentiles(availability, windows, scale),
    renderAvailability(availability, windows, scale),
    renderLatencyTable(availability),
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

export interface TimeScale {
  endNs: number;
  widthPx: number;
  x: (timeNs: number) => number;
}

function innerWidth(): number {
  return plotWidthPx - marginLeftPx - marginRightPx;
}

function verdictClass(valid: Validity): string {
  return valid === true ? "valid" : valid === false ? "invalid" : "unknown";
}

function verdictText(valid: Validity): string {
  return valid === true ? "valid" : valid === false ? "INVALID" : "unknown";
}

function renderParameters(parameters: ReportParameters): string {
  const rows: [string, string][] = [
    ["workload", parameters.workload],
    ["seed", String(parameters.seed)],
    ["backend", parameters.backend],
    ["nemesis", parameters.nemesis],
    ...Object.entries(parameters.extra ?? {}).map(([name, value]): [string, string] => [
      name,
      String(value),
    ]),
  ];
  const body = rows
    .map(
      ([name, value]) =>
        `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`,
    )
    .join("\n");
  return [
    "<section>",
    "<h2>Test parameters</h2>",
    `<table class="parameters">\n${body}\n</table>`,
    "<p>Replay this run with:</p>",
    `<pre><code>${escapeHtml(parameters.replayCommand)}</code></pre>`,
    "</section>",
  ].join("\n");
}

function renderSummary(results: Readonly<Record<string, CheckerSummary>>): string {
  const rows = Object.entries(results).map(([name, result]) => {
    const counts = countFields(result)
      .map(
        ([field, text]) =>
          `<span class="count">${escapeHtml(field)}: <b>${escapeHtml(text)}</b></span>`,
      )
      .join(" ");
    return [
      "<tr>",
      `<th scope="row">${escapeHtml(name)}</th>`,
      `<td><span class="verdict ${verdictClass(result.valid)}">${verdictText(result.valid)}</span></td>`,
      `<td>${escapeHtml(typeof result.reason === "string" ? result.reason : "")}</td>`,
      `<td>${counts}</td>`,
      "</tr>",
    ].join("");
  });
  return [
    "<section>",
    "<h2>Verdicts</h2>",
    '<table class="summary">',
    "<tr><th>checker</th><th>verdict</th><th>why</th><th>counts</th></tr>",
    ...(rows.length > 0 ? rows : ['<tr><td colspan="4">No checker results were given.</td></tr>']),
    "</table>",
    "</section>",
  ].join("\n");
}

/** The numeric evidence of a result, formatted by unit: *Ns as time, *Fraction as a percentage. */
function countFields(result: CheckerSummary): [string, string][] {
  const fields: [string, string][] = [];
  for (const [field, value] of Object.entries(result as object)) {
    if (fields.length >= countFieldsMax) break;
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    if (field.endsWith("Ns")) fields.push([field.slice(0, -2), formatDuration(value)]);
    else if (field.includes("Fraction") || field === "minimumAvailability") {
      fields.push([field, `${(value * 100).toFixed(3)}%`]);
    } else fields.push([field, String(value)]);
  }
  return fields;
}

function formatDuration(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / 1e3).toFixed(1)} µs`;
}

function renderGuide(): string {
  return [
    "<section>",
    "<h2>How to read this report</h2>",
    "<p>Each client operation is recorded twice: when it was invoked and when it completed. " +
      '<span class="key ok">ok</span> means it happened; <span class="key fail">fail</span> means it ' +
      'surely did not; <span class="key info">info</span> (a timeout, a lost connection, or no answer ' +
      "at all) means it may have happened at any moment after its invoke. Grey bands are fault " +
      "windows: from the moment the nemesis began a fault to the moment it finished undoing it.</p>",
    "<p>Hover over a bar or a point to see the operation. The verdicts above come from the checkers; " +
      "the pictures below are there to help you explain them.</p>",
    "</section>",
  ].join("\n");
}

function faultBands(
  windows: readonly FaultWindow[],
  scale: TimeScale,
  topPx: number,
  heightPx: number,
): string {
  const bands = windows.map((window) => {
    const x = scale.x(window.startNs);
    return { window, x, width: Math.max(1, scale.x(window.endNs) - x) };
  });
  // A label is drawn only inside its own band and clear of every other label, cut short with
  // "…" when the band is narrow; the band's hover title always carries the full words.
  const texts = bands.map(({ window, width }) => fitText(window.label, width - 6, labelFontPx));
  const shown = new Set(
    placeLabels(
      bands.map(({ x, width }, position) => ({
        id: position,
        x: x + 3,
        y: topPx + 1,
        width: textWidthPx(texts[position]!, labelFontPx),
        height: labelFontPx + 2,
        roomPx: width - 6,
        priority: 0,
      })),
    ).map((label) => label.id),
  );
  return bands
    .map(({ window, x, width }, position) => {
      const text = shown.has(position)
        ? `<text class="fault-label" x="${px(x + 3)}" y="${px(topPx + 11)}">${escapeHtml(texts[position]!)}</text>`
        : "";
      return (
        `<g class="fault"><rect class="fault-band" x="${px(x)}" y="${px(topPx)}" width="${px(width)}" height="${px(heightPx)}">` +
        `<title>${escapeHtml(`${window.label}: ${formatSeconds(window.startNs)} to ${formatSeconds(window.endNs)}`)}</title></rect>` +
        `${text}</g>`
      );
    })
    .join("\n");
}

function px(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function formatSeconds(timeNs: number): string {
  return `${(timeNs / 1e9).toFixed(3)} s`;
}

/** Tick positions for an axis from 0 to `max`: about 8 steps of 1, 2 or 5 times a power of ten. */
function ticks(max: number): number[] {
  if (!(max > 0)) return [0];
  const rough = max / 8;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10]
    .map((factor) => factor * power)
    .find((candidate) => candidate >= rough)!;
  const result: number[] = [];
  for (let tick = 0; tick <= max + step * 1e-9; tick += step) result.push(tick);
  return result;
}

function timeAxis(scale: TimeScale, yPx: number): string {
  const parts = [
    `<line class="axis" x1="${marginLeftPx}" y1="${px(yPx)}" x2="${px(scale.widthPx - marginRightPx)}" y2="${px(yPx)}"/>`,
  ];
  for (const seconds of ticks(scale.endNs / 1e9)) {
    const x = scale.x(seconds * 1e9);
    parts.push(
      `<line class="tick" x1="${px(x)}" y1="${px(yPx)}" x2="${px(x)}" y2="${px(yPx + 4)}"/>`,
    );
    parts.push(
      `<text class="tick-label" x="${px(x)}" y="${px(yPx + 16)}" text-anchor="middle">${formatTick(seconds)} s</text>`,
    );
  }
  return parts.join("\n");
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

function operationTitle(pair: PairedOperation): string {
  const completion = pair.completion;
  const result =
    completion === undefined
      ? "no completion"
      : `${completion.type} ${describeValue(completion.value)}`;
  const latency =
    completion === undefined
      ? "open to the end"
      : formatDuration(pair.completionTimeNs - pair.invokeTimeNs);
  const key = pair.key === undefined ? "" : ` key ${pair.key}`;
  return (
    `#${pair.invoke.index} process ${pair.process}: ${`${pair.f}${key} ${describeValue(pair.invoke.value)}`.trim()} -> ` +
    `${result.trim()} (${latency}, invoked at ${formatSeconds(pair.invokeTimeNs)}${pair.node === undefined ? "" : `, node ${pair.node}`})`
  );
}

/** One bar of the timeline, placed. */
export interface TimelineBar {
  pair: PairedOperation;
  lane: number;
  x: number;
  y: number;
  width: number;
  classes: string;
  title: string;
}

/** One label of the timeline, placed: `placeLabels` kept it, so it overlaps no other. */
export interface TimelineLabel extends LabelCandidate {
  text: string;
  className: string;
}

export interface TimelineLayout {
  widthPx: number;
  heightPx: number;
  /** The processes drawn in each lane, in lane order. */
  lanes: number[][];
  bars: TimelineBar[];
  labels: TimelineLabel[];
  scale: TimeScale;
  notes: string[];
}

/**
 * Packs processes into lanes: a process that starts after another has finished shares its
 * lane (a client that timed out comes back as a new process in the same slot), so a run of
 * 3,000 operations by 5 clients has about 5 lanes, not hundreds.
 */
function packLanes(pairs: readonly PairedOperation[]): number[][] {
  const spans = new Map<number, { startNs: number; endNs: number }>();
  for (const pair of pairs) {
    const span = spans.get(pair.process);
    if (span === undefined)
      spans.set(pair.process, { startNs: pair.invokeTimeNs, endNs: pair.completionTimeNs });
    else span.endNs = Math.max(span.endNs, pair.completionTimeNs);
  }
  const lanes: { processes: number[]; endNs: number }[] = [];
  for (const [process, span] of spans) {
    const free = lanes.find((lane) => lane.endNs < span.startNs);
    if (free !== undefined) {
      free.processes.push(process);
      free.endNs = span.endNs;
    } else lanes.push({ processes: [process], endNs: span.endNs });
  }
  return lanes.map((lane) => lane.processes);
}

/** A bar's short name: what it did, cut to fit; the hover title has everything. */
function operationLabel(pair: PairedOperation): string {
  const value = pair.invoke.value;
  const text = value === null || value === undefined ? pair.f : `${pair.f} ${describeValue(value)}`;
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

/**
 * Where everything on the timeline goes. The width grows with the busiest lane (the page
 * scrolls sideways) so that bars stay wide enough to read, and every label goes through
 * `placeLabels`: none overlaps another, and one that does not fit its bar is left to the hover.
 */
export function timelineLayout(
  pairs: readonly PairedOperation[],
  windows: readonly FaultWindow[],
  counterExample: LinearizabilityCounterExample | undefined,
  endNs: number,
): TimelineLayout {
  const allLanes = packLanes(pairs);
  const lanes = allLanes.slice(0, reportLaneCountMax);
  const laneOf = new Map(lanes.flatMap((processes, lane) => processes.map((p) => [p, lane])));
  const perLane = new Array<number>(lanes.length).fill(0);
  for (const pair of pairs) {
    const lane = laneOf.get(pair.process);
    if (lane !== undefined) perLane[lane]! += 1;
  }
  const widthPx = Math.min(
    timelineWidthMaxPx,
    Math.max(
      plotWidthPx,
      marginLeftPx + marginRightPx + Math.max(0, ...perLane) * timelinePxPerOperation,
    ),
  );
  const scale: TimeScale = {
    endNs,
    widthPx,
    x: (timeNs) =>
      marginLeftPx + (Math.min(timeNs, endNs) / endNs) * (widthPx - marginLeftPx - marginRightPx),
  };
  const gapPx = counterExample === undefined ? laneGapPx : laneGapPx + labelFontPx + 2;
  const topPx = 14 + gapPx;
  const laneY = (lane: number): number => topPx + lane * (laneHeightPx + gapPx);
  const marks = counterExampleMarks(pairs, counterExample);
  const drawn = pairs.filter((pair) => laneOf.has(pair.process)).slice(0, reportBarCountMax);
  const bars: TimelineBar[] = [];
  const candidates: (LabelCandidate & { text: string; className: string })[] = [];
  for (const pair of drawn) {
    const lane = laneOf.get(pair.process)!;
    const y = laneY(lane);
    const x = scale.x(pair.invokeTimeNs);
    const width = Math.max(1.5, scale.x(pair.completionTimeNs) - x);
    const mark = marks.classOf(pair);
    const classes = [
      "op",
      `op-${pair.outcome}`,
      pair.completion === undefined ? "op-open" : "",
      mark,
    ];
    bars.push({
      pair,
      lane,
      x,
      y,
      width,
      classes: classes.filter((name) => name !== "").join(" "),
      title: operationTitle(pair) + marks.noteOf(pair),
    });
    const text = operationLabel(pair);
    const id = candidates.length;
    const textWidth = textWidthPx(text, labelFontPx);
    candidates.push({
      id,
      x: x + 2,
      y: y + 2,
      width: textWidth,
      height: laneHeightPx - 4,
      roomPx: width - 4,
      priority: 0,
      text,
      className: "op-label",
    });
    const markText = marks.labelOf(pair);
    if (markText !== "") {
      const markWidth = textWidthPx(markText, labelFontPx);
      candidates.push({
        id: id + 1,
        x,
        y: y - labelFontPx - 2,
        width: markWidth,
        height: labelFontPx + 1,
        roomPx: Infinity,
        priority: mark === "counterexample" ? 3 : 2,
        text: markText,
        className: "mark-label",
      });
    }
  }
  const labels = placeLabels(candidates) as TimelineLabel[];
  const notes: string[] = [];
  if (allLanes.length > lanes.length)
    notes.push(`Only the first ${lanes.length} of ${allLanes.length} lanes are drawn.`);
  if (drawn.length < pairs.length && allLanes.length <= lanes.length)
    notes.push(`Only the first ${drawn.length} of ${pairs.length} operations are drawn.`);
  const heightPx = laneY(lanes.length) + 30;
  return { widthPx, heightPx, lanes, bars, labels, scale, notes };
}

/** A lane's name, short enough for the margin: "process 3", "p0, p3" or "p0, p3 +5". */
function laneName(processes: readonly number[]): string {
  if (processes.length === 1) return `process ${processes[0]}`;
  const shown = processes
    .slice(0, 2)
    .map((process) => `p${process}`)
    .join(", ");
  return processes.length > 2 ? `${shown} +${processes.length - 2}` : shown;
}

function renderTimeline(
  pairs: readonly PairedOperation[],
  windows: readonly FaultWindow[],
  counterExample: LinearizabilityCounterExample | undefined,
  endNs: number,
): string {
  const layout = timelineLayout(pairs, windows, counterExample, endNs);
  const { scale, heightPx } = layout;
  const parts = [faultBands(windows, scale, 0, heightPx - 30)];
  for (const [lane, processes] of layout.lanes.entries()) {
    const y = layout.bars.find((bar) => bar.lane === lane)?.y ?? 0;
    parts.push(
      `<text class="lane-label" x="${marginLeftPx - 6}" y="${px(y + 12)}" text-anchor="end">${escapeHtml(laneName(processes))}` +
        `<title>${escapeHtml(`processes ${processes.join(", ")}`)}</title></text>`,
    );
  }
  for (const bar of layout.bars) {
    parts.push(
      `<rect class="${bar.classes}" data-index="${bar.pair.invoke.index}" x="${px(bar.x)}" y="${px(bar.y)}" width="${px(bar.width)}" height="${laneHeightPx}">` +
        `<title>${escapeHtml(bar.title)}</title></rect>`,
    );
  }
  for (const label of layout.labels) {
    parts.push(
      `<text class="${label.className}" x="${px(label.x)}" y="${px(label.y + labelFontPx - 1)}">${escapeHtml(label.text)}</text>`,
    );
  }
  parts.push(timeAxis(scale, heightPx - 26));
  const marks = counterExampleMarks(pairs, counterExample);
  return [
    "<section>",
    "<h2>Timeline</h2>",
    "<p>Each lane is one client slot: a process that started after another finished shares its lane. " +
      "Each bar runs from an operation's invoke to its completion; an info bar that reaches the right " +
      "edge never completed. Names are written where they fit; hover over any bar for all of it.</p>",
    marks.explanation,
    ...layout.notes.map((note) => `<p class="note">${escapeHtml(note)}</p>`),
    `<div class="scroll">${svg(heightPx, "Timeline of operations", parts.join("\n"), layout.widthPx)}</div>`,
    "</section>",
  ].join("\n");
}

interface CounterExampleMarks {
  classOf: (pair: PairedOperation) => string;
  labelOf: (pair: PairedOperation) => string;
  /** Added to the hover title, so a mark left undrawn for lack of room is still there. */
  noteOf: (pair: PairedOperation) => string;
  explanation: string;
}

function counterExampleMarks(
  pairs: readonly PairedOperation[],
  counterExample: LinearizabilityCounterExample | undefined,
): CounterExampleMarks {
  if (counterExample === undefined)
    return { classOf: () => "", labelOf: () => "", noteOf: () => "", explanation: "" };
  // Either record of an operation names it: the invoke's index or the completion's.
  const byIndex = new Map<number, PairedOperation>();
  for (const pair of pairs) {
    byIndex.set(pair.invoke.index, pair);
    if (pair.completion !== undefined) byIndex.set(pair.completion.index, pair);
  }
  const failing = byIndex.get(counterExample.failingOperationIndex);
  const order = new Map<PairedOperation, number>();
  for (const index of counterExample.linearizablePrefixIndices) {
    const pair = byIndex.get(index);
    if (pair !== undefined && !order.has(pair)) order.set(pair, order.size + 1);
  }
  const describeFailing =
    failing === undefined
      ? `operation #${counterExample.failingOperationIndex} (not found in this history)`
      : `operation #${failing.invoke.index} (process ${failing.process}, ${failing.f} ${describeValue(failing.invoke.value)})`;
  return {
    classOf: (pair) =>
      pair === failing ? "counterexample" : order.has(pair) ? "linearized" : "dimmed",
    labelOf: (pair) =>
      pair === failing ? "✗ cannot be linearized" : order.has(pair) ? String(order.get(pair)) : "",
    noteOf: (pair) =>
      pair === failing
        ? " (cannot be linearized)"
        : order.has(pair)
          ? ` (linearized ${order.get(pair)})`
          : "",
    explanation:
      `<p class="counterexample-text">Not linearizable. The blue-outlined operations, numbered in order, ` +
      `form the longest prefix the checker could place in one sequential order that matches every ` +
      `result; ${escapeHtml(describeFailing)}, outlined in black, cannot be placed after them: no ` +
      `order explains its result. The other operations are dimmed.</p>`,
  };
}

function svg(heightPx: number, label: string, content: string, widthPx = plotWidthPx): string {
  const wide = widthPx > plotWidthPx ? ' class="wide"' : "";
  return (
    `<svg xmlns="http://www.w3.org/2000/svg"${wide} viewBox="0 0 ${px(widthPx)} ${px(heightPx)}" width="${px(widthPx)}" height="${px(heightPx)}" role="img" aria-label="${escapeHtml(label)}">\n` +
    `${content}\n</svg>`
  );
}

function valueAxis(
  maxValue: number,
  topPx: number,
  bottomPx: number,
  unit: string,
): { y: (value: number) => number; svg: string } {
  const axisMax = Math.max(...ticks(maxValue), maxValue, Number.MIN_VALUE);
  const y = (value: number): number => bottomPx - (value / axisMax) * (bottomPx - topPx);
  const parts = [
    `<line class="axis" x1="${marginLeftPx}" y1="${px(topPx)}" x2="${marginLeftPx}" y2="${px(bottomPx)}"/>`,
  ];
  for (const tick of ticks(maxValue)) {
    parts.push(
      `<line class="grid" x1="${marginLeftPx}" y1="${px(y(tick))}" x2="${plotWidthPx - marginRightPx}" y2="${px(y(tick))}"/>`,
    );
    parts.push(
      `<text class="tick-label" x="${marginLeftPx - 6}" y="${px(y(tick) + 4)}" text-anchor="end">${formatTick(tick)}${unit}</text>`,
    );
  }
  return { y, svg: parts.join("\n") };
}

function renderScatter(
  pairs: readonly PairedOperation[],
  windows: readonly FaultWindow[],
  scale: TimeScale,
): string {
  const completed = pairs.filter((pair) => pair.completion !== undefined);
  const stride = Math.ceil(completed.length / reportPointCountMax) || 1;
  const points = completed.filter((_, position) => position % stride === 0);
  const latencyMs = (pair: PairedOperation): number =>
    (pair.completionTimeNs - pair.invokeTimeNs) / 1e6;
  const maxMs = points.reduce((max, pair) => Math.max(max, latencyMs(pair)), 0);
  const bottomPx = chartHeightPx - 30;
  const axis = valueAxis(maxMs, 10, bottomPx, " ms");
  const parts = [faultBands(windows, scale, 10, bottomPx - 10), axis.svg];
  for (const pair of points) {
    parts.push(
      `<circle class="point point-${pair.outcome}" cx="${px(scale.x(pair.invokeTimeNs))}" cy="${px(axis.y(latencyMs(pair)))}" r="2.5">` +
        `<title>${escapeHtml(operationTitle(pair))}</title></circle>`,
    );
  }
  parts.push(timeAxis(scale, bottomPx));
  const note = stride > 1 ? `<p class="note">One operation in ${stride} is drawn.</p>` : "";
  return [
    "<section>",
    "<h2>Latency of each operation</h2>",
    "<p>Each point is one completed operation: when it was invoked (across) and how long it took (up).</p>",
    note,
    svg(chartHeightPx, "Latency scatter", parts.join("\n")),
    "</section>",
  ].join("\n");
}

/** A path through defined points that lifts the pen over gaps (empty buckets). */
function linePath(points: readonly ({ x: number; y: number } | undefined)[]): string {
  let path = "";
  let penDown = false;
  for (const point of points) {
    if (point === undefined) {
      penDown = false;
      continue;
    }
    path += `${penDown ? "L" : "M"}${px(point.x)} ${px(point.y)} `;
    penDown = true;
  }
  return path.trim();
}

function bucketMiddleNs(availability: AvailabilityCheckResult, startNs: number): number {
  return startNs + availability.bucketNs / 2;
}

function renderPercentiles(
  availability: AvailabilityCheckResult,
  windows: readonly FaultWindow[],
  scale: TimeScale,
): string {
  const series = [
    ["p50", "latencyP50Ns"],
    ["p95", "latencyP95Ns"],
    ["p99", "latencyP99Ns"],
  ] as const;
  const maxMs = availability.buckets.reduce(
    (max, bucket) => Math.max(max, (bucket.latencyP99Ns ?? 0) / 1e6),
    0,
  );
  const bottomPx = chartHeightPx - 30;
  const axis = valueAxis(maxMs, 10, bottomPx, " ms");
  const parts = [faultBands(windows, scale, 10, bottomPx - 10), axis.svg];
  for (const [name, field] of series) {
    const points = availability.buckets.map((bucket) => {
      const value = bucket[field];
      return value === undefined
        ? undefined
        : { x: scale.x(bucketMiddleNs(availability, bucket.startNs)), y: axis.y(value / 1e6) };
    });
    parts.push(
      `<path class="line line-${name}" d="${linePath(points)}"><title>${name}</title></path>`,
    );
  }
  parts.push(timeAxis(scale, bottomPx));
  return [
    "<section>",
    "<h2>Latency percentiles over time</h2>",
    `<p>Per ${formatDuration(availability.bucketNs)} of invokes, ok operations only: ` +
      '<span class="key p50">p50</span> <span class="key p95">p95</span> <span class="key p99">p99</span>. ' +
      "A p99 far above the p50 is the tail your users feel.</p>",
    svg(chartHeightPx, "Latency percentiles over time", parts.join("\n")),
    "</section>",
  ].join("\n");
}

function renderAvailability(
  availability: AvailabilityCheckResult,
  windows: readonly FaultWindow[],
  scale: TimeScale,
): string {
  const bottomPx = chartHeightPx - 30;
  const maxCount = availability.buckets.reduce(
    (max, bucket) => Math.max(max, bucket.ok + bucket.fail + bucket.info),
    0,
  );
  const axis = valueAxis(maxCount, 10, bottomPx, "");
  const parts = [faultBands(windows, scale, 10, bottomPx - 10), axis.svg];
  const barWidth = Math.max(1, (availability.bucketNs / scale.endNs) * innerWidth() - 1);
  for (const bucket of availability.buckets) {
    let base = 0;
    for (const outcome of ["ok", "fail", "info"] as const) {
      const count = bucket[outcome];
      if (count === 0) continue;
      const top = axis.y(base + count);
      parts.push(
        `<rect class="bar bar-${outcome}" x="${px(scale.x(bucket.startNs))}" y="${px(top)}" width="${px(barWidth)}" height="${px(axis.y(base) - top)}">` +
          `<title>${escapeHtml(`${formatSeconds(bucket.startNs)}: ${count} ${outcome}`)}</title></rect>`,
      );
      base += count;
    }
  }
  parts.push(timeAxis(scale, bottomPx));
  const overall =
    availability.okFraction === undefined
      ? "No client operations were recorded."
      : `Overall ${(availability.okFraction * 100).toFixed(3)}% of ${availability.operationCount} operations completed ok` +
        (availability.okFractionDuringFault === undefined
          ? "."
          : `; ${(availability.okFractionDuringFault * 100).toFixed(3)}% of those that overlapped a fault.`);
  return [
    "<section>",
    "<h2>Availability over time</h2>",
    `<p>${escapeHtml(overall)} Operations per ${escapeHtml(formatDuration(availability.bucketNs))}, by outcome, counted when invoked.</p>`,
    svg(chartHeightPx, "Availability over time", parts.join("\n")),
    "</section>",
  ].join("\n");
}

function renderFaultTable(windows: readonly FaultWindow[]): string {
  const rows = windows.map(
    (window) =>
      `<tr><td>${escapeHtml(window.label)}</td><td>${formatSeconds(window.startNs)}</td><td>${formatSeconds(window.endNs)}</td>` +
      `<td>${window.endIndex === undefined ? "still in force at the end" : "healed"}</td></tr>`,
  );
  return [
    "<section>",
    "<h2>Faults</h2>",
    rows.length === 0
      ? "<p>No fault was injected in this run.</p>"
      : `<table class="faults">\n<tr><th>fault</th><th>from</th><th>to</th><th>state</th></tr>\n${rows.join("\n")}\n</table>`,
    "</section>",
  ].join("\n");
}

function renderLatencyTable(availability: AvailabilityCheckResult): string {
  const cell = (value: number | undefined): string =>
    value === undefined ? "-" : formatDuration(value);
  const rows = availability.latency.flatMap((entry) =>
    (["all", "noFault", "duringFault"] as const).map((split) => {
      const stats = entry[split];
      const name = split === "all" ? "all" : split === "noFault" ? "no fault" : "during a fault";
      return (
        `<tr><td>${escapeHtml(entry.f)}</td><td>${name}</td><td>${stats.count}</td><td>${cell(stats.p50Ns)}</td>` +
        `<td>${cell(stats.p95Ns)}</td><td>${cell(stats.p99Ns)}</td><td>${cell(stats.p999Ns)}</td><td>${cell(stats.maxNs)}</td></tr>`
      );
    }),
  );
  return [
    "<section>",
    "<h2>Latency percentiles (ok operations)</h2>",
    '<table class="latency">',
    "<tr><th>f</th><th>when</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>",
    ...rows,
    "</table>",
    "</section>",
  ].join("\n");
}

const styles = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 1040px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
pre { background: #f4f4f4; padding: 0.6em; overflow-x: auto; }
.verdict { display: inline-block; padding: 0.1em 0.6em; border-radius: 0.3em; color: #fff; font-weight: bold; }
.verdict.valid { background: #2e9d4a; } .verdict.invalid { background: #d43c3c; } .verdict.unknown { background: #777; }
.count { display: inline-block; margin-right: 0.8em; white-space: nowrap; }
.key { padding: 0 0.4em; border-radius: 0.2em; color: #fff; }
.key.ok { background: #2e9d4a; } .key.fail { background: #d43c3c; } .key.info { background: #f08c1a; }
.key.p50 { background: #3b6fd6; } .key.p95 { background: #9c4dd6; } .key.p99 { background: #d43c8c; }
.note { color: #777; font-style: italic; }
svg { display: block; max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
.op-ok, .point-ok, .bar-ok { fill: #2e9d4a; } .op-fail, .point-fail, .bar-fail { fill: #d43c3c; } .op-info, .point-info, .bar-info { fill: #f08c1a; }
.op-open { fill-opacity: 0.5; }
.fault-band { fill: #888; fill-opacity: 0.18; } .fault-label { fill: #555; }
.axis, .tick { stroke: #444; } .grid { stroke: #eee; } .tick-label, .lane-label { fill: #444; }
.line { fill: none; stroke-width: 1.5; } .line-p50 { stroke: #3b6fd6; } .line-p95 { stroke: #9c4dd6; } .line-p99 { stroke: #d43c8c; }
.linearized { stroke: #1f5fd6; stroke-width: 2; } .counterexample { stroke: #000; stroke-width: 3; } .dimmed { opacity: 0.3; }
.mark-label { fill: #000; font-weight: bold; } .op-label { fill: #111; font-size: ${labelFontPx}px; pointer-events: none; }
.scroll { overflow-x: auto; } svg.wide { max-width: none; }
.counterexample-text { border-left: 4px solid #d43c3c; padding-left: 0.6em; }
`;

/** What a run folder's results.json holds, as far as the report needs it (store-writer.ts). */
export interface ResultsDocument {
  summary?: { verdict?: Validity; replayCommand?: string };
  results?: Record<string, CheckerSummary>;
  options?: {
    name?: string;
    workload?: string;
    seed?: number;
    backend?: string;
    timeMs?: number;
    nemesis?: { faults?: string[] };
    cluster?: { nodes?: number; n?: number; r?: number; w?: number; sync?: string };
  };
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * The report of a stored run, from its history and its results.json: the one recipe both
 * report.html (written by the CLI) and the course site's report viewer (which opens the two
 * files in the browser) use, so the two show the same. Missing fields read as "unknown".
 */
export function reportInputFromResults(
  history: readonly Operation[],
  document: ResultsDocument | unknown,
): ReportInput {
  const root = objectOrEmpty(document);
  const options = objectOrEmpty(root["options"]) as NonNullable<ResultsDocument["options"]>;
  const summary = objectOrEmpty(root["summary"]) as NonNullable<ResultsDocument["summary"]>;
  const resultsObject = objectOrEmpty(root["results"]);
  const results: Record<string, CheckerSummary> = {};
  for (const [name, result] of Object.entries(resultsObject)) {
    const fields = objectOrEmpty(result);
    const valid = fields["valid"];
    results[name] = {
      ...fields,
      valid: valid === true || valid === false ? valid : "unknown",
    } as CheckerSummary;
  }
  const example = objectOrEmpty(objectOrEmpty(resultsObject["linearizable"])["counterExample"]);
  const failed = objectOrEmpty(example["failedOperation"])["index"];
  const prefix = example["longestLinearizablePrefix"];
  const counterExample =
    typeof failed === "number" && Array.isArray(prefix)
      ? {
          failingOperationIndex: failed,
          linearizablePrefixIndices: prefix.filter((index) => typeof index === "number"),
        }
      : undefined;
  const cluster = objectOrEmpty(options.cluster);
  const faults = Array.isArray(options.nemesis?.faults) ? options.nemesis.faults : [];
  const verdict = overallVerdict(results);
  const extra: Record<string, string | number> = {};
  for (const name of ["nodes", "n", "r", "w", "sync"] as const) {
    const value = cluster[name];
    if (typeof value === "number" || typeof value === "string") extra[name] = value;
  }
  if (typeof options.timeMs === "number") extra["time"] = `${options.timeMs} ms`;
  return {
    title: `${String(options.name ?? "run")}: ${verdictText(summary.verdict ?? verdict)}`,
    parameters: {
      workload: String(options.workload ?? "unknown"),
      seed: typeof options.seed === "number" ? options.seed : "unknown",
      backend: String(options.backend ?? "unknown"),
      nemesis: faults.length === 0 ? "none" : faults.join(", "),
      replayCommand: String(summary.replayCommand ?? "(not recorded)"),
      extra,
    },
    history,
    results,
    ...(counterExample === undefined ? {} : { counterExample }),
  };
}
