// A test run against real node processes on 127.0.0.1 (lesson 5, systems that never stop): the
// same RunDriver as the simulator (run-core.ts), over HTTP (http-port.ts) with real timers, and
// faults through the local nemesis backend (chaos/nemesis/local.ts). Crash is kill -9 then a
// restart, pause is SIGSTOP/SIGCONT, skew is the node's /admin/clock, and a partition disables
// (refuse) or blackholes (drop) the Toxiproxy proxies of its cut links: every directed link
// between nodes runs through a proxy of the embedded Toxiproxy (or TOXIPROXY_URL's), created on
// 127.0.0.1:0 as the cluster starts. Clients talk to the nodes directly, so that a node that is
// down refuses their connection (a definite `fail`) instead of a proxy hanging up on them.

import { startLocalCluster, type LocalCluster } from "../../cluster/runtime/real/cluster.ts";
import { localNemesisBackend, type ProcessNemesisBackend } from "../nemesis/local.ts";
import { ProcessMembership, type MembershipBackend } from "../nemesis/membership.ts";
import { Nemesis, type NemesisFault } from "../nemesis/nemesis.ts";
import { LinkTopology } from "../nemesis/topology.ts";
import { locateToxiproxy, type LocatedToxiproxy } from "../toxiproxy/locate.ts";
import type { Fault, FaultBackend } from "./faults.ts";
import { httpPort } from "./http-port.ts";
import {
  finalPhaseMaxMs,
  quietMs,
  RunDriver,
  type ProgressSnapshot,
  type RunResult,
} from "./run-core.ts";
import type { RunOptions } from "./run-options.ts";

/** How often the run looks whether it is over (and reports progress). */
const pollMs = 100;

/** The harness's faults on a local cluster, through the local nemesis backend. The RunDriver
 * records them in the history, so the Nemesis here records nothing itself. */
export class ProcessFaultBackend implements FaultBackend {
  private readonly nemesis: Nemesis;

  constructor(
    readonly backend: ProcessNemesisBackend,
    /** Ring changes (join and leave faults); without it those faults say why they cannot. */
    private readonly membership?: MembershipBackend,
  ) {
    this.nemesis = new Nemesis(backend);
  }

  /** Each fault's start while it runs: its stop waits for it (a join that waits for the ring
   * may outlast the fault's planned duration; undoing it half-done would fail). */
  private readonly starting = new Map<Fault, Promise<void>>();

  /** Every start and stop not finished yet: the run ends only once they have (settled). */
  private readonly inProgress = new Set<Promise<void>>();

  start(fault: Fault): Promise<void> {
    const started = this.track(this.applyStart(fault));
    this.starting.set(fault, started);
    return started;
  }

  stop(fault: Fault): Promise<void> {
    const start = this.starting.get(fault);
    this.starting.delete(fault);
    return this.track(
      (start ?? Promise.resolve()).catch(() => undefined).then(() => this.applyStop(fault)),
    );
  }

  /** Resolves once every fault started or stopped so far has finished (failed ones too). */
  async settled(): Promise<void> {
    while (this.inProgress.size > 0) await Promise.allSettled([...this.inProgress]);
  }

  private track(operation: Promise<void>): Promise<void> {
    this.inProgress.add(operation);
    const done = () => this.inProgress.delete(operation);
    operation.then(done, done);
    return operation;
  }

  private async applyStart(fault: Fault): Promise<void> {
    if (fault.name === "join" || fault.name === "leave") {
      const membership = this.requireMembership();
      if (fault.name === "join") await membership.join(fault.node, fault.via);
      else await membership.leave(fault.node, fault.via);
      return;
    }
    const nemesisFault = toNemesisFault(fault);
    if (nemesisFault !== undefined) await this.nemesis.start(nemesisFault);
  }

