// The simulated network (lesson 3, "network splits"): one directed link per pair of endpoints,
// named as the real Toxiproxy proxies are (`n1->n2`, `client->n3`), each with a latency
// distribution, loss, duplication and reordering rates, and a state that can cut it.
// A cut link either drops silently (a blackhole: Toxiproxy's timeout toxic with 0) or refuses
// (a disabled proxy: the sender learns at once that the message did not leave).

import type { Random } from "./random.ts";

export type LatencyDistribution =
  | { kind: "constant"; ms: number }
  | { kind: "uniform"; minMs: number; maxMs: number }
  | { kind: "exponential"; meanMs: number; minMs: number };

export interface LinkBehaviour {
  latency: LatencyDistribution;
  /** Probability that a message is silently lost. */
  lossRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** Probability that a message is held back long enough to overtake later ones. */
  reorderRate: number;
}

export type LinkCut = "drop" | "refuse";

export const defaultLinkBehaviour: LinkBehaviour = {
  latency: { kind: "exponential", meanMs: 1, minMs: 0.2 },
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
};

export function linkName(from: string, to: string): string {
  return `${from}->${to}`;
}

export function validateLinkBehaviour(behaviour: LinkBehaviour): void {
  for (const [name, rate] of [
    ["lossRate", behaviour.lossRate],
    ["duplicateRate", behaviour.duplicateRate],
    ["reorderRate", behaviour.reorderRate],
  ] as const) {
    if (!(rate >= 0 && rate <= 1)) {
      throw new RangeError(`Expected \`${name}\` to be a number from 0 to 1, got ${rate}`);
    }
  }
  const latency = behaviour.latency;
  const values =
    latency.kind === "constant"
      ? [latency.ms]
      : latency.kind === "uniform"
        ? [latency.minMs, latency.maxMs]
        : [latency.meanMs, latency.minMs];
  if (!values.every((value) => Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`Expected latencies of at least 0 ms, got ${JSON.stringify(latency)}`);
  }
}

export class LinkTable {
  private readonly behaviours = new Map<string, LinkBehaviour>();
  private readonly cuts = new Map<string, LinkCut>();
  defaultBehaviour: LinkBehaviour;

  constructor(defaultBehaviour: LinkBehaviour = defaultLinkBehaviour) {
    validateLinkBehaviour(defaultBehaviour);
    this.defaultBehaviour = defaultBehaviour;
  }

  behaviour(from: string, to: string): LinkBehaviour {
    // Every message asks: skip building the link's name while no link has its own behaviour.
    if (this.behaviours.size === 0) return this.defaultBehaviour;
    return this.behaviours.get(linkName(from, to)) ?? this.defaultBehaviour;
  }

  setBehaviour(from: string, to: string, behaviour: Partial<LinkBehaviour>): void {
    const merged = { ...this.behaviour(from, to), ...behaviour };
    validateLinkBehaviour(merged);
    this.behaviours.set(linkName(from, to), merged);
  }

  cut(from: string, to: string, how: LinkCut = "drop"): void {
    this.cuts.set(linkName(from, to), how);
  }

  cutOf(from: string, to: string): LinkCut | undefined {
    if (this.cuts.size === 0) return undefined; // the common case: no link is cut
    return this.cuts.get(linkName(from, to));
  }

  /** Restores every cut link (behaviours such as latency stay until `reset`). */
  heal(): void {
    this.cuts.clear();
  }

  reset(): void {
    this.cuts.clear();
    this.behaviours.clear();
  }

  cutLinks(): string[] {
    return [...this.cuts.keys()].sort();
  }

  /** One delay draw for a message on this link. */
  sampleLatency(from: string, to: string, random: Random): number {
    const behaviour = this.behaviour(from, to);
    const latency = behaviour.latency;
    let delay =
      latency.kind === "constant"
        ? latency.ms
        : latency.kind === "uniform"
          ? latency.minMs + random.next() * (latency.maxMs - latency.minMs)
          : latency.minMs + random.exponential(latency.meanMs);
    if (random.chance(behaviour.reorderRate)) delay += random.exponential(10 * (delay + 1));
    return delay;
  }
}
