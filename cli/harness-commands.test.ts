import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, expect, test, vi } from "vitest";
import { parseJsonLines } from "../chaos/harness/history-io.ts";
import { registerHarnessCommands, runOptionsFromFlags, type RunFlags } from "./harness-commands.ts";

const store = mkdtempSync(join(tmpdir(), "neverstop-commands-"));
afterAll(() => rmSync(store, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

async function neverstop(
  ...args: string[]
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void stdout.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void stderr.push(String(line)));
  const program = new Command();
  registerHarnessCommands(program);
  await program.parseAsync([...args, "--store", store], { from: "user" });
  const exitCode = Number(process.exitCode ?? 0);
  vi.restoreAllMocks();
  return { exitCode, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
}

test("`test register` with R=W=1 under partitions exits 1 (invalid) and stores the run", async () => {
  const run = await neverstop(
    "test",
    "register",
    "--seed",
    "3",
    "--time",
    "10s",
    "--r",
    "1",
    "--w",
    "1",
    "--faults",
    "partition",
    "--interval",
    "4s",
    "--json",
  );
  expect(run.exitCode).toBe(1);
  const summary = JSON.parse(run.stdout) as {
    verdict: unknown;
    folder: string;
    replayCommand: string;
  };
  expect(summary.verdict).toBe(false);
  expect(readdirSync(summary.folder).sort()).toEqual([
    "history.jsonl",
    "report.html",
    "results.json",
    "seed.txt",
    "trace.json",
  ]);
  expect(readFileSync(join(summary.folder, "seed.txt"), "utf8")).toBe(
    `3\n${summary.replayCommand}\n`,
  );
  const history = parseJsonLines(
    readFileSync(join(summary.folder, "history.jsonl"), "utf8"),
  ).operations;
  expect(
    history.some(
      (operation) => operation.process === "nemesis" && operation.f === "start-partition",
    ),
  ).toBe(true);
  const trace = JSON.parse(readFileSync(join(summary.folder, "trace.json"), "utf8")) as {
    entries: unknown[];
  };
  expect(trace.entries.length).toBeGreaterThan(0);
});

test("`sim` prints the summary and exits 0", async () => {
  const run = await neverstop(
    "sim",
    "--workload",
    "counter",
    "--seed",
    "42",
    "--time",
    "5s",
    "--nodes",
    "3",
  );
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toMatch(/operations +\d+ invoked: \d+ ok, \d+ fail, \d+ info/);
  expect(run.stdout).toMatch(/messages +\d+ sent, \d+ delivered, \d+ dropped/);
  expect(run.stdout).toMatch(/s simulated in [\d.]+ s wall/);
});

test("bad input is one line and exit 3", async () => {
  const run = await neverstop("test", "set", "--n", "3", "--r", "4");
  expect(run.exitCode).toBe(3);
  expect(run.stderr).toBe("neverstop: Expected `r` to be an integer from 1 to `n` (3), got 4");
  const duration = await neverstop("test", "set", "--time", "soon");
  expect(duration.exitCode).toBe(3);
  expect(duration.stderr).toMatch(/^neverstop: Expected `--time` to be a duration/);
  const faults = await neverstop("test", "set", "--faults", "earthquake");
  expect(faults.exitCode).toBe(3);
  expect(faults.stderr).toBe(
    'neverstop: Expected `--faults` to list some of partition, crash, pause, skew, flaky, slow, join, leave, none, got "earthquake"',
  );
});

test("--pw and --min-availability reach the run options, checked at the boundary", () => {
  const flags: RunFlags = {
    backend: "sim",
    time: "10s",
    nodes: "5",
    pw: "2",
    minAvailability: "0.95",
    sync: "always",
    faults: "",
    interval: "10s",
    concurrency: "10",
    rate: "10",
    retry: "none",
    keys: "3",
    partitions: "64",
    store: "store",
  };
  const fromFlags = runOptionsFromFlags("register", flags);
  expect([fromFlags.cluster?.pw, fromFlags.minimumAvailability]).toEqual([2, 0.95]);
  expect(() => runOptionsFromFlags("register", { ...flags, minAvailability: "2" })).toThrow(
    'Expected `--min-availability` to be a number from 0 to 1, got "2"',
  );
});
