// Small helpers for tests that drive a Simulation directly (lesson 1): a default cluster
// config, a client that runs its requests one after another, and the replay line a failing
// seeded test prints. Browser-safe, no Node built-ins.

import type { ClientRequest, ClusterConfig } from "../../core/types.ts";
import type { ClientOutcome, Simulation } from "./simulator.ts";

export function clusterConfig(
  nodeCount: number,
  overrides: Partial<ClusterConfig> = {},
): ClusterConfig {
  return {
    nodes: Array.from({ length: nodeCount }, (_, index) => `n${index + 1}`),
    partitionCount: 64,
    defaults: {
      n: Math.min(3, nodeCount),
      r: Math.min(2, nodeCount),
      w: Math.min(2, nodeCount),
      timeoutMs: 1_000,
    },
    bucketModes: {},
    ...overrides,
  };
}

export interface Exchange {
  startMs: number;
  endMs: number;
  node: string;
  request: ClientRequest;
  outcome: ClientOutcome;
}

/**
 * A client that sends `requests` (built lazily, so a request can depend on earlier answers)
 * one after another to `pickNode()`, starting at `startMs`, and records every exchange.
 */
export function sequentialClient(
  sim: Simulation,
  options: {
    startMs: number;
    pickNode: () => string;
    next: (previous: Exchange | undefined) => ClientRequest | undefined;
    clientTimeoutMs?: number;
    thinkMs?: number;
  },
): Exchange[] {
  const exchanges: Exchange[] = [];
  const step = (previous: Exchange | undefined) => {
    const request = options.next(previous);
    if (request === undefined) return;
    const node = options.pickNode();
    const startMs = sim.now;
    sim.request(node, request, options.clientTimeoutMs ?? 2_000, (outcome) => {
      const exchange = { startMs, endMs: sim.now, node, request, outcome };
      exchanges.push(exchange);
      sim.after(options.thinkMs ?? 1, () => step(exchange));
    });
  };
  sim.at(options.startMs, () => step(undefined));
  return exchanges;
}

/** The line a failing seeded test prints so anyone can replay exactly that run. */
export function replayLine(testFile: string, seed: number | string): string {
  return `replay with: NEVERSTOP_SEED=${seed} npx vitest run ${testFile}`;
}

/** Seeds to run: NEVERSTOP_SEED pins one (for replay), else `count` seeds from 1. */
export function seeds(count: number, pinned: string | undefined): number[] {
  if (pinned !== undefined && pinned !== "") return [Number(pinned)];
  return Array.from({ length: count }, (_, index) => index + 1);
}
