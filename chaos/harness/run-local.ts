// A test run against real node processes on 127.0.0.1 (lesson 5, systems that never stop): the
// same RunDriver as the simulator (run-core.ts), over HTTP (http-port.ts) with real timers, and
// faults through process signals. Crash is kill -9 then a restart, pause is SIGSTOP/SIGCONT,
// skew is the node's /admin/clock. Partitions need a Toxiproxy proxy on every link between
// nodes: not wired yet, so they are refused up front with a clear message.

import { startLocalCluster, type LocalCluster } from "../../cluster/runtime/real/cluster.ts";
import type { Fault, FaultBackend } from "./faults.ts";
import { httpPort } from "./http-port.ts";
import {
  finalPhaseMaxMs,
  quietMs,
  RunDriver,
  type ProgressSnapshot,
  type RunResult,
} from "./run-core.ts";
import { RunOptionsError, type RunOptions } from "./run-options.ts";

/** How often the run looks whether it is over (and reports progress). */
const pollMs = 100;

/** Process faults on a local cluster. */
export class ProcessFaultBackend implements FaultBackend {
  constructor(private readonly cluster: LocalCluster) {}

  async start(fault: Fault): Promise<void> {
    switch (fault.name) {
      case "crash":
        return this.cluster.kill(fault.node, "SIGKILL");
      case "pause":
        return this.cluster.kill(fault.node, "SIGSTOP");
      case "skew":
        return this.setClock(fault.node, fault.offsetMs);
      case "partition":
        throw new RunOptionsError("backend local: partitions need Toxiproxy, not yet");
      case "none":
        return;
    }
  }

  async stop(fault: Fault): Promise<void> {
    switch (fault.name) {
      case "crash":
        return this.cluster.restart(fault.node);
      case "pause":
        return this.cluster.kill(fault.node, "SIGCONT");
      case "skew":
        return this.setClock(fault.node, 0);
      default:
        return;
    }
  }

  private async setClock(node: string, skewMs: number): Promise<void> {
    await fetch(`${this.cluster.node(node).httpUrl}/admin/clock`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ skewMs }),
      signal: AbortSignal.timeout(5_000),
    }).catch(() => undefined); // a node that is down keeps its clock; the fault is best effort
  }
}

export async function runLocalTest(
  options: RunOptions,
  hooks: { onProgress?: (snapshot: ProgressSnapshot) => void },
): Promise<RunResult> {
  if (options.nemesis.faults.includes("partition")) {
    throw new RunOptionsError(
      "backend local: partitions need Toxiproxy, not yet (use --backend sim, or --faults crash,pause,skew)",
    );
  }
  const cluster = await startLocalCluster({
    nodes: options.cluster.nodes,
    sync: options.cluster.sync,
    partitionCount: options.cluster.partitionCount,
    defaults: {
      n: options.cluster.n,
      r: options.cluster.r,
      w: options.cluster.w,
      timeoutMs: options.cluster.requestTimeoutMs,
    },
    bucketModes: options.cluster.bucketModes,
  });
  const startedMs = performance.now();
  try {
    const port = httpPort(Object.fromEntries(cluster.nodes.map((node) => [node.id, node.httpUrl])));
    const driver = new RunDriver(options, port, new ProcessFaultBackend(cluster));
    const endMs = options.timeMs + quietMs + finalPhaseMaxMs;
    while (!driver.finalOperationsDone && performance.now() - startedMs < endMs) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      hooks.onProgress?.(driver.progress(performance.now() - startedMs));
    }
    const wallMs = performance.now() - startedMs;
    return driver.result({
      messages: { sent: 0, delivered: 0, dropped: 0, refused: 0 },
      trace: [],
      simulatedMs: 0,
      wallMs,
    });
  } finally {
    await cluster.stop();
  }
}
