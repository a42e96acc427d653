// Drawing a linearizability counter-example (lesson 6, sharing data: seeing why no single
// copy could have given these answers is what makes the verdict believable).
//
// The drawing is one self-contained HTML page with an inline SVG, in the style of Porcupine's
// visualisation: one lane per process, each operation a bar from its invoke to its
// completion (to the right edge when the outcome is unknown), the operations of the longest
// linearizable prefix outlined and numbered in their linearization order, and the operation
// that could not be linearized filled red. Hovering a bar shows what the model says of it.
// The x axis is the order of events in the history (times in Jepsen logs are often absent).
//
// No Node built-ins: this returns a string, the caller writes the file.

import { pairOperations } from "../harness/history.ts";
import type { Operation, OperationPair } from "../harness/history.ts";
import type { LinearizableResult } from "./linearizable.ts";
import { placeLabels, textWidthPx } from "./report.ts";
import type { LabelCandidate } from "./report.ts";

/** Operations drawn at most; a larger partition shows a window around the failing one. */
export const drawnOperationCountMax = 600;

export interface RenderOptions {
  title?: string;
}

const laneHeightPx = 28;
const barHeightPx = 18;
const marginLeftPx = 90;
const marginTopPx = 40;
const stepWidthPx = 14;
const labelFontPx = 10;

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

interface DrawnOperation {
  pair: OperationPair;
  start: number;
  end: number;
  pending: boolean;
}

/** Picks the operations of the failing partition, at most `drawnOperationCountMax` of them. */
function chooseOperations(
  history: readonly Operation[],
  result: LinearizableResult,
): DrawnOperation[] {
  const key = result.counterExample?.key;
  const failedIndex = result.counterExample?.failedOperation.index;
  const pairs = pairOperations(history).filter(
    (pair) => key === undefined || pair.invoke.key === key,
  );
  let chosen = pairs;
  if (pairs.length > drawnOperationCountMax) {
    const center = Math.max(
      0,
      pairs.findIndex((pair) => pair.invoke.index === failedIndex),
    );
    const first = Math.max(
      0,
      Math.min(center - drawnOperationCountMax / 2, pairs.length - drawnOperationCountMax),
    );
    chosen = pairs.slice(first, first + drawnOperationCountMax);
  }
  return chosen.map((pair) => {
    const pending = pair.completion === undefined || pair.completion.type === "info";
    return {
      pair,
      start: pair.invokePosition,
      end: pending ? Infinity : pair.completionPosition,
      pending,
    };
  });
}

