// The convergence checker (lesson 5, systems that never stop; lesson 6, sharing data): after the
// network heals, do the replicas of every key agree again, and how long does it take? Input is a
// series of snapshots of each replica's value, taken by the harness (or the simulator) over
// time. Eventual consistency promises exactly this and nothing more. No Node built-ins: it runs
// in the browser too.

import { canonicalJson } from "./history-view.ts";
import type { Validity } from "./history-view.ts";

/** One observation: at `timeNs`, `node` held `value` for `key` (any JSON; null when absent). */
export interface ReplicaSample {
  timeNs: number;
  node: string;
  key: string;
  value: unknown;
}

export interface ConvergenceCheckOptions {
  /** When the last fault was healed, in ns since the test started. */
  healedAtNs: number;
}

export type KeyConvergenceStatus = "converged" | "divergent" | "unobserved";

export interface KeyConvergence {
  key: string;
  status: KeyConvergenceStatus;
  /** From which sample time on every replica held the same value (converged keys only). */
  convergedAtNs?: number;
  /** convergedAtNs - healedAtNs: 0 when the replicas already agreed at the heal. */
  timeToConvergeNs?: number;
  /** Every replica's last value, for divergent keys: the evidence. */
  finalValues?: { node: string; value: unknown }[];
  /** Replicas never sampled at or after the heal (status "unobserved"). */
  unobservedNodes?: string[];
}

export interface ConvergenceCheckResult {
  valid: Validity;
  reason: string;
  healedAtNs: number;
  keyCount: number;
  convergedKeyCount: number;
  divergentKeyCount: number;
  unobservedKeyCount: number;
  maxTimeToConvergeNs?: number;
  /** Divergent keys first, then unobserved, then converged; at most 1000. */
  keys: KeyConvergence[];
}

export const sampleCountMax = 10_000_000;
const keysReportedMax = 1000;

/**
 * Checks that, after the last heal, the replicas of every key reach one value and keep it.
 *
 * A replica's value at time t is its latest sample at or before t; values are compared as
 * canonical JSON (object keys sorted; arrays keep their order, so sibling lists must be sorted by
 * whoever samples them). The replicas of a key are the nodes that have a sample of it. A key
 * converged at the first sample time T >= healedAtNs from which all its replicas agree at every
 * later sample time; the time to converge is T - healedAtNs. A key whose replicas still disagree
 * at the last sample is divergent: invalid. A key with a replica never sampled at or after the
 * heal is unobserved (unknown: a stale snapshot proves nothing), unless the replicas that were
 * sampled after the heal already disagree among themselves.
 *
 * Worked example, heal at 10 s, key "x": n1 = 1 at 9 s, n2 = 2 at 9 s, n1 = 2 at 11 s, n2 = 2 at
 * 11 s, n1 = 2 and n2 = 2 at 12 s: converged at 11 s, time to converge 1 s. Had n2 held 3 at
 * 12 s, "x" would be divergent with final values n1 = 2, n2 = 3.
 */
