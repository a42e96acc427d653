// A test run against node containers (lesson 5, "systems that never stop", on Docker):
// `npx neverstop test set --backend docker`. The same RunDriver as the simulator and the local
// backend (chaos/harness/run-core.ts), over HTTP with real timers, on a cluster of its own that
// stack.ts starts: the node image, the embedded Toxiproxy in a container, a proxy on every
// directed link, host-network node containers on free ports. Crash is `docker kill -s KILL`
// then `docker start`, pause is `docker pause` (the cgroup freezer), skew is the node's
// /admin/clock, and a partition disables or blackholes the proxies of its cut links. Clients
// talk to the nodes directly, as on the local backend, so a node that is down refuses their
// connection (a definite `fail`). Every container of the run is removed at the end.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpPort } from "../../harness/http-port.ts";
import { ProcessFaultBackend } from "../../harness/run-local.ts";
import {
  finalPhaseMaxMs,
  quietMs,
  RunDriver,
  type ProgressSnapshot,
  type RunResult,
} from "../../harness/run-core.ts";
import type { RunOptions } from "../../harness/run-options.ts";
import { dockerNemesisBackend } from "../docker.ts";
import { newRunId } from "./backend.ts";
import { connectDocker } from "./engine.ts";
import { removeRunContainers, startDockerStack } from "./stack.ts";

/** How often the run looks whether it is over (and reports progress). */
const pollMs = 100;
/** After Ctrl-C, how long a container creation already sent to the engine gets to land. */
const interruptSettleMs = 1_000;
/** Containers of test runs are named `neverstop-run-<run>-<node>`. */
export const runNamePrefix = "neverstop-run";

export async function runDockerTest(
  options: RunOptions,
  hooks: { onProgress?: (snapshot: ProgressSnapshot) => void },
): Promise<RunResult> {
  const dataDir = mkdtempSync(join(tmpdir(), "neverstop-docker-run-"));
  const docker = connectDocker();
  const runId = newRunId();
  // Ctrl-C at any moment (the containers start one by one) must not leave any running: remove
  // every container labelled with the run, then end as an interrupted process does.
  const interrupted = (signal: NodeJS.Signals) => {
    // Twice: a container whose creation was under way at the first pass is there by the second.
    const removeAll = () => removeRunContainers(docker, runId).catch(() => 0);
    void removeAll()
      .then(() => new Promise((resolveWait) => setTimeout(resolveWait, interruptSettleMs)))
      .then(removeAll)
      .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    const stack = await startDockerStack({
      docker,
      runId,
      nodes: options.cluster.nodes,
      sync: options.cluster.sync,
      dataDir,
      detach: false,
      namePrefix: runNamePrefix,
      partitionCount: options.cluster.partitionCount,
      ...(options.policies === undefined ? {} : { policies: options.policies }),
      bucketModes: options.cluster.bucketModes,
      defaults: {
        n: options.cluster.n,
        r: options.cluster.r,
        w: options.cluster.w,
        timeoutMs: options.cluster.requestTimeoutMs,
      },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    try {
      return await drive(options, stack, hooks);
    } finally {
      await stack.stop();
    }
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function drive(
  options: RunOptions,
  stack: Awaited<ReturnType<typeof startDockerStack>>,
  hooks: { onProgress?: (snapshot: ProgressSnapshot) => void },
): Promise<RunResult> {
  const startedMs = performance.now();
  const { cluster } = stack;
  const port = httpPort(Object.fromEntries(cluster.nodes.map((node) => [node.id, node.httpUrl])));
  const backend = new ProcessFaultBackend(dockerNemesisBackend(cluster, stack.toxiproxyUrl));
  const driver = new RunDriver(options, port, backend);
  const endMs = options.timeMs + quietMs + finalPhaseMaxMs;
  while (!driver.finalOperationsDone && performance.now() - startedMs < endMs) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    hooks.onProgress?.(driver.progress(performance.now() - startedMs));
  }
  return driver.result({
    messages: { sent: 0, delivered: 0, dropped: 0, refused: 0 },
    trace: [],
    simulatedMs: 0,
    wallMs: performance.now() - startedMs,
  });
}
