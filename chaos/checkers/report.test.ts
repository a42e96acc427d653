// Tests of the HTML report (lesson 10): well-formed, self-contained, escaped, one bar per
// operation, fault bands, and the linearizability counter-example drawn on the timeline.

import { describe, expect, it } from "vitest";
import { buildHistory } from "./history-view.ts";
import type { HistoryStep } from "./history-view.ts";
import {
  boxesOverlap,
  escapeHtml,
  faultInWords,
  fitText,
  labelFontPx,
  overallVerdict,
  placeLabels,
  renderReport,
  textWidthPx,
  timelineLayout,
} from "./report.ts";
import { pairOperations } from "./history-view.ts";
import { runSimulatedTest } from "../harness/run-core.ts";
import { resolveRunOptions } from "../harness/run-options.ts";
import type { Operation } from "../harness/history.ts";
import type { ReportInput } from "./report.ts";
import { checkSet } from "./set.ts";

const steps: HistoryStep[] = [
  [0, "invoke", "add", 1],
  ["nemesis", "invoke", "start-partition", "majority"],
  [1, "invoke", "add", 2],
  ["nemesis", "info", "start-partition", "done"],
  [0, "ok", "add", 1],
  [1, "info", "add", 2],
  [2, "invoke", "add", "<script>alert(1)</script>"],
  [2, "fail", "add", "<script>alert(1)</script>"],
  ["nemesis", "invoke", "stop-partition", null],
  ["nemesis", "info", "stop-partition", null],
  [0, "invoke", "read", null],
  [0, "ok", "read", [1]],
  [3, "invoke", "add", 4],
];

// A checker result is any object with a verdict; its numeric fields become the counts shown.
const setResult = {
  valid: false,
  reason: "1 acknowledged add(s) lost",
  lostCount: 1,
  lost: [7],
} as const;

function input(overrides: Partial<ReportInput> = {}): ReportInput {
  const history = buildHistory(steps, 250_000_000);
  return {
    title: "set under a partition",
    parameters: {
      workload: "set",
      seed: 42,
      backend: "sim",
      nemesis: "partition-majority",
      replayCommand: "npx neverstop test set --seed 42 --backend sim",
      extra: { nodes: 5 },
    },
    history,
    results: {
      set: setResult,
    },
    ...overrides,
  };
}

/** Checks that every non-void element is closed in order: enough to catch a broken template. */
function assertBalanced(html: string): void {
  const voidElements = new Set(["meta", "br", "hr", "img", "input", "link"]);
  const stack: string[] = [];
  const body = html.replace(/<style>[\s\S]*?<\/style>/, "");
  for (const match of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    const tag = name!.toLowerCase();
    if (voidElements.has(tag) || selfClosing === "/") continue;
    if (closing === "") stack.push(tag);
    else expect(stack.pop(), `closing </${tag}>`).toBe(tag);
  }
  expect(stack).toEqual([]);
}

