// The course site in a real browser (issue 11; lessons 1, 3, 4, 10 and every lab): builds the
// site with Vite, serves it on 127.0.0.1, and drives Debian's Chromium through playwright-core,
// in ONE browser launch (the machines are small), to check that
//   - every lesson page and every tool page renders with no console error, and axe-core finds
//     no serious or critical accessibility violation; a lesson reads with JavaScript off;
//   - the "play a partition live" page records, for seed 42, byte-identical histories and the
//     same message trace as Node (determinism across runtimes), and another seed differs;
//   - the ring explorer answers a typed key with the same preference list as a running
//     cluster's /ring/keys (real processes on free ports);
//   - the player runs a partition scenario to a verdict (Node's verdict), and a seek lands on
//     the same state as playing to that time;
//   - the in-page grader passes a lab's solution and fails its starter with the same checks as
//     `neverstop lab` (the CLI, run as a process);
//   - the report viewer opens a stored run's history.jsonl and results.json;
//   - the dashboard injects and heals a partition on that real cluster, and the cluster's
//     nemesis.jsonl shows it.
// Screenshots of each view go to site/test-output/ (gitignored). Without /usr/bin/chromium the
// test skips and says why (.ci/run installs it); under CI=true it fails instead
// (chaos/harness/requirements.ts). NEVERSTOP_CHROMIUM names another binary.

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runSimulatedTest } from "../chaos/harness/run-core.ts";
import { resolveRunOptions } from "../chaos/harness/run-options.ts";
import { writeRun } from "../chaos/harness/store-writer.ts";
import { recordedCluster } from "../cli/dashboard.ts";
import { startCluster, type StartedCluster } from "../cli/local-cluster.ts";
import { requirePart } from "../chaos/harness/requirements.ts";
import { runDemo, type DemoSummary } from "./src/demo-run.ts";
import { PlayerRun, scenarioOptions } from "./src/player-model.ts";
import { startDashboard, type Dashboard } from "./server/dashboard.ts";
import { chromiumArgs, chromiumPath, serveDirectory } from "./browser-support.ts";

/** How long a page may take to finish its work (a second or two here; the machine is shared). */
const pageTimeoutMs = 30_000;
/** Each test's limit: several pages, a cluster and a CLI run on two shared cores. */
const testTimeoutMs = 180_000;
const siteRoot = fileURLToPath(new URL(".", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));
const screenshotDirectory = join(siteRoot, "test-output");
const axeSource = readFileSync(join(repositoryRoot, "node_modules/axe-core/axe.min.js"), "utf8");

const skipBrowser = requirePart(
  "Chromium",
  existsSync(chromiumPath)
    ? undefined
    : `no Chromium at ${chromiumPath} (install it with .ci/browser-setup.sh)`,
);

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