export function checkConvergence(
  samples: readonly ReplicaSample[],
  options: ConvergenceCheckOptions,
): ConvergenceCheckResult {
  const healedAtNs = options.healedAtNs;
  if (!(Number.isFinite(healedAtNs) && healedAtNs >= 0)) {
    throw new Error(`Expected \`healedAtNs\` to be a time in ns of 0 or more, got ${healedAtNs}`);
  }
  if (samples.length > sampleCountMax) {
    throw new Error(`Expected at most ${sampleCountMax} samples, got ${samples.length}`);
  }
  const byKey = new Map<string, ReplicaSample[]>();
  for (const [position, sample] of samples.entries()) {
    assertSample(sample, position);
    const list = byKey.get(sample.key) ?? [];
    list.push(sample);
    byKey.set(sample.key, list);
  }
  const keys = [...byKey.keys()].sort().map((key) => checkKey(key, byKey.get(key)!, healedAtNs));
  const count = (status: KeyConvergenceStatus): number =>
    keys.filter((entry) => entry.status === status).length;
  const result: ConvergenceCheckResult = {
    valid: true,
    reason: "",
    healedAtNs,
    keyCount: keys.length,
    convergedKeyCount: count("converged"),
    divergentKeyCount: count("divergent"),
    unobservedKeyCount: count("unobserved"),
    keys: orderForReport(keys),
  };
  const times = keys.flatMap((entry) => entry.timeToConvergeNs ?? []);
  if (times.length > 0) result.maxTimeToConvergeNs = times.reduce((a, b) => Math.max(a, b));
  if (result.divergentKeyCount > 0) {
    result.valid = false;
    result.reason = `${result.divergentKeyCount} key(s) still differ between replicas at the last sample after the heal.`;
  } else if (result.unobservedKeyCount > 0 || keys.length === 0) {
    result.valid = "unknown";
    result.reason =
      keys.length === 0
        ? "No samples: convergence cannot be judged."
        : `${result.unobservedKeyCount} key(s) have replicas never sampled after the heal.`;
  } else {
    result.reason = `All ${keys.length} key(s) converged after the heal.`;
  }
  return result;
}

function assertSample(sample: ReplicaSample, position: number): void {
  if (!(Number.isFinite(sample.timeNs) && sample.timeNs >= 0)) {
    throw new Error(
      `Expected sample ${position} to have a timeNs of 0 or more, got ${sample.timeNs}`,
    );
  }
  if (typeof sample.node !== "string" || typeof sample.key !== "string") {
    throw new Error(`Expected sample ${position} to have a string node and key`);
  }
}

function checkKey(key: string, samples: ReplicaSample[], healedAtNs: number): KeyConvergence {
  const sorted = [...samples].sort((a, b) => a.timeNs - b.timeNs);
  const replicas = new Set(sorted.map((sample) => sample.node));
  const current = new Map<string, string>();
  const latest = new Map<string, unknown>();
  const observedAfterHeal = new Set<string>();
  let convergedAtNs: number | undefined;
  let position = 0;
  const apply = (sample: ReplicaSample): void => {
    current.set(sample.node, canonicalJson(sample.value));
    latest.set(sample.node, sample.value);
    if (sample.timeNs >= healedAtNs) observedAfterHeal.add(sample.node);
  };
  const agree = (): boolean =>
    current.size === replicas.size && new Set(current.values()).size === 1;
  // The state at the heal itself, from samples taken before it.
  while (position < sorted.length && sorted[position]!.timeNs < healedAtNs)
    apply(sorted[position++]!);
  if (agree()) convergedAtNs = healedAtNs;
  while (position < sorted.length) {
    const timeNs = sorted[position]!.timeNs;
    while (position < sorted.length && sorted[position]!.timeNs === timeNs)
      apply(sorted[position++]!);
    if (!agree()) convergedAtNs = undefined;
    else convergedAtNs ??= timeNs;
  }
  const unobserved = [...replicas].filter((node) => !observedAfterHeal.has(node)).sort();
  // Replicas sampled after the heal that still disagree at the end prove divergence on their own;
  // a replica only sampled before the heal proves nothing.
  const freshValues = new Set([...observedAfterHeal].map((node) => current.get(node)));
  if (convergedAtNs === undefined && (unobserved.length === 0 || freshValues.size > 1)) {
    const finalValues = [...latest.keys()]
      .sort()
      .map((node) => ({ node, value: latest.get(node) }));
    return { key, status: "divergent", finalValues };
  }
  if (unobserved.length > 0 || convergedAtNs === undefined) {
    return { key, status: "unobserved", unobservedNodes: unobserved };
  }
  return { key, status: "converged", convergedAtNs, timeToConvergeNs: convergedAtNs - healedAtNs };
}

function orderForReport(keys: readonly KeyConvergence[]): KeyConvergence[] {
  const rank: Record<KeyConvergenceStatus, number> = { divergent: 0, unobserved: 1, converged: 2 };
  return [...keys].sort((a, b) => rank[a.status] - rank[b.status]).slice(0, keysReportedMax);
}
