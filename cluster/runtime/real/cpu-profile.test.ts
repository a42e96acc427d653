// The CPU-profile summary (lesson 9): the header's worked example, and a real profile of a real
// process whose hot function is known.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  processCpuMs,
  readMainThreadProfiles,
  summarizeProfiles,
  type CpuProfile,
} from "./cpu-profile.ts";

const frame = (functionName: string, url = "", lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

describe("summarizeProfiles", () => {
  it("gives the worked example's shares, leaving idle time and start-up out", () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame("(root)"), children: [2, 3, 4, 5] },
        { id: 2, callFrame: frame("a", "file:///repo/cluster/core/a.ts", 9) },
        { id: 3, callFrame: frame("b", "node:net", 1) },
        { id: 4, callFrame: frame("(idle)") },
        { id: 5, callFrame: frame("load", "loader"), children: [6] },
        { id: 6, callFrame: frame("compile", "file:///repo/x.ts") },
      ],
      samples: [2, 3, 2, 4, 6],
      timeDeltas: [0, 2000, 1000, 5000, 3000],
    };
    const summary = summarizeProfiles([profile]);
    expect(summary.busyMs).toBe(3);
    expect(summary.startupPercent).toBe(50);
    expect(summary.topFunctions).toEqual([
      { frame: "b node:net:2", percent: 66.7 },
      { frame: "a a.ts:10", percent: 33.3 },
    ]);
    expect(summary.byPart).toEqual([
      { part: "node:net", percent: 66.7 },
      { part: "a.ts", percent: 33.3 },
    ]);
  });

  it("leaves out the first milliseconds when asked (a benchmark's warm-up)", () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame("(root)"), children: [2, 3] },
        { id: 2, callFrame: frame("warming", "file:///repo/a.ts") },
        { id: 3, callFrame: frame("steady", "file:///repo/b.ts") },
      ],
      samples: [2, 2, 3, 3],
      timeDeltas: [1000, 1000, 1000, 1000],
    };
    expect(summarizeProfiles([profile], 5, 2.5).topFunctions).toEqual([
      { frame: "steady b.ts:1", percent: 100 },
    ]);
    expect(summarizeProfiles([profile], 5, 0).topFunctions.map((entry) => entry.percent)).toEqual([
      50, 50,
    ]);
  });

  it("finds the hot function of a real process profiled with --cpu-prof", () => {
    const folder = mkdtempSync(join(tmpdir(), "neverstop-profile-"));
    try {
      const program = `
        function spinOnSquareRoots() { let x = 0; for (let i = 0; i < 3e7; i++) x += Math.sqrt(i); return x; }
        function barelyRuns() { return 1; }
        console.log(spinOnSquareRoots() + barelyRuns());`;
      const result = spawnSync(
        process.execPath,
        ["--cpu-prof", `--cpu-prof-dir=${folder}`, "-e", program],
        { encoding: "utf8" },
      );
      expect(result.status).toBe(0);
      const profiles = readMainThreadProfiles(folder);
      expect(profiles).toHaveLength(1);
      const summary = summarizeProfiles(profiles, 3);
      expect(summary.topFunctions[0]!.frame).toMatch(/^spinOnSquareRoots /);
      expect(summary.topFunctions[0]!.percent).toBeGreaterThan(50);
      expect(summary.topFunctions.some((entry) => entry.frame.startsWith("barelyRuns"))).toBe(
        false,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("processCpuMs", () => {
  it.skipIf(process.platform !== "linux")(
    "reads a process's CPU time, which grows with work",
    () => {
      const before = processCpuMs(process.pid)!;
      expect(before).toBeGreaterThan(0);
      // Busy until the next 10 ms tick is counted (bounded: a starved test gets 10 s).
      const startedAt = Date.now();
      let spin = 0;
      while (processCpuMs(process.pid)! <= before && Date.now() - startedAt < 10_000) {
        for (let step = 0; step < 100_000; step += 1) spin += Math.sqrt(step);
      }
      expect(spin).toBeGreaterThan(0);
      expect(processCpuMs(process.pid)!).toBeGreaterThan(before);
      expect(processCpuMs(undefined)).toBeUndefined();
      expect(processCpuMs(2 ** 30)).toBeUndefined(); // no such process
    },
  );
});
