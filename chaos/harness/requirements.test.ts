// requirements.ts (issue 12, "a CI that proves what it claims"): a missing part skips with one
// line outside CI and fails under CI=true. The first cases test the function; the last ones run
// the real Docker and browser test files in a child vitest with their part made missing (an
// engine address where nothing listens, a Chromium path that does not exist), so what is proven
// is the behaviour CI sees, not only the helper's.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isCi, PartMissingError, requirePart } from "./requirements.ts";

const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));
const childTimeoutMs = 120_000;

describe("requirePart", () => {
  it("lets the test run, silently, when the part is there, in CI or not", () => {
    const lines: string[] = [];
    for (const CI of ["true", undefined]) {
      const environment = CI === undefined ? {} : { CI };
      expect(
        requirePart("Docker engine", undefined, { environment, log: (l) => lines.push(l) }),
      ).toBe(false);
    }
    expect(lines).toEqual([]);
  });

  it("skips with one line naming the part and the reason outside CI", () => {
    const lines: string[] = [];
    const skip = requirePart("Chromium", "no Chromium at /usr/bin/chromium\nsecond line", {
      environment: {},
      log: (line) => lines.push(line),
    });
    expect(skip).toBe(true);
    expect(lines).toEqual(["skipped (no Chromium): no Chromium at /usr/bin/chromium"]);
  });

  it("fails with the reason under CI=true instead of skipping", () => {
    const lines: string[] = [];
    const call = () =>
      requirePart("Docker engine", "no Docker engine answers at unix:///nowhere", {
        environment: { CI: "true" },
        log: (line) => lines.push(line),
      });
    expect(call).toThrow(PartMissingError);
    expect(call).toThrow(
      "Docker engine is required under CI=true and is missing: no Docker engine answers at unix:///nowhere",
    );
    expect(lines).toEqual([]);
  });

  it("reads CI the way CI services set it", () => {
    for (const value of ["true", "1", "TRUE", "yes"]) expect(isCi({ CI: value })).toBe(true);
    for (const value of ["", "0", "false", " False "]) expect(isCi({ CI: value })).toBe(false);
    expect(isCi({})).toBe(false);
  });
});

/** Runs one test file in a child vitest; returns its status and everything it printed. */
function runTestFile(file: string, environment: Record<string, string | undefined>) {
  const childEnvironment: NodeJS.ProcessEnv = { ...process.env };
  delete childEnvironment["CI"];
  delete childEnvironment["VITEST"];
  delete childEnvironment["VITEST_WORKER_ID"];
  delete childEnvironment["VITEST_POOL_ID"];
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined) delete childEnvironment[name];
    else childEnvironment[name] = value;
  }
  const result = spawnSync(
    process.execPath,
    [fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url)), "run", file],
    { cwd: repositoryRoot, env: childEnvironment, encoding: "utf8", timeout: childTimeoutMs },
  );
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe("the Docker and browser tests with their part missing", () => {
  const noEngine = { DOCKER_HOST: "unix:///nonexistent/neverstop-test-docker.sock" };

  it(
    "the Docker test fails under CI=true, saying no engine answers",
    () => {
      const run = runTestFile("chaos/nemesis/docker/docker.test.ts", { ...noEngine, CI: "true" });
      expect(run.status).not.toBe(0);
      expect(run.output).toContain("Docker engine is required under CI=true and is missing");
      expect(run.output).toContain("unix:///nonexistent/neverstop-test-docker.sock");
    },
    childTimeoutMs,
  );

  it(
    "the Docker test skips outside CI, with the one line",
    () => {
      const run = runTestFile("chaos/nemesis/docker/docker.test.ts", noEngine);
      expect(run.status).toBe(0);
      expect(run.output).toContain("skipped (no Docker engine): no Docker engine answers");
      // (vitest colours its summary: no \b before the counts)
      expect(run.output).toMatch(/[1-9][0-9]* skipped/);
      expect(run.output).not.toMatch(/[1-9][0-9]* passed/);
    },
    childTimeoutMs,
  );

  it(
    "the browser test fails under CI=true, saying where Chromium was looked for",
    () => {
      const run = runTestFile("site/browser.test.ts", {
        NEVERSTOP_CHROMIUM: "/nonexistent/chromium",
        CI: "true",
      });
      expect(run.status).not.toBe(0);
      expect(run.output).toContain(
        "Chromium is required under CI=true and is missing: no Chromium at /nonexistent/chromium",
      );
    },
    childTimeoutMs,
  );
});
