// A test run against real node processes on 127.0.0.1 (lesson 5): not wired yet. The pieces
// exist (cluster/runtime/real/cluster.ts starts the processes; an HTTP KvPort and a process
// FaultBackend are what is missing); until then the backend says so plainly.

import type { ProgressSnapshot, RunResult } from "./run-core.ts";
import { RunOptionsError, type RunOptions } from "./run-options.ts";

export async function runLocalTest(
  _options: RunOptions,
  _hooks: { onProgress?: (snapshot: ProgressSnapshot) => void },
): Promise<RunResult> {
  throw new RunOptionsError("backend local: not yet (use --backend sim)");
}
