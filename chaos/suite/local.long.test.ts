// Real processes (`npm run chaos`): the same sound-configuration promise as the simulator's,
// on node processes on 127.0.0.1 killed with -9 and paused with SIGSTOP. Not replayable from
// the seed (real timing), but the same harness, clients and checkers.

import { chaosTest } from "../harness/chaos-test.ts";

for (const seed of [1, 2]) {
  chaosTest(
    `local: set, W=2, sync always, crashes and pauses lose nothing (seed ${seed})`,
    {
      workload: "set",
      backend: "local",
      seed,
      timeMs: 12_000,
      cluster: { nodes: 3, n: 3, r: 2, w: 2, sync: "always" },
      client: { concurrency: 4, ratePerSecond: 5 },
      nemesis: { faults: ["crash", "pause"], intervalMs: 4_000, durationMs: 2_000 },
    },
    { testTimeoutMs: 180_000 },
  );
}
