// The lab kit's own tests: shrinking, grading, loading a learner's file, the `neverstop lab`
// command (real processes of the CLI, exit statuses, report paths, progress) and the rule that
// the browser-safe part of every grader imports no Node built-in.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import type { Operation } from "../../chaos/harness/history.ts";
import { formatVerdict, gradeLab, type ClusterRunner } from "./grade.ts";
import { defineLab, LabInputError, requireFunctions, type CheckOutcome } from "./lab.ts";
import { loadLearnerModule } from "./load.node.ts";
import { labs } from "./registry.ts";
import { shrinkHistory, shrinkList } from "./shrink.ts";
import { vitestImporter } from "./testing.ts";

const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));
const noCluster: ClusterRunner = () => Promise.reject(new Error("no cluster in this test"));

describe("shrink", () => {
  test("finds the two items that make it fail, keeping their order", () => {
    const items = Array.from({ length: 40 }, (_, index) => index);
    const result = shrinkList(
      items,
      (candidate) => candidate.includes(7) && candidate.includes(31),
    );
    expect(result.items).toEqual([7, 31]);
    expect(result.bounded).toBe(false);
  });

  test("stops at its step bound and still returns a failing list", () => {
    const items = Array.from({ length: 200 }, (_, index) => index);
    const fails = (candidate: number[]) => candidate.filter((item) => item % 3 === 0).length >= 20;
    const result = shrinkList(items, fails, { stepsMax: 5 });
    expect(result.steps).toBeLessThanOrEqual(5);
    expect(fails(result.items)).toBe(true);
    expect(result.bounded).toBe(true);
  });

  test("keeps an invoke with its completion and leaves nemesis operations alone", () => {
    const operation = (
      index: number,
      process: number | "nemesis",
      type: Operation["type"],
      value: unknown,
    ): Operation => ({
      index,
      time: index,
      process,
      type,
      f: process === "nemesis" ? "partition" : "add",
      value,
    });
    const history = [
      operation(0, 0, "invoke", 1),
      operation(1, 1, "invoke", 2),
      operation(2, "nemesis", "info", "split"),
      operation(3, 0, "ok", 1),
      operation(4, 1, "ok", 2),
    ];
    const result = shrinkHistory(history, (candidate) =>
      candidate.some((entry) => entry.value === 2 && entry.type === "ok"),
    );
    expect(result.items.map((entry) => entry.index)).toEqual([1, 4]);
  });
});

function toyLab() {
  return defineLab<{ double: (value: number) => number }>({
    id: "98",
    slug: "98-toy",
    title: "Toy",
    learnerFile: "double.ts",
    talkSlide: "-",
    paperSection: "-",
    validate: (module) =>
      requireFunctions(module, ["double"]) as unknown as { double: (value: number) => number },
    checks: [
      {
        id: "98a",
        title: "doubles two",
        needs: "pure",
        run: ({ module }): CheckOutcome =>
          module.double(2) === 4
            ? { ok: true }
            : { ok: false, message: `double(2) is ${module.double(2)}` },
      },
      {
        id: "98b",
        title: "doubles every number up to 20",
        needs: "pure",
        run: ({ module }): CheckOutcome => {
          const history: Operation[] = [];
          for (let value = 0; value <= 20; value += 1) {
            history.push({
              index: history.length,
              time: 0,
              process: value,
              type: "invoke",
              f: "double",
              value,
            });
            history.push({
              index: history.length,
              time: 0,
              process: value,
              type: "ok",
              f: "double",
              value: module.double(value),
            });
          }
          const wrong = (candidate: Operation[]) =>
            candidate.some(
              (entry) =>
                entry.type === "ok" &&
                entry.value !== 2 * (history[entry.index - 1]!.value as number),
            );
          return wrong(history)
            ? { ok: false, message: "some double is wrong", history, stillFails: wrong }
            : { ok: true };
        },
      },
      { id: "98c", title: "needs a real process", needs: "process", run: () => ({ ok: true }) },
    ],
    mistakes: {},
  });
}

describe("gradeLab", () => {
  test("passes a right module, runs process checks only where allowed", async () => {
    const verdict = await gradeLab(
      toyLab(),
      { double: (value: number) => value * 2 },
      { processChecks: false, runCluster: noCluster },
    );
    expect(verdict.passed).toBe(true);
    expect(verdict.checks.map((check) => [check.id, check.ok, check.skipped])).toEqual([
      ["98a", true, false],
      ["98b", true, false],
      ["98c", true, true],
    ]);
  });

  test("fails a wrong module, names the check, and shrinks the evidence to the one wrong answer", async () => {
    const double = (value: number) => (value === 13 ? 27 : value * 2);
    const verdict = await gradeLab(
      toyLab(),
      { double },
      { processChecks: true, runCluster: noCluster },
    );
    expect(verdict.passed).toBe(false);
    const failed = verdict.checks.find((check) => !check.ok)!;
    expect(failed.id).toBe("98b");
    expect(failed.history?.map((entry) => entry.value)).toEqual([13, 27]);
    expect(formatVerdict(verdict)).toContain("FAIL 98b doubles every number up to 20");
    expect(verdict.replayCommand).toBe("npx neverstop lab 98 --seed 1");
  });

  test("a learner function that throws fails its check, and stopAtFirstFailure skips the rest", async () => {
    const verdict = await gradeLab(
      toyLab(),
      {
        double: () => {
          throw new Error("not written yet");
        },
      },
      { processChecks: true, runCluster: noCluster, stopAtFirstFailure: true },
    );
    expect(verdict.checks[0]).toMatchObject({
      ok: false,
      message: expect.stringContaining("not written yet"),
    });
    expect(verdict.checks.slice(1).every((check) => check.skipped)).toBe(true);
  });

  test("a module without the export is bad input, before any check runs", async () => {
    await expect(
      gradeLab(toyLab(), { triple: () => 3 }, { processChecks: true, runCluster: noCluster }),
    ).rejects.toThrow(
      new LabInputError(
        "the file must export a function `double`, it exports nothing by that name",
      ),
    );
  });
});