  private async applyStop(fault: Fault): Promise<void> {
    if (fault.name === "join" || fault.name === "leave") {
      const membership = this.requireMembership();
      if (fault.name === "join") await membership.leave(fault.node, fault.via);
      else await membership.join(fault.node, fault.via);
      return;
    }
    const nemesisFault = toNemesisFault(fault);
    if (nemesisFault === undefined) return;
    if (nemesisFault.name === "skew") {
      // A node that is down keeps its clock; the fault is best effort.
      await this.nemesis.stop(nemesisFault).catch(() => undefined);
      return;
    }
    await this.nemesis.stop(nemesisFault);
  }

  private requireMembership(): MembershipBackend {
    if (this.membership === undefined)
      throw new Error(
        "this cluster cannot change its ring here: join and leave need a membership backend",
      );
    return this.membership;
  }
}

/** The harness's fault vocabulary in the nemesis's words (crash is kill -9 and a restart). */
export function toNemesisFault(fault: Fault): NemesisFault | undefined {
  switch (fault.name) {
    case "partition":
      return { ...fault };
    case "crash":
      return { name: "kill", node: fault.node };
    case "pause":
    case "skew":
      return { ...fault };
    case "flaky":
      // Toxiproxy's flaky toxic hangs a share of the connections on each link.
      return {
        name: "flaky",
        links: fault.links,
        mode: "timeout",
        toxicity: fault.lossRate,
        timeoutMs: 0,
      };
    case "slow":
      return {
        name: "latency",
        links: fault.links,
        latencyMs: fault.latencyMs,
        jitterMs: fault.jitterMs,
      };
    case "join":
    case "leave":
    case "none":
      return undefined;
  }
}

export async function runLocalTest(
  options: RunOptions,
  hooks: { onProgress?: (snapshot: ProgressSnapshot) => void },
): Promise<RunResult> {
  const toxiproxy = await locateToxiproxy({ port: 0, log: () => {} });
  const topology = new LinkTopology(toxiproxy.url);
  let cluster: LocalCluster;
  try {
    cluster = await startCluster(options, topology);
  } catch (error) {
    await stopToxiproxy(toxiproxy, topology);
    throw error;
  }
  const startedMs = performance.now();
  try {
    const port = httpPort(Object.fromEntries(cluster.nodes.map((node) => [node.id, node.httpUrl])));
    const membership = new ProcessMembership({
      spareNodes: cluster.spareNodes,
      addNode: (id) => cluster.addNode(id),
      httpUrl: (id) => cluster.node(id).httpUrl,
    });
    const backend = new ProcessFaultBackend(
      localNemesisBackend(cluster, toxiproxy.url),
      membership,
    );
    const driver = new RunDriver(options, port, backend);
    const endMs = options.timeMs + quietMs + finalPhaseMaxMs;
    while (!driver.finalOperationsDone && performance.now() - startedMs < endMs) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      hooks.onProgress?.(driver.progress(performance.now() - startedMs));
    }
    // A slow fault (a join waits for the ring) may still be finishing: its info belongs in the
    // history before the checkers read it.
    await backend.settled();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const wallMs = performance.now() - startedMs;
    return driver.result({
      messages: { sent: 0, delivered: 0, dropped: 0, refused: 0 },
      trace: [],
      simulatedMs: 0,
      wallMs,
    });
  } finally {
    await cluster.stop();
    await stopToxiproxy(toxiproxy, topology);
  }
}

function startCluster(options: RunOptions, topology: LinkTopology): Promise<LocalCluster> {
  return startLocalCluster({
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
    peerAddress: topology.peerAddress,
    // A join fault needs a spare node ready to start (every node knows every peer's address).
    spareNodes: options.nemesis.faults.includes("join") ? 1 : 0,
    ...(options.cluster.requestsInFlightMax === undefined
      ? {}
      : { timing: { requestsInFlightMax: options.cluster.requestsInFlightMax } }),
    ...(options.policies === undefined ? {} : { policies: options.policies }),
  });
}

async function stopToxiproxy(toxiproxy: LocatedToxiproxy, topology: LinkTopology): Promise<void> {
  // An external Toxiproxy (TOXIPROXY_URL) keeps running: remove this run's proxies from it.
  if (toxiproxy.kind === "external") await topology.remove();
  await toxiproxy.stop();
}