describe.skipIf(skipBrowser)("the course site in a real browser", () => {
  let outDir = "";
  let server: Server | undefined;
  let origin = "";
  let browser: Browser | undefined;
  let clusterDir = "";
  let cluster: StartedCluster | undefined;
  let dashboard: Dashboard | undefined;

  beforeAll(async () => {
    mkdirSync(screenshotDirectory, { recursive: true });
    // A private build folder: two test runs at once must not overwrite each other's site.
    outDir = await mkdtemp(join(tmpdir(), "neverstop-site-"));
    await build({
      configFile: join(siteRoot, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir, emptyOutDir: true },
    });
    ({ server, origin } = await serveDirectory(outDir));
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    clusterDir = await mkdtemp(join(tmpdir(), "neverstop-site-cluster-"));
    cluster = await startCluster({
      nodes: 4,
      sync: "never",
      dataDir: clusterDir,
      detach: false,
      toxiproxy: true,
      toxiproxyPort: 0,
      log: () => {},
    });
    dashboard = await startDashboard({
      cluster: recordedCluster(clusterDir),
      siteDirectory: outDir,
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    await cluster?.stop();
    await new Promise<void>((closed) =>
      server === undefined ? closed() : server.close(() => closed()),
    );
    if (outDir !== "") await rm(outDir, { recursive: true, force: true });
    if (clusterDir !== "") await rm(clusterDir, { recursive: true, force: true });
  }, testTimeoutMs);

  /** A page that collects its errors: uncaught exceptions and console.error lines. */
  async function openPage(path: string, base = origin): Promise<{ page: Page; errors: string[] }> {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(`${base}/${path}`);
    return { page, errors };
  }

  async function axeSeriousViolations(page: Page): Promise<string[]> {
    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: { run: (context: Document, options: object) => Promise<{ violations: unknown[] }> };
        }
      ).axe;
      const result = await axe.run(document, { resultTypes: ["violations"] });
      return result.violations;
    });
    return (violations as AxeViolation[])
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map(
        (violation) =>
          `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes
            .map((node) => node.target.join(" "))
            .slice(0, 3)
            .join(", ")}`,
      );
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(screenshotDirectory, `${name}.png`), fullPage: true });

  test(
    "every lesson and tool page renders with no console error and no serious axe violation",
    async () => {
      const lessonFiles = (await import("node:fs"))
        .readdirSync(join(outDir, "lessons"))
        .filter((name) => name.endsWith(".html"))
        .sort();
      expect(lessonFiles.length).toBeGreaterThan(0);
      const pages = [
        ["index.html", "main"],
        ...lessonFiles.map((name) => [`lessons/${name}`, "article h1"]),
        ["ring.html", "#app[data-ready]"],
        ["player.html", ".player[data-ready]"],
        ["viewer.html", "#app"],
        ["lab.html", "#app[data-ready]"],
        ["partition.html", "body[data-done='true']"],
      ] as const;
      const problems: string[] = [];
      for (const [path, ready] of pages) {
        const { page, errors } = await openPage(path);
        try {
          await page.waitForSelector(ready, { timeout: pageTimeoutMs });
          // Let lazily loaded widgets come in (each lesson loads its widgets on view).
          await page.waitForLoadState("networkidle");
          await page.evaluate(async () => {
            const figures = [...document.querySelectorAll<HTMLElement>("figure.widget")];
            for (const figure of figures) figure.scrollIntoView();
            const deadline = Date.now() + 20_000;
            while (
              Date.now() < deadline &&
              figures.some(
                (figure) => figure.dataset.ready !== "true" && figure.dataset.error === undefined,
              )
            ) {
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          });
          const widgetErrors = await page.$$eval("figure.widget[data-error]", (figures) =>
            figures.map((figure) => (figure as HTMLElement).dataset.error ?? ""),
          );
          for (const error of [...errors, ...widgetErrors]) problems.push(`${path}: ${error}`);
          for (const violation of await axeSeriousViolations(page))
            problems.push(`${path}: ${violation}`);
          await shot(page, path.replace(/[/.]/g, "-"));
        } finally {
          await page.close();
        }
      }
      expect(problems).toEqual([]);
    },
    testTimeoutMs,
  );

  test(
    "a lesson reads with JavaScript off: the text, the code and the contents are in the page",
    async () => {
      const context = await browser!.newContext({ javaScriptEnabled: false });
      try {
        const page = await context.newPage();
        const lessonFiles = (await import("node:fs")).readdirSync(join(outDir, "lessons")).sort();
        await page.goto(`${origin}/lessons/${lessonFiles[0]}`);
        expect(await page.textContent("article h1")).not.toBe("");
        expect(await page.$$eval("nav.toc a", (links) => links.length)).toBeGreaterThan(0);
        expect(
          await page.$$eval("article h2[id] a.anchor", (links) => links.length),
        ).toBeGreaterThan(0);
        const fallback = await page.$$eval(".widget-fallback", (places) =>
          places.map((place) => place.textContent ?? ""),
        );
        for (const text of fallback) expect(text).toMatch(/JavaScript/);
        await page.screenshot({
          path: join(screenshotDirectory, "lesson-without-javascript.png"),
          fullPage: true,
        });
      } finally {
        await context.close();
      }
    },
    testTimeoutMs,
  );

  /** Opens the demo page for `query` with no pauses, waits for the end, returns what it printed. */
  async function playInBrowser(query: string): Promise<{
    summary: DemoSummary | undefined;
    fields: Record<string, string>;
    error: string | undefined;
    pageErrors: string[];
  }> {
    const { page, errors: pageErrors } = await openPage(`partition.html${query}`);
    try {
      await page.waitForSelector("body[data-done='true']", { timeout: pageTimeoutMs });
      const json = await page.textContent("#summary-json");
      const fields = await page.$$eval("#summary dd", (definitions) =>
        Object.fromEntries(
          definitions.map((definition) => [
            (definition as HTMLElement).dataset.field ?? "",
            definition.textContent ?? "",
          ]),
        ),
      );
      const error = await page.evaluate(() => document.body.dataset.error);
      const summary = json === null || json === "" ? undefined : (JSON.parse(json) as DemoSummary);
      return { summary, fields, error, pageErrors };
    } finally {
      await page.close();
    }
  }

  test(
    "seed 42: the partition page runs 5 nodes to a verdict, byte-identical to Node",
    async () => {
      const { summary, fields, error, pageErrors } = await playInBrowser("?seed=42&delay=0");
      expect(error).toBeUndefined();
      expect(pageErrors).toEqual([]);
      expect(summary!.partition).toMatchObject({ startMs: 10_000, stopMs: 20_000 });
      expect(fields["verdict"]).toMatch(/^(valid|INVALID|unknown)/);
      expect(fields["history-hash"]).toBe(summary!.historyHash);
      const nodeSummary = runDemo(42);
      expect(summary!.historyHash).toBe(nodeSummary.historyHash);
      expect(summary!.traceHash).toBe(nodeSummary.traceHash);
      expect(summary).toEqual(nodeSummary);
      const other = await playInBrowser("?seed=7&delay=0");
      expect(other.summary!.historyHash).not.toBe(nodeSummary.historyHash);
      const bad = await playInBrowser("?seed=forty-two");
      expect(bad.error).toBe(
        'Expected `seed` to be an integer from 0 to 2147483647, got "forty-two"',
      );
    },
    testTimeoutMs,
  );

  test(
    "the ring explorer answers typed keys with a running cluster's /ring/keys preference list",
    async () => {
      const node = cluster!.record.nodes[0]!;
      const ring = (await (await fetch(`${node.httpUrl}/ring`)).json()) as {
        partitionCount: number;
        owners: string[];
      };
      const { page, errors } = await openPage(`ring.html?q=${ring.partitionCount}&nodes=4&n=3`);
      try {
        await page.waitForSelector("#app[data-ready]");
        for (const [bucket, key] of [
          ["carts", "alice"],
          ["sessions", "bob-42"],
          ["b", "ключ"],
        ] as const) {
          await page.fill("input[name=bucket]", bucket);
          await page.fill("input[name=key]", key);
          const shown = (await page.textContent("[data-field=preference-list]"))!.split(", ");
          const placement = (await (
            await fetch(
              `${node.httpUrl}/ring/keys/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`,
            )
          ).json()) as { preferenceList: string[]; partition: number };
          expect(shown, `${bucket}/${key}`).toEqual(placement.preferenceList);
          expect(await page.textContent("[data-field=partition]")).toMatch(
            new RegExp(`^${placement.partition} of `),
          );
        }
        // And the explorer's opening state is the talk's: 32 vnodes on 4 nodes.
        await page.goto(`${origin}/ring.html`);
        await page.waitForSelector("#app[data-ready]");
        expect(await page.$$eval("path.partition", (paths) => paths.length)).toBe(32);
        await shot(page, "ring-explorer");
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    testTimeoutMs,
  );

  test(
    "the player runs a partition scenario to Node's verdict, and a seek lands where playing does",
    async () => {
      const { page, errors } = await openPage("player.html?scenario=partition&seed=42");
      try {
        await page.waitForSelector(".player[data-ready]");
        await shot(page, "player-first-frame");
        type Control = {
          runToEnd(): void;
          seek(timeMs: number): void;
          playTo(timeMs: number): void;
        };
        const stateAt = async (how: "seek" | "playTo", timeMs: number) => {
          await page.evaluate(
            ([how, timeMs]) => {
              const control = (
                document.querySelector(".player") as HTMLElement & { playerControl: Control }
              ).playerControl;
              if (how === "seek") control.seek(timeMs as number);
              else control.playTo(timeMs as number);
            },
            [how, timeMs] as const,
          );
          return JSON.parse((await page.getAttribute(".player", "data-state"))!) as {
            timeMs: number;
            cutLinks: string[];
            nodes: unknown[];
          };
        };
        const played = await stateAt("playTo", 14_300);
        await shot(page, "player-during-partition");
        const sought = await stateAt("seek", 14_300);
        expect(played.timeMs).toBe(14_300);
        expect(sought).toEqual(played);
        expect(played.cutLinks.length).toBeGreaterThan(0);
        const node = PlayerRun.at(scenarioOptions("partition", 42), 14_300).frame();
        expect(played.cutLinks).toEqual(node.cutLinks);
        await page.evaluate(() =>
          (
            document.querySelector(".player") as HTMLElement & { playerControl: Control }
          ).playerControl.runToEnd(),
        );
        const verdict = await page.getAttribute(".player", "data-verdict");
        expect(verdict).toBe(
          String(runSimulatedTest(scenarioOptions("partition", 42)).summary.verdict),
        );
        expect(await page.textContent(".player-verdict")).toMatch(
          /Set checker: (valid|INVALID|unknown)/,
        );
        expect(await page.textContent(".player-command")).toContain(
          "npx neverstop test set --backend sim --seed 42",
        );
        // An intervention: crash n3 now, and the command carries it as a schedule.
        await stateAt("seek", 5_000);
        await page.click("[data-node=n3]");
        await page.click("button[data-action=crash]");
        expect(await page.textContent(".player-command")).toContain(
          "--schedule '5s..30s crash n3'",
        );
        const crashed = JSON.parse((await page.getAttribute(".player", "data-state"))!) as {
          nodes: { id: string; up: boolean }[];
        };
        expect(crashed.nodes.find((entry) => entry.id === "n3")!.up).toBe(false);
        await shot(page, "player-after-crash");
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    testTimeoutMs,
  );

  test(
    "the in-page grader passes lab 01's solution and fails its starter with the CLI's checks",
    async () => {
      const labFolder = join(repositoryRoot, "labs", "01-crash-in-the-critical-section");
      const cliChecks = async (extra: string[]) => {
        const temporary = await mkdtemp(join(tmpdir(), "neverstop-site-lab-"));
        try {
          const result = await promisify(execFile)(
            process.execPath,
            [
              join(repositoryRoot, "bin/neverstop.js"),
              "lab",
              "01",
              "--only",
              "01a,01b,01c,01d",
              "--store",
              join(temporary, "store"),
              "--progress-dir",
              temporary,
              ...extra,
            ],
            { cwd: repositoryRoot },
          ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
          return [...result.stdout.matchAll(/^(pass|FAIL) (\d\d[a-z]) /gm)].map((match) => ({
            id: match[2],
            ok: match[1] === "pass",
          }));
        } finally {
          await rm(temporary, { recursive: true, force: true });
        }
      };
      const { page, errors } = await openPage("lab.html?lab=01");
      try {
        await page.waitForSelector("#app[data-ready]");
        type Control = { setSource(source: string): void; grade(): Promise<unknown> };
        const gradeInPage = async (source: string | undefined) => {
          await page.evaluate(async (text) => {
            const control = (
              document.querySelector("#app") as HTMLElement & { labControl: Control }
            ).labControl;
            if (text !== null) control.setSource(text);
            await control.grade();
          }, source ?? null);
          const checks = JSON.parse((await page.getAttribute("#app", "data-checks")) ?? "[]") as {
            id: string;
            ok: boolean;
            skipped: boolean;
          }[];
          return {
            verdict: await page.getAttribute("#app", "data-verdict"),
            checks: checks.filter((check) => !check.skipped).map(({ id, ok }) => ({ id, ok })),
          };
        };
        const starter = await gradeInPage(undefined);
        await shot(page, "lab-01-starter");
        expect(starter.verdict).toBe("fail");
        expect(starter.checks).toEqual(await cliChecks([]));
        const solution = await gradeInPage(
          await readFile(join(labFolder, "solution", "log-record.ts"), "utf8"),
        );
        await shot(page, "lab-01-solution");
        expect(solution.verdict).toBe("pass");
        expect(solution.checks).toEqual(await cliChecks(["--solution"]));
        expect(solution.checks.map((check) => check.id)).toEqual(["01a", "01b", "01c", "01d"]);
        // A file that does not compile is one line with file:line:col.
        await page.evaluate(async () => {
          const control = (document.querySelector("#app") as HTMLElement & { labControl: Control })
            .labControl;
          control.setSource("export function encodeRecord(: string {");
          await control.grade();
        });
        expect(await page.textContent(".lab-status")).toMatch(
          /^Could not grade: labs\/01-crash-in-the-critical-section\/starter\/log-record\.ts:1:\d+: /,
        );
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    testTimeoutMs,
  );

  test(
    "the report viewer opens a stored run's history.jsonl and results.json",
    async () => {
      const store = await mkdtemp(join(tmpdir(), "neverstop-site-store-"));
      try {
        const run = runSimulatedTest(
          resolveRunOptions({
            workload: "set",
            seed: 3,
            timeMs: 10_000,
            nemesis: { faults: ["partition"], intervalMs: 5_000 },
          }),
        );
        const folder = writeRun(run, { root: store });
        const { page, errors } = await openPage("viewer.html");
        try {
          await page.setInputFiles("#report-files", [
            join(folder, "history.jsonl"),
            join(folder, "results.json"),
          ]);
          await page.waitForSelector("#app[data-ready]", { timeout: pageTimeoutMs });
          const frame = page.frameLocator("iframe.report-frame");
          await expect(frame.locator("h2", { hasText: "Verdicts" }).count()).resolves.toBe(1);
          const faultCell = await frame.locator("table.faults td").first().textContent();
          expect(faultCell).toMatch(/^partition: /);
          expect(await frame.locator("rect.op").count()).toBe(
            run.history.filter(
              (operation) => operation.type === "invoke" && operation.process !== "nemesis",
            ).length,
          );
          await shot(page, "report-viewer");
          expect(errors).toEqual([]);
        } finally {
          await page.close();
        }
      } finally {
        await rm(store, { recursive: true, force: true });
      }
    },
    testTimeoutMs,
  );

  test(
    "the dashboard injects and heals a partition on a real cluster, and its nemesis log shows it",
    async () => {
      const { page, errors } = await openPage("dashboard.html", dashboard!.origin);
      try {
        await page
          .waitForSelector("#app[data-ready]", { timeout: pageTimeoutMs })
          .catch(async (error: unknown) => {
            await shot(page, "dashboard-not-ready");
            throw new Error(
              `${String(error)}; page says ${await page.textContent(".dashboard-status")}; errors ${errors.join(" | ")}`,
              { cause: error },
            );
          });
        await page.fill("input[name=groups]", "n1|n2,n3,n4");
        await page.click("button[data-action=partition]");
        await page.waitForFunction(
          () =>
            /link\(s\) cut/.test(document.querySelector(".dashboard-status")?.textContent ?? ""),
          null,
          { timeout: pageTimeoutMs },
        );
        await page.waitForFunction(
          () => Number((document.querySelector("#app") as HTMLElement).dataset.nemesisCount) >= 2,
          null,
          { timeout: pageTimeoutMs },
        );
        await shot(page, "dashboard-partitioned");
        await page.click("button[data-action=heal]");
        // The status says "Heal..." at the click and the CLI's own line once the heal is done
        // (and in the nemesis log): wait for the second, not the first.
        await page.waitForFunction(
          () => {
            const text = document.querySelector(".dashboard-status")?.textContent ?? "";
            return /heal/i.test(text) && !text.endsWith("...");
          },
          null,
          { timeout: pageTimeoutMs },
        );
        const log = readFileSync(join(clusterDir, "nemesis.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { f: string; type: string });
        const fs = log.map((entry) => entry.f);
        expect(fs).toContain("start-partition");
        expect(fs.lastIndexOf("stop-partition")).toBeGreaterThan(fs.indexOf("start-partition"));
        await page.waitForFunction(
          (count) =>
            Number((document.querySelector("#app") as HTMLElement).dataset.nemesisCount) >= count,
          log.length,
          { timeout: pageTimeoutMs },
        );
        expect(await page.textContent(".dashboard-nemesis")).toContain(
          "partition: split n1 | n2,n3,n4",
        );
        expect(await axeSeriousViolations(page)).toEqual([]);
        await shot(page, "dashboard-healed");
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    testTimeoutMs,
  );
});