describe("loading the learner's file", () => {
  const folder = mkdtempSync(join(tmpdir(), "neverstop-kit-"));

  test("a missing file, a syntax error, and a file that throws at load: one line each", async () => {
    await expect(loadLearnerModule(join(folder, "missing.ts"), vitestImporter)).rejects.toThrow(
      /missing\.ts: no such file$/,
    );
    const broken = join(folder, "broken.ts");
    writeFileSync(broken, "export function double(value: number) {\n  return value * ;\n}\n");
    await expect(loadLearnerModule(broken, vitestImporter)).rejects.toThrow(
      /broken\.ts:2:18: Unexpected ";"$/,
    );
    const throwing = join(folder, "throwing.ts");
    writeFileSync(throwing, "throw new Error('boom at load');\nexport const x = 1;\n");
    await expect(loadLearnerModule(throwing, vitestImporter)).rejects.toThrow(
      /throwing\.ts: does not load: boom at load$/,
    );
  });
});

describe("neverstop lab (the command, as a learner runs it)", () => {
  const work = mkdtempSync(join(tmpdir(), "neverstop-lab-cli-"));
  const lab = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [
        join(repositoryRoot, "bin/neverstop.js"),
        "lab",
        ...args,
        "--store",
        join(work, "store"),
        "--progress-dir",
        join(work, "progress"),
      ],
      {
        cwd: repositoryRoot,
        encoding: "utf8",
        env: { ...process.env, CI: "1" },
      },
    );

  test("bad input exits 3 with one line: no such lab, a missing file, a file that does not compile, a bad seed", () => {
    const broken = join(work, "broken.ts");
    writeFileSync(
      broken,
      "export function scanLog(bytes: Uint8Array) {\n  return { records: [, validBytes: 0 };\n}\n",
    );
    for (const [args, message] of [
      [["99"], /^neverstop lab: no lab "99"; the labs are 00/],
      [["01", "--file", join(work, "nothing.ts")], /nothing\.ts: no such file$/],
      [["01", "--file", broken], /broken\.ts:2:\d+: Expected "\]" but found ":"$/],
      [["01", "--seed", "-4"], /Expected `--seed` to be a non-negative integer, got "-4"$/],
      [
        ["01", "--backend", "cloud"],
        /Expected `--backend` to be one of sim, local, docker, got "cloud"$/,
      ],
    ] as const) {
      const result = lab(...args);
      expect(result.status, `${args.join(" ")}: ${result.stderr}`).toBe(3);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr.trim()).toMatch(message);
    }
  });

  test("grading: the solution exits 0, the starter exits 1 with a report and a replay command, the listing shows progress", () => {
    const passed = lab("01", "--solution", "--only", "01a,01b");
    expect(passed.status, passed.stderr).toBe(0);
    expect(passed.stdout).toContain("pass 01b a torn write loses only the record being written");
    const failed = lab("01", "--only", "01b");
    expect(failed.status, failed.stderr).toBe(1);
    expect(failed.stdout).toContain("FAIL 01b a torn write loses only the record being written");
    expect(failed.stdout).toContain("replay: npx neverstop lab 01 --seed 1 --only 01b");
    const report = /report: (.*report\.html)/.exec(failed.stdout)?.[1];
    expect(report).toBeDefined();
    expect(existsSync(resolve(repositoryRoot, report!))).toBe(true);
    expect(existsSync(join(dirname(resolve(repositoryRoot, report!)), "shrunk.jsonl"))).toBe(true);
    const progress = JSON.parse(
      readFileSync(join(work, "progress", "labs.json"), "utf8"),
    ) as Record<string, { passed: boolean; everPassed: boolean }>;
    expect(progress["01"]).toMatchObject({ passed: false, everPassed: true });
    const listing = lab();
    expect(listing.status).toBe(0);
    expect(listing.stdout).toMatch(/01 {2}The world is concurrent.*passed once, failing now/);
  });
});

describe("the browser-safe part of every grader", () => {
  test("imports no Node built-in, however deep (the course site runs it in a Web Worker)", () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const match of source.matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)) {
        const specifier = match[1]!;
        if (specifier.startsWith("node:")) offenders.push(`${file}: ${specifier}`);
        else if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier));
      }
    };
    for (const entry of ["registry.ts", "grade.ts", "simulate.ts", "shrink.ts"])
      visit(resolve(repositoryRoot, "labs/kit", entry));
    expect(offenders).toEqual([]);
    expect(labs.length).toBeGreaterThan(0);
    expect([...seen].some((file) => file.endsWith(".node.ts"))).toBe(false);
  });
});