describe("renderReport", () => {
  it("renders a well-formed, self-contained page with no script and no network", () => {
    const html = renderReport(input());
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain("<title>set under a partition</title>");
    expect(html.trimEnd().endsWith("</html>")).toBe(true);
    assertBalanced(html);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it("shows the parameters, the replay command and each verdict with its counts", () => {
    const html = renderReport(input());
    expect(html).toContain("npx neverstop test set --seed 42 --backend sim");
    expect(html).toContain("partition-majority");
    expect(html).toMatch(
      /<h1>set under a partition <span class="verdict invalid">INVALID<\/span><\/h1>/,
    );
    expect(html).toMatch(/<th scope="row">set<\/th><td><span class="verdict invalid">INVALID/);
    expect(html).toContain("lostCount: <b>1</b>");
    const valid = renderReport(input({ results: { set: { valid: true } } }));
    expect(valid).toContain('<span class="verdict valid">valid</span>');
  });

  it("escapes a malicious operation value everywhere", () => {
    const html = renderReport(input({ title: "<b>title</b>" }));
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("&lt;b&gt;title&lt;/b&gt;");
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });

  it("draws one timeline bar per client operation, coloured by outcome", () => {
    const html = renderReport(input());
    const bars = [...html.matchAll(/<rect class="op op-(ok|fail|info)[^"]*" data-index="(\d+)"/g)];
    expect(bars.map((bar) => [bar[1], Number(bar[2])])).toEqual([
      ["ok", 0],
      ["info", 2],
      ["fail", 6],
      ["ok", 10],
      ["info", 12],
    ]);
    expect(html).toMatch(/class="op op-info op-open" data-index="12"/);
    // Processes share a lane once the one before has finished: 0 then 3, and 1 then 2.
    expect(html.match(/class="lane-label"/g)).toHaveLength(2);
    expect(html).toContain(">p0, p3<title>processes 0, 3</title></text>");
    expect(html).toContain(">p1, p2<title>processes 1, 2</title></text>");
  });

  it("draws the fault window as a band with its name", () => {
    const html = renderReport(input());
    expect(html).toMatch(/<rect class="fault-band" x="164.2" y="0" width="593.3"/);
    expect(html).toContain('<text class="fault-label" x="167.2" y="11">partition majority</text>');
    expect(html).toContain(
      "<td>partition majority</td><td>0.250 s</td><td>2.250 s</td><td>healed</td>",
    );
  });

  it("draws the latency scatter, the percentile lines and the availability bars", () => {
    const html = renderReport(input());
    // Four operations completed; the open one has no latency.
    expect(html.match(/<circle class="point /g)).toHaveLength(4);
    expect(html).toMatch(/<path class="line line-p99" d="M/);
    expect(html).toMatch(/<rect class="bar bar-ok"/);
    expect(html).toContain("Overall 40.000% of 5 operations completed ok");
  });

  it("draws the linearizability counter-example on the timeline", () => {
    const html = renderReport(
      input({ counterExample: { failingOperationIndex: 11, linearizablePrefixIndices: [0, 5] } }),
    );
    expect(html).toMatch(/class="op op-ok counterexample" data-index="10"/);
    expect(html).toMatch(/class="op op-ok linearized" data-index="0"/);
    expect(html).toMatch(/class="op op-info linearized" data-index="2"/);
    expect(html).toMatch(/class="op op-fail dimmed" data-index="6"/);
    expect(html).toContain("✗ cannot be linearized");
    expect(html).toContain("Not linearizable.");
    const plain = renderReport(input());
    expect(plain).not.toMatch(/class="op [^"]*(counterexample|linearized|dimmed)/);
    expect(plain).not.toContain("Not linearizable.");
  });

  it("works with real checker results and no operations at all", () => {
    const history = buildHistory(
      steps.filter((step) => step[2] !== "add" || typeof step[3] === "number"),
    );
    const html = renderReport({ ...input(), history, results: { set: checkSet(history) } });
    assertBalanced(html);
    const empty = renderReport({ ...input(), history: [], results: {} });
    assertBalanced(empty);
    expect(empty).toContain("No checker results were given.");
    expect(empty).toContain("No fault was injected in this run.");
  });

  it("combines verdicts: invalid beats unknown beats valid", () => {
    expect(overallVerdict({ a: { valid: true }, b: { valid: "unknown" } })).toBe("unknown");
    expect(overallVerdict({ a: { valid: false }, b: { valid: "unknown" } })).toBe(false);
    expect(overallVerdict({ a: { valid: true } })).toBe(true);
    expect(overallVerdict({})).toBe("unknown");
  });
});

/** A busy history: `clientCount` clients, `operationCount` operations, some timing out. */
function denseHistory(operationCount: number, clientCount: number): Operation[] {
  const events: Omit<Operation, "index">[] = [];
  const processOf = Array.from({ length: clientCount }, (_, slot) => slot);
  const cursorNs = Array.from({ length: clientCount }, (_, slot) => slot * 100_000);
  for (let count = 0; count < operationCount; count += 1) {
    const slot = count % clientCount;
    const process = processOf[slot]!;
    // Latencies from 0.2 ms to 40 ms, and one in 20 slow (a timeout), so some bars are wide
    // enough for a name and most are not.
    const latencyNs = count % 20 === 0 ? 500_000_000 : 200_000 + ((count * 7919) % 200) * 200_000;
    const timeNs = cursorNs[slot]!;
    events.push({ time: timeNs, process, type: "invoke", f: "add", value: count });
    const type = count % 37 === 0 ? "info" : count % 11 === 0 ? "fail" : "ok";
    events.push({ time: timeNs + latencyNs, process, type, f: "add", value: count });
    if (type === "info") processOf[slot] = process + clientCount;
    cursorNs[slot] = timeNs + latencyNs + 1_000_000;
  }
  events.sort((a, b) => a.time - b.time);
  return events.map((event, index) => ({ index, ...event }));
}

/** Every pair of boxes that overlap, found by sorting on x (fast enough for thousands). */
function overlappingPairs(
  boxes: readonly { x: number; y: number; width: number; height: number }[],
): number {
  const sorted = [...boxes].sort((a, b) => a.x - b.x);
  let count = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    for (
      let j = i + 1;
      j < sorted.length && sorted[j]!.x < sorted[i]!.x + sorted[i]!.width;
      j += 1
    ) {
      if (boxesOverlap(sorted[i]!, sorted[j]!)) count += 1;
    }
  }
  return count;
}

describe("timeline labels", () => {
  it("fitText cuts a long fault name to its band, and drops it when too little would be left", () => {
    expect(fitText("partition: isolate n5 (messages dropped)", 1000, 10)).toBe(
      "partition: isolate n5 (messages dropped)",
    );
    const cut = fitText("partition: isolate n5 (messages dropped)", 120, 10);
    expect(cut).toBe("partition: isolate…");
    expect(textWidthPx(cut, 10)).toBeLessThanOrEqual(120);
    expect(fitText("partition: isolate n5", 30, 10)).toBe("");
  });

  it("placeLabels keeps the first of two overlapping labels and drops one that does not fit", () => {
    const box = { y: 0, width: 30, height: 10, roomPx: 100, priority: 0 };
    const kept = placeLabels([
      { id: 1, x: 0, ...box },
      { id: 2, x: 20, ...box },
      { id: 3, x: 40, ...box },
      { id: 4, x: 200, ...box, roomPx: 29 },
      { id: 5, x: 25, ...box, y: 10 },
    ]);
    expect(kept.map((label) => label.id).sort()).toEqual([1, 3, 5]);
    // A higher priority wins the place even when it comes later from the left.
    const marked = placeLabels([
      { id: 1, x: 0, ...box },
      { id: 2, x: 20, ...box, priority: 2 },
    ]);
    expect(marked.map((label) => label.id)).toEqual([2]);
  });

  it("at 3,000 operations: a few lanes, a wider scrolling drawing, and no two labels overlap", () => {
    const history = denseHistory(3_000, 6);
    const pairs = pairOperations(history);
    const layout = timelineLayout(pairs, [], undefined, history.at(-1)!.time);
    // Six client slots; timed-out clients come back as new processes in their old slot's lane.
    expect(new Set(pairs.map((pair) => pair.process)).size).toBeGreaterThan(50);
    expect(layout.lanes.length).toBeLessThanOrEqual(12);
    expect(layout.bars).toHaveLength(3_000);
    expect(layout.widthPx).toBeGreaterThan(2_000);
    expect(layout.labels.length).toBeGreaterThan(50);
    expect(overlappingPairs(layout.labels)).toBe(0);
    for (const label of layout.labels) {
      expect(textWidthPx(label.text, labelFontPx)).toBeLessThanOrEqual(label.roomPx);
    }
    // The rendered page draws exactly those labels, at those places.
    const html = renderReport({ ...input(), history, results: {} });
    const drawn = [
      ...html.matchAll(/<text class="op-label" x="([\d.]+)" y="([\d.]+)">([^<]*)<\/text>/g),
    ];
    expect(drawn).toHaveLength(layout.labels.length);
    const boxes = drawn.map(([, x, y, text]) => ({
      x: Number(x),
      y: Number(y) - labelFontPx,
      width: textWidthPx(text!, labelFontPx),
      height: labelFontPx,
    }));
    expect(overlappingPairs(boxes)).toBe(0);
  });

  it("without packing and room checks the same history would overlap (the test can fail)", () => {
    const history = denseHistory(3_000, 6);
    const pairs = pairOperations(history);
    const layout = timelineLayout(pairs, [], undefined, history.at(-1)!.time);
    const everyBar = layout.bars.map((bar) => ({
      x: bar.x + 2,
      y: bar.y + 2,
      width: textWidthPx("add 1234", labelFontPx),
      height: 10,
    }));
    expect(overlappingPairs(everyBar)).toBeGreaterThan(100);
  });
});

describe("faults in words", () => {
  it("describes each kind of fault the schedule makes", () => {
    expect(
      faultInWords("partition", { description: "isolate n3", how: "drop", cut: ["n1->n3"] }),
    ).toBe("partition: isolate n3 (messages dropped)");
    expect(faultInWords("partition", { description: "halves n1,n2 | n3,n4", how: "refuse" })).toBe(
      "partition: halves n1,n2 | n3,n4 (connections refused)",
    );
    expect(faultInWords("crash", { node: "n2" })).toBe("crash n2 (kill -9)");
    expect(faultInWords("pause", { node: "n4" })).toBe("pause n4");
    expect(faultInWords("skew", { node: "n5", offsetMs: -12_345 })).toBe(
      "skew n5's clock -12.345 s",
    );
    expect(faultInWords("partition", "majority")).toBe("partition majority");
    expect(faultInWords("flaky", { links: ["n1->n2", "n2->n1"], lossRate: 0.3 })).toBe(
      "flaky n1->n2, n2->n1 (30% of messages lost)",
    );
    expect(faultInWords("join", { node: "n6", via: "n1" })).toBe("join n6 via n1");
  });

  it("a simulated run's report names its partitions in the schedule's words, not cut links", () => {
    const result = runSimulatedTest(
      resolveRunOptions({
        workload: "set",
        seed: 3,
        timeMs: 20_000,
        cluster: { nodes: 5 },
        client: { concurrency: 3, ratePerSecond: 5 },
        nemesis: { faults: ["partition"], intervalMs: 10_000, durationMs: 5_000 },
      }),
    );
    const html = renderReport({ ...input(), history: result.history, results: {} });
    expect(result.schedule.length).toBe(2);
    for (const { fault } of result.schedule) {
      if (fault.name !== "partition") throw new Error("expected partitions only");
      const words = `partition: ${fault.description} (${fault.how === "drop" ? "messages dropped" : "connections refused"})`;
      expect(html).toContain(`<td>${escapeHtml(words)}</td>`);
      expect(html).toContain(`<title>${escapeHtml(words)}: `);
    }
    expect(html).not.toContain("cut&quot;");
    expect(html).not.toMatch(/n\d-&gt;n\d/);
  });
});
