// Tests of the HTML report (lesson 10): well-formed, self-contained, escaped, one bar per
// operation, fault bands, and the linearizability counter-example drawn on the timeline.

import { describe, expect, it } from "vitest";
import { buildHistory } from "./history-view.ts";
import type { HistoryStep } from "./history-view.ts";
import { escapeHtml, overallVerdict, renderReport } from "./report.ts";
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
    expect(html.match(/class="lane-label"/g)).toHaveLength(4);
  });

  it("draws the fault window as a band with its name", () => {
    const html = renderReport(input());
    expect(html).toMatch(/<rect class="fault-band" x="164.2" y="0" width="593.3"/);
    expect(html).toContain(
      '<text class="fault-label" x="167.2" y="11">partition &quot;majority&quot;</text>',
    );
    expect(html).toContain(
      "<td>partition &quot;majority&quot;</td><td>0.250 s</td><td>2.250 s</td><td>healed</td>",
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
