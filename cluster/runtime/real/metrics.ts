// Prometheus metrics for one node (lesson 10, "monitoring for five nines"): what you cannot
// measure you cannot keep up. Every node has a registry of its own (never prom-client's global
// one), so several nodes can live in one process (tests) without mixing their numbers.
//
// Counters the HTTP layer sees are recorded as they happen; the node's and the store's own
// counters are read at scrape time, so a scrape always shows the current truth.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { StoreStats } from "../../storage/store.ts";

export type Operation = "get" | "put" | "delete" | "crdt-get" | "crdt-update";
export type Outcome =
  "ok" | "not_found" | "bad_request" | "unavailable" | "timeout" | "overload" | "error";

export interface NodeMetricsOptions {
  nodeId: string;
  /** The node's counters, read at scrape time. Numeric leaves become gauges. */
  nodeStats(): unknown;
  storeStats(): StoreStats;
}

/** Latency buckets from half a millisecond (a local read) to 10 s (a timeout). */
const latencyBucketsSeconds = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
];

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"operation" | "outcome">;
  private readonly latency: Histogram<"operation" | "outcome">;
  private readonly siblings: Histogram;

  constructor(options: NodeMetricsOptions) {
    const registry = this.registry;
    registry.setDefaultLabels({ node: options.nodeId });
    collectDefaultMetrics({ register: registry, prefix: "neverstop_process_" });
    this.requests = new Counter({
      name: "neverstop_requests_total",
      help: "Client requests answered, by operation and outcome.",
      labelNames: ["operation", "outcome"],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: "neverstop_request_duration_seconds",
      help: "Time from a client request's arrival to its answer, by operation and outcome.",
      labelNames: ["operation", "outcome"],
      buckets: latencyBucketsSeconds,
      registers: [registry],
    });
    this.siblings = new Histogram({
      name: "neverstop_get_siblings",
      help: "Siblings returned per successful get: more than one means concurrent writes.",
      buckets: [1, 2, 3, 4, 8, 16, 64],
      registers: [registry],
    });
    const storeGauge = (name: string, help: string, read: (stats: StoreStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(options.storeStats()));
        },
      });
    storeGauge(
      "neverstop_store_keys",
      "Live keys in the store's key directory.",
      (s) => s.keyCount,
    );
    storeGauge("neverstop_store_live_bytes", "Bytes of records still current.", (s) => s.liveBytes);
    storeGauge(
      "neverstop_store_total_bytes",
      "Bytes on disk, dead records included.",
      (s) => s.totalBytes,
    );
    storeGauge("neverstop_store_merges", "Completed merges (compactions).", (s) => s.mergeCount);
    new Gauge({
      name: "neverstop_node_stat",
      help: "The node's own counters (node.stats()), one series per counter: read repairs, siblings seen, requests by outcome.",
      labelNames: ["stat"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [stat, value] of numericLeaves(options.nodeStats())) this.set({ stat }, value);
      },
    });
  }

  observeRequest(operation: Operation, outcome: Outcome, seconds: number): void {
    this.requests.inc({ operation, outcome });
    this.latency.observe({ operation, outcome }, seconds);
  }

  observeSiblings(count: number): void {
    this.siblings.observe(count);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Flattens { requests: { get: { ok: 3 } } } into [["requests.get.ok", 3]]. Bounded depth. */
export function numericLeaves(value: unknown, prefix = "", depth = 0): [string, number][] {
  if (typeof value === "number" && Number.isFinite(value)) return [[prefix, value]];
  if (typeof value !== "object" || value === null || depth > 4) return [];
  const leaves: [string, number][] = [];
  for (const [name, child] of Object.entries(value)) {
    leaves.push(...numericLeaves(child, prefix === "" ? name : `${prefix}.${name}`, depth + 1));
  }
  return leaves;
}