/** Renders the counter-example of an invalid result (or the history alone) as an HTML page. */
export function renderCounterExample(
  history: readonly Operation[],
  result: LinearizableResult,
  options: RenderOptions = {},
): string {
  const drawn = chooseOperations(history, result);
  // Compress the x axis: only positions where something starts or ends get a column.
  const positions = [
    ...new Set(
      drawn.flatMap((operation) => [operation.start, operation.end]).filter(Number.isFinite),
    ),
  ].sort((a, b) => a - b);
  const column = new Map(positions.map((position, index) => [position, index]));
  const lastColumn = positions.length;
  const processes = [
    ...new Set(drawn.map((operation) => operation.pair.invoke.process as number)),
  ].sort((a, b) => a - b);
  const lane = new Map(processes.map((process, index) => [process, index]));
  const width = marginLeftPx + (lastColumn + 2) * stepWidthPx;
  const height = marginTopPx + processes.length * laneHeightPx + 20;

  const counterExample = result.counterExample;
  const prefixOrder = new Map(
    (counterExample?.longestLinearizablePrefix ?? []).map((index, order) => [index, order + 1]),
  );
  const descriptions = new Map<number, string>();
  for (const described of counterExample?.prefixOperations ?? [])
    descriptions.set(described.index, described.description);
  if (counterExample !== undefined)
    descriptions.set(
      counterExample.failedOperation.index,
      counterExample.failedOperation.description,
    );

  const parts: string[] = [];
  const labels: (LabelCandidate & { text: string })[] = [];
  for (const [process, index] of lane) {
    const y = marginTopPx + index * laneHeightPx;
    parts.push(`<text x="8" y="${y + barHeightPx - 4}" class="lane">process ${process}</text>`);
    parts.push(
      `<line x1="${marginLeftPx}" x2="${width}" y1="${y + laneHeightPx - 4}" y2="${y + laneHeightPx - 4}" class="rule"/>`,
    );
  }
  for (const operation of drawn) {
    const { invoke, completion } = operation.pair;
    const x = marginLeftPx + column.get(operation.start)! * stepWidthPx;
    const endColumn = operation.pending ? lastColumn + 1 : column.get(operation.end)!;
    const barWidth = Math.max(stepWidthPx / 2, marginLeftPx + endColumn * stepWidthPx - x);
    const y = marginTopPx + lane.get(invoke.process as number)! * laneHeightPx;
    const failed = counterExample?.failedOperation.index === invoke.index;
    const order = prefixOrder.get(invoke.index);
    const classes = [
      "op",
      operation.pending ? "pending" : "",
      failed ? "failed" : "",
      order !== undefined ? "prefix" : "",
      completion?.type === "fail" ? "did-not-happen" : "",
    ]
      .filter((name) => name !== "")
      .join(" ");
    const outcome =
      completion === undefined
        ? "no completion"
        : `${completion.type} ${JSON.stringify(completion.value)}`;
    const label =
      descriptions.get(invoke.index) ??
      `${invoke.f}(${JSON.stringify(invoke.value)}) -> ${outcome}`;
    const title = `#${invoke.index} process ${invoke.process}: ${label}${order !== undefined ? ` (linearized ${order})` : ""}${failed ? " — cannot be linearized" : ""}`;
    parts.push(
      `<g class="${classes}"><title>${escapeXml(title)}</title>` +
        `<rect x="${x}" y="${y}" width="${barWidth}" height="${barHeightPx}" rx="3"/></g>`,
    );
    // The bar's name is written inside it only where it fits and meets no other name; the
    // hover title always has it.
    const text = order !== undefined ? `${order}. ${invoke.f}` : invoke.f;
    labels.push({
      id: labels.length,
      x: x + 3,
      y: y + 2,
      width: textWidthPx(text, labelFontPx),
      height: barHeightPx - 4,
      roomPx: barWidth - 6,
      priority: failed ? 2 : order !== undefined ? 1 : 0,
      text,
    });
  }
  for (const label of placeLabels(labels) as typeof labels) {
    parts.push(
      `<text class="op-label" x="${label.x}" y="${label.y + barHeightPx - 7}">${escapeXml(label.text)}</text>`,
    );
  }
  const title = options.title ?? "Linearizability counter-example";
  const summary =
    counterExample === undefined
      ? `Verdict: ${String(result.valid)}.`
      : `Not linearizable${counterExample.key === undefined ? "" : ` (key ${counterExample.key})`}: after a prefix of ${counterExample.longestLinearizablePrefix.length} operations (state ${counterExample.stateAfterPrefix}), ` +
        `operation #${counterExample.failedOperation.index} by process ${counterExample.failedOperation.process}, ${counterExample.failedOperation.description}, cannot be linearized.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
svg { border: 1px solid #ddd; background: #fff; }
.lane { font-size: 12px; fill: #555; }
.rule { stroke: #eee; }
.op rect { fill: #dbe7f5; stroke: #7a9cc6; }
.op-label { font-size: 10px; fill: #222; pointer-events: none; }
.op.pending rect { fill: #f3f3f3; stroke-dasharray: 4 3; }
.op.did-not-happen rect { fill: #fff; stroke: #bbb; }
.op.prefix rect { stroke: #1f5fbf; stroke-width: 2.5; }
.op.failed rect { fill: #e5484d; stroke: #8c1d20; stroke-width: 2.5; }

.legend span { display: inline-block; margin-right: 16px; }
</style></head>
<body>
<h1>${escapeXml(title)}</h1>
<p>${escapeXml(summary)}</p>
<p class="legend"><span>■ blue outline, numbered: the longest linearizable prefix, in order</span><span style="color:#e5484d">■ red: cannot be linearized</span><span>dashed: outcome unknown (info), open to the end</span></p>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
${parts.join("\n")}
</svg>
</body></html>
`;
}
