// Tests of the counter-example drawing (lesson 6, sharing data): every operation is drawn, the
// failing one is marked, and the names written inside bars never overlap and never spill out
// of their bar (the hover title keeps every name).

import { describe, expect, it } from "vitest";
import { buildHistory } from "./history-view.ts";
import type { HistoryStep } from "./history-view.ts";
import { checkLinearizable } from "./linearizable.ts";
import { casRegisterModel } from "./models.ts";
import { renderCounterExample } from "./render-history.ts";
import { boxesOverlap, textWidthPx } from "./report.ts";

/** Many short sequential writes, a few long concurrent ones, then a read of a stale value. */
function staleReadHistory(): HistoryStep[] {
  const steps: HistoryStep[] = [];
  steps.push([9, "invoke", "write", 1000]);
  for (let value = 1; value <= 120; value += 1) {
    steps.push([value % 3, "invoke", "write", value]);
    steps.push([value % 3, "ok", "write", value]);
  }
  steps.push([9, "ok", "write", 1000]);
  steps.push([4, "invoke", "read", null]);
  steps.push([4, "ok", "read", 7]);
  return steps;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function boxesOf(html: string, pattern: RegExp): (Box & { text: string })[] {
  return [...html.matchAll(pattern)].map((match) => ({
    x: Number(match[1]),
    y: Number(match[2]),
    width: Number(match[3] ?? 0),
    height: Number(match[4] ?? 0),
    text: match[5] ?? "",
  }));
}

describe("renderCounterExample", () => {
  it("draws every operation, marks the failing read, and writes names only where they fit", () => {
    const history = buildHistory(staleReadHistory());
    const result = checkLinearizable(casRegisterModel, history);
    expect(result.valid).toBe(false);
    const html = renderCounterExample(history, result);
    const bars = boxesOf(
      html,
      /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" rx="3"\/>/g,
    );
    expect(bars).toHaveLength(122);
    expect(html).toContain('<g class="op failed">');
    const labels = boxesOf(
      html,
      /<text class="op-label" x="([\d.]+)" y="([\d.]+)"()()>([^<]*)<\/text>/g,
    ).map((label) => ({
      ...label,
      y: label.y - 10,
      width: textWidthPx(label.text, 10),
      height: 10,
    }));
    // Short writes are 14 px wide: too narrow for "write", so only the long bars are named.
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.length).toBeLessThan(bars.length / 4);
    for (const [position, label] of labels.entries()) {
      const inside = bars.some(
        (bar) =>
          label.x >= bar.x &&
          label.x + label.width <= bar.x + bar.width &&
          label.y >= bar.y - 1 &&
          label.y + label.height <= bar.y + bar.height + 1,
      );
      expect(inside, `label ${label.text} at ${label.x} fits its bar`).toBe(true);
      for (const other of labels.slice(position + 1))
        expect(boxesOverlap(label, other)).toBe(false);
    }
    // Every operation keeps its name on hover.
    expect(html.match(/<title>#\d+ process \d+: write/g)?.length).toBe(121);
  });
});
