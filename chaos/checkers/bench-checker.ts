// Benchmark of the linearizability checker (lesson 10, monitoring for five nines: a checker
// that takes minutes is a checker nobody runs). Parses and checks Porcupine's whole corpus,
// twice (a cold pass, as `neverstop check` meets it, and a warm pass), verifies every verdict
// against EXPECTED.tsv, and prints one JSON object: wall and CPU times of both passes, the five
// slowest histories, and etcd_002's share of the total (a ratio, steady on a noisy machine).
// Target: the cold pass under 1 s on a 2-core machine (Porcupine in Go: about 0.85 s).
// Run: npm run bench:checker

import { readFileSync } from "node:fs";
import { parseHistory } from "../harness/history-io.ts";
import { checkLinearizable } from "./linearizable.ts";
import { linearizableModels } from "./models.ts";

const corpus = new URL("./test-data/porcupine/", import.meta.url);
const rows = readFileSync(new URL("EXPECTED.tsv", corpus), "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((row) => row.split("\t") as [string, string, string]);
const texts = rows.map(([file]) => readFileSync(new URL(file, corpus), "utf8"));

interface Timing {
  file: string;
  ms: number;
  steps: number;
}

function pass(): { wallMs: number; cpuMs: number; timings: Timing[]; mismatches: string[] } {
  const timings: Timing[] = [];
  const mismatches: string[] = [];
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  rows.forEach(([file, model, expected], index) => {
    const start = performance.now();
    const parsed = parseHistory(texts[index]!);
    const result = checkLinearizable(linearizableModels[model]!, parsed.operations, {
      timeoutMs: 60_000,
    });
    timings.push({
      file,
      ms: performance.now() - start,
      steps: result.partitions.reduce((sum, partition) => sum + partition.steps, 0),
    });
    if (result.valid !== (expected === "linearizable"))
      mismatches.push(`${file}: ${String(result.valid)}`);
  });
  const wallMs = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, timings, mismatches };
}

const round = (value: number) => Math.round(value * 10) / 10;
const cold = pass();
const warm = pass();
const etcd002 = cold.timings.find((timing) => timing.file.endsWith("etcd_002.log"))!;
const slowest = [...cold.timings]
  .sort((left, right) => right.ms - left.ms)
  .slice(0, 5)
  .map((timing) => ({ file: timing.file, ms: round(timing.ms), steps: timing.steps }));
console.log(
  JSON.stringify({
    benchmark: "checker",
    histories: rows.length,
    coldWallMs: round(cold.wallMs),
    coldCpuMs: round(cold.cpuMs),
    warmWallMs: round(warm.wallMs),
    warmCpuMs: round(warm.cpuMs),
    targetMs: 1000,
    withinTarget: cold.wallMs < 1000,
    etcd002Ms: round(etcd002.ms),
    etcd002ShareOfTotal: round(etcd002.ms / cold.wallMs),
    slowest,
    mismatches: [...cold.mismatches, ...warm.mismatches],
  }),
);
if (cold.mismatches.length > 0) process.exitCode = 1;
