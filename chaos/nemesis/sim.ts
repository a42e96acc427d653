// The simulator nemesis backend (lesson 3, "network splits", in virtual time): the same fault
// vocabulary as on real processes, applied to the deterministic simulator's link table and
// hosts. A cut link drops or refuses messages as a disabled or blackholed proxy would; latency
// becomes the link's latency distribution; flakiness becomes its loss rate; kill, pause and skew
// are the simulator's own crash, pause and clock offset. Every change is made before the
// returned promise exists, so a simulated run stays a pure function of its seed.
// No Node built-ins: runs in the browser too.

import type { NodeId } from "../../cluster/core/types.ts";
import { defaultLinkBehaviour, type LinkBehaviour } from "../../cluster/runtime/sim/network.ts";
import type { Simulation } from "../../cluster/runtime/sim/simulator.ts";
import type { DirectedLink } from "./partitions.ts";
import {
  parseDirectedLink,
  type LinkCutMode,
  type LinkToxic,
  type NemesisBackend,
} from "./nemesis.ts";

export class SimNemesisBackend implements NemesisBackend {
  readonly kind = "sim";
  readonly nodes: readonly NodeId[];
  /** What each link was like before a toxic changed it, so removing the toxic restores it. */
  private readonly before = new Map<string, LinkBehaviour>();

  constructor(private readonly simulation: Simulation) {
    this.nodes = simulation.config.nodes;
  }

  async cutLinks(links: readonly DirectedLink[], how: LinkCutMode): Promise<void> {
    for (const { from, to } of links) this.simulation.links.cut(from, to, how);
  }

  async healLinks(): Promise<void> {
    this.simulation.links.heal();
  }

  async addToxic(links: readonly string[], toxic: LinkToxic): Promise<void> {
    for (const name of links) {
      const { from, to } = parseDirectedLink(name);
      const table = this.simulation.links;
      if (!this.before.has(`${name}:${toxic.kind}`))
        this.before.set(`${name}:${toxic.kind}`, table.behaviour(from, to));
      table.setBehaviour(from, to, simulatedToxic(toxic));
    }
  }

  async removeToxic(links: readonly string[], kind: LinkToxic["kind"]): Promise<void> {
    for (const name of links) {
      const { from, to } = parseDirectedLink(name);
      const saved = this.before.get(`${name}:${kind}`);
      this.before.delete(`${name}:${kind}`);
      this.simulation.links.setBehaviour(from, to, saved ?? defaultLinkBehaviour);
    }
  }

  async kill(node: NodeId): Promise<void> {
    this.simulation.crash(node);
  }

  async restart(node: NodeId): Promise<void> {
    this.simulation.restart(node);
  }

  async pause(node: NodeId): Promise<void> {
    this.simulation.pause(node);
  }

  async resume(node: NodeId): Promise<void> {
    this.simulation.resume(node);
  }

  async skew(node: NodeId, offsetMs: number): Promise<void> {
    this.simulation.skewClock(node, offsetMs);
  }

  async reset(): Promise<void> {
    this.simulation.links.reset();
    this.before.clear();
    for (const node of this.nodes) {
      this.simulation.resume(node);
      this.simulation.skewClock(node, 0);
    }
  }
}

/**
 * A toxic in the simulator's terms. Latency and jitter become a uniform distribution over
 * [latency - jitter, latency + jitter]; a flaky link loses that share of its messages (the
 * simulator has messages, not connections). The simulator has no bandwidth model: a cap becomes
 * the time one 16 KB message takes at that rate, a fair stand-in for a busy link.
 */
export function simulatedToxic(toxic: LinkToxic): Partial<LinkBehaviour> {
  switch (toxic.kind) {
    case "latency":
      return {
        latency: {
          kind: "uniform",
          minMs: Math.max(0, toxic.latencyMs - toxic.jitterMs),
          maxMs: toxic.latencyMs + toxic.jitterMs,
        },
      };
    case "bandwidth": {
      const messageKb = 16;
      const ms = toxic.rateKbPerSecond === 0 ? 60_000 : (messageKb / toxic.rateKbPerSecond) * 1000;
      return { latency: { kind: "constant", ms: Math.min(ms, 60_000) } };
    }
    case "flaky":
      return { lossRate: toxic.toxicity };
  }
}
