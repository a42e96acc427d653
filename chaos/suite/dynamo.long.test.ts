// The long chaos suite (`npm run chaos`, and .github/workflows/chaos.yml): the short suite's
// cases over many seeds, and every workload under every fault on a sound configuration
// (N=3, R=W=2, sync always). A failure prints its seed and the command that replays it.

import { describe, expect } from "vitest";
import { chaosTest } from "../harness/chaos-test.ts";
import { brokenRegister, soundSetUnderCrashes } from "./cases.ts";

const seedCount = Number(process.env.NEVERSTOP_CHAOS_SEEDS ?? 20);
const seeds = Array.from({ length: seedCount }, (_, index) => 1000 + index);

describe("R=W=1 under partitions is never linearizable", () => {
  for (const seed of seeds) {
    chaosTest(`register, seed ${seed}`, brokenRegister(seed, 30_000), {
      checkers: { linearizable: false },
    });
  }
});

describe("W=2 with sync always loses no acknowledged add when nodes crash", () => {
  for (const seed of seeds) {
    chaosTest(`set, seed ${seed}`, soundSetUnderCrashes(seed, 30_000), {
      inspect: (result) => expect(result.results.set!.lostCount).toBe(0),
    });
  }
});

describe("a sound configuration keeps every workload's promise under every fault", () => {
  const sound = { nodes: 5, n: 3, r: 2, w: 2, sync: "always" as const };
  const faults = ["partition", "crash", "pause", "skew"] as const;
  for (const workload of ["set", "counter", "cart", "session"]) {
    for (const seed of seeds.slice(0, 5)) {
      chaosTest(`${workload} under ${faults.join(", ")}, seed ${seed}`, {
        workload,
        seed,
        timeMs: 30_000,
        cluster: sound,
        client: { concurrency: 5, ratePerSecond: 5 },
        nemesis: { faults: [...faults], intervalMs: 5_000, durationMs: 3_000 },
      });
    }
  }
});
