// The browser test (issue 3, "runs in the browser"; lesson 1, a seed is how you see the same
// concurrency twice): builds the site with Vite, serves it on 127.0.0.1, opens the "play a
// partition live" page in a real Chromium, and checks that
//   - the page ran the 5-node simulation to the end, partition included, with a set checker
//     verdict and no page error: cluster/core, the simulator, the harness and the checkers all
//     load and run in a browser;
//   - the history the browser recorded for seed 42 hashes to exactly what Node records for seed
//     42, and so does the message trace with its times in whole nanoseconds (raw trace times may
//     differ in the last bit: see traceText in src/demo-run.ts): the determinism property holds
//     across runtimes, not only across runs;
//   - a different seed gives a different history, so the equal hashes are not a constant.
// Without /usr/bin/chromium (install it with .ci/browser-setup.sh) the test skips and says why.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runDemo, type DemoSummary } from "./src/demo-run.ts";

const chromiumPath = "/usr/bin/chromium";
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];
/** How long the page may take to finish one run (it takes about a second here). */
const pageDoneTimeoutMs = 30_000;
const siteRoot = fileURLToPath(new URL(".", import.meta.url));

const hasChromium = existsSync(chromiumPath);
if (!hasChromium) {
  console.warn(
    `site/browser.test.ts: skipped, no Chromium at ${chromiumPath} (install it with .ci/browser-setup.sh)`,
  );
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** A static file server for `directory` on 127.0.0.1 and a free port; GET only, no escapes. */
async function serve(directory: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    const file = resolve(directory, `.${pathname === "/" ? "/index.html" : pathname}`);
    if (request.method !== "GET" || !file.startsWith(directory + sep)) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        const type = contentTypes[extname(file)] ?? "application/octet-stream";
        response.writeHead(200, { "content-type": type }).end(body);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

describe.skipIf(!hasChromium)("the simulator in a real browser", () => {
  let outDir = "";
  let server: Server | undefined;
  let origin = "";
  let browser: Browser | undefined;

  beforeAll(async () => {
    // A private build folder: two test runs at once must not overwrite each other's site.
    outDir = await mkdtemp(join(tmpdir(), "neverstop-site-"));
    await build({
      configFile: join(siteRoot, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir, emptyOutDir: true },
    });
    ({ server, origin } = await serve(outDir));
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((closed) =>
      server === undefined ? closed() : server.close(() => closed()),
    );
    if (outDir !== "") await rm(outDir, { recursive: true, force: true });
  });

  /** Opens the page for `seed` with no pauses, waits for the end, returns what it printed. */
  async function playInBrowser(query: string): Promise<{
    summary: DemoSummary | undefined;
    fields: Record<string, string>;
    error: string | undefined;
    pageErrors: string[];
  }> {
    const page = await browser!.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    try {
      await page.goto(`${origin}/partition.html${query}`);
      await page.waitForSelector("body[data-done='true']", { timeout: pageDoneTimeoutMs });
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

  test("seed 42: the page runs 5 nodes through a partition and prints the checker's verdict", async () => {
    const { summary, fields, error, pageErrors } = await playInBrowser("?seed=42&delay=0");
    expect(error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(summary).toBeDefined();
    expect(summary!.seed).toBe(42);
    expect(summary!.operationCount).toBeGreaterThan(0);
    expect(summary!.ok + summary!.fail + summary!.info).toBe(summary!.operationCount);
    expect(summary!.messages.delivered).toBeGreaterThan(0);
    expect(summary!.partition).toMatchObject({ startMs: 10_000, stopMs: 20_000 });
    expect(summary!.partition!.cut.length).toBeGreaterThan(0);
    expect([true, false, "unknown"]).toContain(summary!.checkers["set"]);
    // The printed summary says the same as the JSON.
    expect(fields["verdict"]).toMatch(/^(valid|INVALID|unknown)/);
    expect(fields["history-hash"]).toBe(summary!.historyHash);
    expect(fields["operations"]).toBe(String(summary!.operationCount));
  });

  test("seed 42: Chromium and Node record byte-identical histories and the same message trace", async () => {
    const { summary: browserSummary } = await playInBrowser("?seed=42&delay=0");
    const nodeSummary = runDemo(42);
    expect(browserSummary).toBeDefined();
    expect(browserSummary!.historyHash).toMatch(/^[0-9a-f]{40}$/);
    expect(browserSummary!.historyHash).toBe(nodeSummary.historyHash);
    expect(browserSummary!.traceHash).toBe(nodeSummary.traceHash);
    // Everything else the page printed matches too (the page ran 1 s slices, Node 10 s ones).
    expect(browserSummary).toEqual(nodeSummary);
  });

  test("another seed plays another run, so equal hashes are not a constant", async () => {
    const { summary } = await playInBrowser("?seed=7&delay=0");
    expect(summary!.seed).toBe(7);
    expect(summary!.historyHash).not.toBe(runDemo(42).historyHash);
  });

  test("a seed that is not a number is one line on the page", async () => {
    const { error, summary } = await playInBrowser("?seed=forty-two");
    expect(error).toBe('Expected `seed` to be an integer from 0 to 2147483647, got "forty-two"');
    expect(summary).toBeUndefined();
  });
});
