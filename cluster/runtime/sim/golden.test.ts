// Golden histories (every lesson: a refactor proves itself). The histories of fixed seeded
// simulator runs under faults are recorded in golden/ and must stay byte-identical: moving a
// mechanism to another module, renaming a message or adding a seam for labs changes nothing a
// client can see. Each run's history (and its message trace, with message names mapped to the
// names they had when the golden files were recorded) is kept as a SHA-256 in
// golden/hashes.json; two runs are kept whole as JSON lines so that a failure can show the
// first line that differs. A mismatch writes the new history next to a temp path and prints
// the diff command.
//
// To record again on purpose (a change that is meant to alter behaviour, said so in its
// commit): NEVERSTOP_UPDATE_GOLDEN=1 npx vitest run cluster/runtime/sim/golden.test.ts
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatJsonLines } from "../../../chaos/harness/history-io.ts";
import { runSimulatedTest } from "../../../chaos/harness/run-core.ts";
import { resolveRunOptions } from "../../../chaos/harness/run-options.ts";
import type { DynamoNode } from "../../core/node.ts";
import { Random } from "./random.ts";
import { Simulation, type TraceEntry } from "./simulator.ts";
import { clusterConfig, sequentialClient, type Exchange } from "./testing.ts";

const goldenDirectory = join(import.meta.dirname, "golden");
const hashFile = join(goldenDirectory, "hashes.json");
const updating = process.env.NEVERSTOP_UPDATE_GOLDEN === "1";
/** Runs whose whole history is kept, for a readable diff when a hash differs. */
const keptWhole = new Set(["register-seed-1", "scaling-seed-1"]);

/** Peer message names as they were when the golden files were recorded: a rename is not a
 * change of behaviour. */
const recordedName: Record<string, string> = {
  mint: "coordinate-put",
  "mint-ok": "coordinate-put-ok",
  "mint-refused": "coordinate-put-refused",
  transfer: "handoff",
  "transfer-ok": "handoff-ok",
};

function normalisedTrace(trace: readonly TraceEntry[]): string {
  return trace
    .map(([time, event, from, to, type]) =>
      JSON.stringify([time, event, from, to, recordedName[type] ?? type]),
    )
    .join("\n");
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

interface GoldenRun {
  name: string;
  history: string;
  trace: string;
}

const workloadRuns: Array<{ workload: string; faults: string[]; lww?: boolean }> = [
  { workload: "register", faults: ["partition", "crash", "pause"] },
  { workload: "register", faults: ["skew", "partition"], lww: true },
  { workload: "set", faults: ["partition", "crash", "pause"] },
  { workload: "counter", faults: ["partition", "crash", "skew"] },
  { workload: "cart", faults: ["partition", "crash", "pause"] },
];
const seedsPerWorkload = 11;

function harnessRun(workload: string, faults: string[], lww: boolean, seed: number): GoldenRun {
  const options = resolveRunOptions({
    workload,
    seed,
    timeMs: 6_000,
    checkers: [],
    trace: true,
    cluster: {
      nodes: 5,
      ...(lww ? { bucketModes: { registers: "lww" as const, register: "lww" as const } } : {}),
    },
    client: { concurrency: 5, ratePerSecond: 10, keyCount: 3 },
    nemesis: { faults: faults as never, intervalMs: 2_000, durationMs: 1_200 },
  });
  const result = runSimulatedTest(options, () => 0);
  return {
    name: `${workload}${lww ? "-lww" : ""}-seed-${seed}`,
    history: formatJsonLines(result.history),
    trace: normalisedTrace(result.trace),
  };
}

/** Scale out and back in under writes (ownership transfer, gossip, join and leave). */
function scalingRun(seed: number): GoldenRun {
  const config = clusterConfig(5, {
    timing: { heartbeatIntervalMs: 200, handoffIntervalMs: 100 },
  });
  const sim = new Simulation({ config, seed, trace: true });
  const random = new Random(`golden-scaling:${seed}`);
  const logs: Exchange[][] = [];
  for (let client = 0; client < 3; client += 1) {
    let count = 0;
    logs.push(
      sequentialClient(sim, {
        startMs: client,
        thinkMs: 100,
        pickNode: () => random.pick(config.nodes),
        next: () => {
          if (sim.now > 10_000) return undefined;
          count += 1;
          const key = `k${random.integer(20)}`;
          return random.chance(0.3)
            ? { op: "get", bucket: "b", key }
            : { op: "put", bucket: "b", key, value: count * 10 + client };
        },
      }),
    );
  }
  sim.at(1_000, () => sim.addNode("n6"));
  sim.at(2_500, () => sim.crash("n3"));
  sim.at(3_500, () => sim.restart("n3"));
  sim.at(6_000, () => (sim.node("n2") as DynamoNode).leave("n6"));
  sim.run(16_000);
  return {
    name: `scaling-seed-${seed}`,
    history: logs
      .map((log) => log.map((exchange) => JSON.stringify(exchange)).join("\n"))
      .join("\n"),
    trace: normalisedTrace(sim.trace),
  };
}

function allRuns(): GoldenRun[] {
  const runs: GoldenRun[] = [];
  for (const { workload, faults, lww } of workloadRuns) {
    for (let seed = 1; seed <= seedsPerWorkload; seed += 1) {
      runs.push(harnessRun(workload, faults, lww ?? false, seed));
    }
  }
  for (let seed = 1; seed <= 4; seed += 1) runs.push(scalingRun(seed));
  return runs;
}

describe("golden histories of seeded simulator runs", () => {
  it("are byte-identical to the recorded ones", { timeout: 600_000 }, () => {
    const runs = allRuns();
    expect(runs.length).toBeGreaterThanOrEqual(50);
    const actual: Record<string, { history: string; trace: string }> = {};
    for (const run of runs) {
      actual[run.name] = { history: sha256(run.history), trace: sha256(run.trace) };
    }
    if (updating) {
      writeFileSync(hashFile, `${JSON.stringify(actual, null, 2)}\n`);
      for (const run of runs) {
        if (keptWhole.has(run.name)) {
          writeFileSync(join(goldenDirectory, `${run.name}.jsonl`), `${run.history}\n`);
        }
      }
    }
    const expected = JSON.parse(readFileSync(hashFile, "utf8")) as typeof actual;
    const differing = runs.filter(
      (run) =>
        expected[run.name]?.history !== actual[run.name]!.history ||
        expected[run.name]?.trace !== actual[run.name]!.trace,
    );
    if (differing.length > 0) {
      const directory = mkdtempSync(join(tmpdir(), "neverstop-golden-"));
      for (const run of differing)
        writeFileSync(join(directory, `${run.name}.jsonl`), `${run.history}\n`);
      const whole = differing.find((run) => keptWhole.has(run.name));
      const hint =
        whole === undefined
          ? `new histories in ${directory}`
          : `diff ${join(goldenDirectory, `${whole.name}.jsonl`)} ${join(directory, `${whole.name}.jsonl`)}`;
      console.error(
        `golden runs that differ: ${differing.map((run) => run.name).join(", ")}\n${hint}`,
      );
    }
    expect(differing.map((run) => run.name)).toEqual([]);
    expect(Object.keys(expected).sort()).toEqual(Object.keys(actual).sort());
    for (const name of keptWhole) {
      const run = runs.find((candidate) => candidate.name === name)!;
      expect(`${run.history}\n`).toBe(readFileSync(join(goldenDirectory, `${name}.jsonl`), "utf8"));
    }
  });
});
