// The "play a partition live" page (lesson 3, network splits): the whole 5-node cluster runs
// here, in the browser, inside the deterministic simulator. The page advances the run one
// simulated second at a time, redraws which links are cut, and at the end prints what the
// clients saw, what the network did, the set checker's verdict and a hash of the history.
// Open it twice with the same ?seed= and every number matches: the run is a pure function
// of its seed, in this browser as in Node (site/browser.test.ts checks exactly that).
//
// URL parameters: ?seed=42 (an integer, default 42) and ?delay=100 (wall milliseconds to pause
// per simulated second, 0 to 2000, default 100 so the partition is visible; 0 runs flat out).

import { SimulatedRun } from "../../chaos/harness/run-core.ts";
import { drawCluster } from "./cluster-drawing.ts";
import { demoRunOptions, parseSeed, summarize, type DemoSummary } from "./demo-run.ts";

const defaultDelayMs = 100;
const delayMsMax = 2_000;
/** The page redraws after each step of this much virtual time. */
const stepMs = 1_000;

function parseDelayMs(search: string): number {
  const text = new URLSearchParams(search).get("delay");
  if (text === null || text === "") return defaultDelayMs;
  const delayMs = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(delayMs >= 0 && delayMs <= delayMsMax)) {
    throw new RangeError(
      `Expected \`delay\` to be an integer from 0 to ${delayMsMax} (ms), got ${JSON.stringify(text)}`,
    );
  }
  return delayMs;
}

function required<T extends Element>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`The page lacks ${selector}`);
  return found;
}

/** Lets the browser paint (and a learner see) the step just run. */
function pause(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}

function verdictWords(verdict: DemoSummary["verdict"]): string {
  if (verdict === "unknown") return "unknown (a checker ran out of time)";
  return verdict ? "valid" : "INVALID";
}

/** The summary as a definition list: one line per fact, each tagged for the browser test. */
function showSummary(summary: DemoSummary, wallMs: number): void {
  const { messages, partition } = summary;
  const rows: Array<[field: string, label: string, value: string]> = [
    ["operations", "operations", String(summary.operationCount)],
    ["outcomes", "ok / fail / info", `${summary.ok} / ${summary.fail} / ${summary.info}`],
    [
      "messages",
      "messages delivered / dropped / refused",
      `${messages.delivered} / ${messages.dropped} / ${messages.refused} (of ${messages.sent} sent)`,
    ],
    [
      "partition",
      "partition",
      partition === undefined
        ? "none"
        : `${partition.description} from ${seconds(partition.startMs)} to ${seconds(partition.stopMs)}`,
    ],
    ["verdict", "set checker", `${verdictWords(summary.verdict)}: ${summary.reason}`],
    ["history-hash", "history SHA-1", summary.historyHash],
    ["trace-hash", "message trace SHA-1", summary.traceHash],
    ["time", "simulated / wall time", `${seconds(summary.simulatedMs)} / ${seconds(wallMs)}`],
  ];
  const list = required<HTMLDListElement>("#summary");
  list.replaceChildren(
    ...rows.flatMap(([field, label, value]) => {
      const term = document.createElement("dt");
      term.textContent = label;
      const definition = document.createElement("dd");
      definition.dataset.field = field;
      definition.textContent = value;
      return [term, definition];
    }),
  );
  required<HTMLPreElement>("#summary-json").textContent = JSON.stringify(summary, null, 2);
}

async function play(): Promise<void> {
  const status = required<HTMLParagraphElement>("#status");
  const seed = parseSeed(window.location.search);
  const delayMs = parseDelayMs(window.location.search);
  required<HTMLElement>("#seed").textContent = String(seed);

  const options = demoRunOptions(seed);
  const run = new SimulatedRun(options);
  const drawing = drawCluster(required<SVGSVGElement>("#cluster"), run.simulation.nodeIds());
  const startedMs = performance.now();
  let running = true;
  while (running) {
    running = run.advance(stepMs);
    const fault = run.driver.activeFault;
    drawing.showCut(fault?.name === "partition" ? fault.cut : []);
    const progress = run.progress();
    status.textContent =
      `${seconds(run.simulation.now)} simulated: ${progress.invoked} operations, ` +
      `${progress.ok} ok, ${progress.fail} fail, ${progress.info} info; ` +
      (progress.fault === undefined ? "no fault" : progress.fault);
    await pause(running ? delayMs : 0);
  }
  const wallMs = performance.now() - startedMs;
  showSummary(summarize(run.result(wallMs)), wallMs);
  status.textContent = `Done: seed ${seed}, ${seconds(run.simulation.now)} simulated.`;
}

play()
  .catch((error: unknown) => {
    // Bad input (a seed that is not a number) or a bug: one line on the page, no stack trace.
    const message = error instanceof Error ? error.message : String(error);
    required<HTMLParagraphElement>("#status").textContent = `Error: ${message}`;
    document.body.dataset.error = message;
  })
  .finally(() => {
    document.body.dataset.done = "true";
  });
