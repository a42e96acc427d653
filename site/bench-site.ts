// `npm run bench:site` (issue 11's budgets): builds the course site, serves it on 127.0.0.1 and
// measures, in one Chromium launch, and prints one JSON object:
//   lessonJsGzipBytes     JavaScript a lesson page loads before any widget (script + preloads),
//                         gzipped; the budget is 200 KB (player and editor load lazily)
//   playerFirstFrameMs    from navigation start to the player's first drawn frame (budget 1 s)
//   sixtySecondsFiveNodesPageMs   a 60 s simulated 5-node scenario run to its verdict in the
//                         page (budget 2 s), beside the same run in Node
//   labGradePageMs / labGradeCliMs   grading lab 01's solution in the page (a Web Worker) and
//                         with `neverstop lab 01` as a process, on the same checks, and the ratio
// Ratios come from one run on one machine; absolute times depend on the machine's load.

import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { build } from "vite";
import { runSimulatedTest } from "../chaos/harness/run-core.ts";
import { scenarioOptions } from "./src/player-model.ts";
import { chromiumArgs, chromiumPath, serveDirectory } from "./browser-support.ts";

const siteRoot = fileURLToPath(new URL(".", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));
const budgets = {
  lessonJsGzipBytes: 200 * 1024,
  playerFirstFrameMs: 1_000,
  sixtySecondsFiveNodesPageMs: 2_000,
};

/** The JavaScript a page loads up front: its module scripts and their modulepreloads. */
function upfrontScripts(html: string): string[] {
  const sources = [...html.matchAll(/<script type="module"[^>]*src="([^"]+)"/g)].map(
    (match) => match[1]!,
  );
  const preloads = [...html.matchAll(/<link rel="modulepreload"[^>]*href="([^"]+)"/g)].map(
    (match) => match[1]!,
  );
  return [...new Set([...sources, ...preloads])];
}

async function main(): Promise<void> {
  const outDir = await mkdtemp(join(tmpdir(), "neverstop-bench-site-"));
  const buildStartedMs = performance.now();
  await build({
    configFile: join(siteRoot, "vite.config.ts"),
    logLevel: "silent",
    build: { outDir, emptyOutDir: true },
  });
  const buildMs = performance.now() - buildStartedMs;
  const lessons = readdirSync(join(outDir, "lessons"))
    .filter((name) => name.endsWith(".html"))
    .sort();
  let lessonJsGzipBytes = 0;
  for (const lesson of lessons) {
    const html = readFileSync(join(outDir, "lessons", lesson), "utf8");
    const bytes = upfrontScripts(html).reduce(
      (sum, source) =>
        sum + gzipSync(readFileSync(resolve(join(outDir, "lessons"), source))).length,
      0,
    );
    lessonJsGzipBytes = Math.max(lessonJsGzipBytes, bytes);
  }
  const result: Record<string, unknown> = {
    lessons: lessons.length,
    lessonJsGzipBytes,
    lessonJsBudgetBytes: budgets.lessonJsGzipBytes,
    buildMs: Math.round(buildMs),
  };
  if (!existsSync(chromiumPath)) {
    result["browser"] = `skipped: no Chromium at ${chromiumPath}`;
    console.log(JSON.stringify(result));
    await rm(outDir, { recursive: true, force: true });
    return;
  }
  const { server, origin } = await serveDirectory(outDir);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: chromiumArgs,
  });
  try {
    const page = await browser.newPage();
    // The first frame, on a cold page.
    await page.goto(`${origin}/player.html?scenario=partition&seed=42`);
    await page.waitForSelector(".player[data-ready]");
    result["playerFirstFrameMs"] = Math.round(
      Number(await page.getAttribute(".player", "data-first-frame-ms")),
    );
    // 60 s of a simulated 5-node cluster, to the verdict, in the page.
    await page.goto(`${origin}/player.html?scenario=long&seed=42`);
    await page.waitForSelector(".player[data-ready]");
    const pageMs = await page.evaluate(() => {
      const control = (
        document.querySelector(".player") as HTMLElement & { playerControl: { runToEnd(): void } }
      ).playerControl;
      const startedMs = performance.now();
      control.runToEnd();
      return performance.now() - startedMs;
    });
    const nodeStartedMs = performance.now();
    const nodeRun = runSimulatedTest(scenarioOptions("long", 42));
    const nodeMs = performance.now() - nodeStartedMs;
    result["sixtySecondsFiveNodesPageMs"] = Math.round(pageMs);
    result["sixtySecondsFiveNodesNodeMs"] = Math.round(nodeMs);
    result["sixtySecondsFiveNodesOperations"] = nodeRun.summary.operationCount;
    result["pageOverNodeRatio"] = Number((pageMs / nodeMs).toFixed(2));
    // Grading lab 01's solution, in the page and with the CLI, on the checks both run.
    await page.goto(`${origin}/lab.html?lab=01`);
    await page.waitForSelector("#app[data-ready]");
    const solution = await readFile(
      join(repositoryRoot, "labs/01-crash-in-the-critical-section/solution/log-record.ts"),
      "utf8",
    );
    const gradeMs = await page.evaluate(async (source) => {
      const control = (
        document.querySelector("#app") as HTMLElement & {
          labControl: { setSource(text: string): void; grade(): Promise<unknown> };
        }
      ).labControl;
      control.setSource(source);
      const startedMs = performance.now();
      await control.grade();
      return performance.now() - startedMs;
    }, solution);
    const temporary = await mkdtemp(join(tmpdir(), "neverstop-bench-lab-"));
    const cliStartedMs = performance.now();
    await promisify(execFile)(
      process.execPath,
      [
        join(repositoryRoot, "bin/neverstop.js"),
        "lab",
        "01",
        "--solution",
        "--only",
        "01a,01b,01c,01d",
        "--store",
        join(temporary, "store"),
        "--progress-dir",
        temporary,
      ],
      { cwd: repositoryRoot },
    );
    const cliMs = performance.now() - cliStartedMs;
    await rm(temporary, { recursive: true, force: true });
    result["labGradePageMs"] = Math.round(gradeMs);
    result["labGradeCliMs"] = Math.round(cliMs);
    result["labPageOverCliRatio"] = Number((gradeMs / cliMs).toFixed(2));
    result["withinBudget"] = {
      lessonJs: lessonJsGzipBytes < budgets.lessonJsGzipBytes,
      playerFirstFrame: (result["playerFirstFrameMs"] as number) < budgets.playerFirstFrameMs,
      sixtySecondsInPage: pageMs < budgets.sixtySecondsFiveNodesPageMs,
    };
  } finally {
    await browser.close();
    server.close();
    await rm(outDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result));
}

await main();
