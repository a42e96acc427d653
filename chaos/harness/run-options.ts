// A test run's options (lesson 5, systems that never stop; every lab): what to run, against
// what, under which faults, judged by which checkers, from which seed. Defaults fill in what a
// caller leaves out, every value is checked at this boundary with one message form, and the
// exact command that replays a run comes from the same options.
// No Node built-ins: this file runs in the browser too.

import type { BucketMode, ClusterConfig } from "../../cluster/core/types.ts";
import { validateClusterConfig } from "../../cluster/core/validate.ts";
import { syncPolicyNames, type SyncPolicy } from "../../cluster/storage/store.ts";
import { checkerNames, type CheckerName } from "./checks.ts";
import { retryStrategies, type RetryStrategy } from "./client.ts";
import { formatDuration } from "./duration.ts";
import { faultNames, type FaultName, type ScheduledFault } from "./faults.ts";
import { formatSchedule } from "./fault-schedule.ts";
import { concurrencyMax, ratePerSecondMax } from "./generator.ts";
import { workloadNames, workloads } from "./workloads/index.ts";

export const backendNames = ["sim", "local", "docker"] as const;
export type BackendName = (typeof backendNames)[number];
export type SyncPolicyName = (typeof syncPolicyNames)[number];

export interface RunOptions {
  /** The test's name: the folder under store/. Default: the workload's name. */
  name: string;
  cluster: {
    nodes: number;
    n: number;
    r: number;
    w: number;
    /** Riak's PW on every put: acknowledgements that must come from primaries (strict quorum,
     * lesson 6). 0 is Dynamo's sloppy quorum. */
    pw: number;
    partitionCount: number;
    sync: SyncPolicyName;
    bucketModes: Record<string, BucketMode>;
    /** The nodes' own request time bound (their 504). */
    requestTimeoutMs: number;
    /** Client requests a node coordinates at once before it sheds load (lesson 9). Unset:
     * the node's default (node.ts's defaultTiming). */
    requestsInFlightMax?: number | undefined;
  };
  workload: string;
  client: {
    concurrency: number;
    ratePerSecond: number;
    retry: RetryStrategy;
    /** How long a client waits for one answer; longer than the nodes' bound. */
    requestTimeoutMs: number;
    keyCount: number;
  };
  nemesis: {
    faults: FaultName[];
    intervalMs: number;
    durationMs: number;
    /** Faults at fixed times, added to the drawn ones (`--schedule`). */
    schedule?: ScheduledFault[];
  };
  checkers: CheckerName[];
  seed: number;
  /** How long clients run; faults stop by then; final reads follow. */
  timeMs: number;
  backend: BackendName;
  /** Record the simulator's message trace (trace.json). */
  trace: boolean;
  linearizableTimeoutMs: number;
  /** The availability checker's target, 0 to 1 (lesson 10): below it the run fails. Unset:
   * availability is measured, never judged. */
  minimumAvailability?: number | undefined;
  /** A policies module (cluster/core/policies.ts) every node loads, as a path; undefined: the
   * reference policies. The simulator gets the loaded module through SimulatedRun's runtime. */
  policies?: string | undefined;
}

/** Every property optional, and `undefined` means "the default" (flags a user left out). */
type Loose<T> = { [Key in keyof T]?: T[Key] | undefined };

/** What a caller gives: the workload, and any option it wants to differ from the defaults. */
export type RunOptionsInput = { workload: string } & Loose<
  Omit<RunOptions, "cluster" | "client" | "nemesis" | "workload">
> & {
    cluster?: Loose<RunOptions["cluster"]>;
    client?: Loose<RunOptions["client"]>;
    nemesis?: Loose<RunOptions["nemesis"]>;
  };

/** Bad input: the message is one line for the user (the CLI exits 3 with it). */
export class RunOptionsError extends Error {
  override name = "RunOptionsError";
}

export const nodeCountMax = 16;
export const timeMsMax = 24 * 3_600_000;
export const keyCountMax = 1_000;

export function defaultRunOptions(workload: string): RunOptions {
  return {
    name: workload,
    cluster: {
      nodes: 5,
      n: 3,
      r: 2,
      w: 2,
      pw: 0,
      partitionCount: 64,
      sync: "always",
      bucketModes: bucketModesOf(workload),
      requestTimeoutMs: 1_000,
    },
    workload,
    client: {
      concurrency: 10,
      ratePerSecond: 10,
      retry: "none",
      requestTimeoutMs: 1_500,
      keyCount: 3,
    },
    nemesis: { faults: [], intervalMs: 10_000, durationMs: 5_000 },
    checkers: [...(workloads[workload]?.checkers ?? [])],
    seed: 1,
    timeMs: 30_000,
    backend: "sim",
    trace: true,
    linearizableTimeoutMs: 30_000,
  };
}

/** A workload's own bucket mode (cache-register's lww), as the default bucket modes. */
function bucketModesOf(workload: string): Record<string, BucketMode> {
  const known = workloads[workload];
  return known?.bucketMode === undefined ? {} : { [known.bucket]: known.bucketMode };
}

/** Fills in defaults and checks everything; throws RunOptionsError with one line. */
export function resolveRunOptions(input: RunOptionsInput): RunOptions {
  if (workloads[input.workload] === undefined) {
    throw new RunOptionsError(
      `Expected a workload among ${workloadNames.join(", ")}, got ${JSON.stringify(input.workload)}`,
    );
  }
  const defaults = defaultRunOptions(input.workload);
  // Small clusters: N, R and W default to what fits (N = min(3, nodes), R = W = min(2, N)).
  const nodeCount = input.cluster?.nodes ?? defaults.cluster.nodes;
  if (Number.isSafeInteger(nodeCount) && nodeCount >= 1) {
    defaults.cluster.n = Math.min(defaults.cluster.n, input.cluster?.n ?? nodeCount);
    defaults.cluster.r = Math.min(defaults.cluster.r, input.cluster?.n ?? defaults.cluster.n);
    defaults.cluster.w = Math.min(defaults.cluster.w, input.cluster?.n ?? defaults.cluster.n);
  }
  const options: RunOptions = {
    ...defaults,
    ...withoutUndefined(input),
    cluster: { ...defaults.cluster, ...withoutUndefined(input.cluster ?? {}) },
    client: { ...defaults.client, ...withoutUndefined(input.client ?? {}) },
    nemesis: { ...defaults.nemesis, ...withoutUndefined(input.nemesis ?? {}) },
  };
  // A run asked to meet an availability target is judged by the availability checker.
  if (options.minimumAvailability !== undefined && !options.checkers.includes("availability"))
    options.checkers = [...options.checkers, "availability"];
  if (
    input.nemesis?.durationMs === undefined &&
    options.nemesis.durationMs >= options.nemesis.intervalMs
  ) {
    options.nemesis.durationMs = Math.max(1, Math.floor(options.nemesis.intervalMs / 2));
  }
  try {
    validateRunOptions(options);
  } catch (error) {
    if (error instanceof RangeError) throw new RunOptionsError(error.message);
    throw error;
  }
  return options;
}

function withoutUndefined<T extends object>(value: Loose<T>): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>;
}

function integerIn(name: string, value: number, low: number, high: number): void {
  if (!Number.isSafeInteger(value) || value < low || value > high) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${low} to ${high}, got ${String(value)}`,
    );
  }
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): void {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new RangeError(
      `Expected \`${name}\` to be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
}

export function validateRunOptions(options: RunOptions): void {
  const { cluster, client, nemesis } = options;
  integerIn("nodes", cluster.nodes, 1, nodeCountMax);
  validateClusterConfig(clusterConfig(options)); // N, R, W in the core's own words
  integerIn("pw", cluster.pw, 0, cluster.w); // the core refuses PW above W per request
  const minimum = options.minimumAvailability;
  if (minimum !== undefined && !(typeof minimum === "number" && minimum >= 0 && minimum <= 1)) {
    throw new RangeError(
      `Expected \`minimumAvailability\` to be a number from 0 to 1, got ${String(minimum)}`,
    );
  }
  integerIn("seed", options.seed, 0, Number.MAX_SAFE_INTEGER);
  integerIn("time", options.timeMs, 1, timeMsMax);
  oneOf("sync", cluster.sync, syncPolicyNames);
  oneOf("backend", options.backend, backendNames);
  integerIn("concurrency", client.concurrency, 1, concurrencyMax);
  if (!(client.ratePerSecond > 0 && client.ratePerSecond <= ratePerSecondMax)) {
    throw new RangeError(
      `Expected \`rate\` to be a number above 0 and at most ${ratePerSecondMax}, got ${client.ratePerSecond}`,
    );
  }
  oneOf("retry", client.retry, retryStrategies);
  integerIn("client timeout", client.requestTimeoutMs, 1, 600_000);
  integerIn("keys", client.keyCount, 1, keyCountMax);
  for (const fault of nemesis.faults) oneOf("faults", fault, faultNames);
  if (cluster.requestsInFlightMax !== undefined)
    integerIn("in-flight-max", cluster.requestsInFlightMax, 1, 100_000);
  for (const fault of ["partition", "leave", "flaky", "slow"] as const) {
    if (nemesis.faults.includes(fault) && cluster.nodes < 2) {
      throw new RangeError(`Expected at least 2 \`nodes\` for the ${fault} fault`);
    }
  }
  if (nemesis.faults.includes("join") && cluster.nodes + 1 > nodeCountMax) {
    throw new RangeError(
      `Expected at most ${nodeCountMax - 1} \`nodes\` for the join fault (it adds a spare)`,
    );
  }
  integerIn("interval", nemesis.intervalMs, 1, timeMsMax);
  integerIn("fault duration", nemesis.durationMs, 1, nemesis.intervalMs);
  for (const checker of options.checkers) oneOf("checkers", checker, checkerNames);
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(options.name)) {
    throw new RangeError(
      `Expected \`name\` to be 1 to 100 letters, digits, dots, dashes or underscores, got ${JSON.stringify(options.name)}`,
    );
  }
}

export function nodeIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `n${index + 1}`);
}

export function clusterConfig(options: RunOptions): ClusterConfig {
  const { cluster } = options;
  return {
    nodes: nodeIds(cluster.nodes),
    partitionCount: cluster.partitionCount,
    defaults: { n: cluster.n, r: cluster.r, w: cluster.w, timeoutMs: cluster.requestTimeoutMs },
    bucketModes: cluster.bucketModes,
    ...(cluster.requestsInFlightMax === undefined
      ? {}
      : { timing: { requestsInFlightMax: cluster.requestsInFlightMax } }),
  };
}

export function syncPolicy(name: SyncPolicyName): SyncPolicy {
  return name === "interval" ? { kind: "interval", intervalMs: 1_000 } : { kind: name };
}

/** The exact command that runs these options again (the replay line a failure prints). */
export function replayCommand(options: RunOptions): string {
  const { cluster, client, nemesis } = options;
  const defaults = defaultRunOptions(options.workload);
  // A run with no checkers is what `neverstop sim` makes; it replays the same way.
  const simOnly = options.checkers.length === 0 && options.backend === "sim";
  const parts = [
    simOnly
      ? `npx neverstop sim --workload ${options.workload}`
      : `npx neverstop test ${options.workload}`,
    ...(simOnly ? [] : [`--backend ${options.backend}`]),
    `--seed ${options.seed}`,
    `--time ${formatDuration(options.timeMs)}`,
    `--nodes ${cluster.nodes} --n ${cluster.n} --r ${cluster.r} --w ${cluster.w}`,
    `--sync ${cluster.sync}`,
  ];
  if (cluster.pw > 0) parts.push(`--pw ${cluster.pw}`);
  if (cluster.requestsInFlightMax !== undefined)
    parts.push(`--in-flight-max ${cluster.requestsInFlightMax}`);
  if (options.minimumAvailability !== undefined)
    parts.push(`--min-availability ${options.minimumAvailability}`);
  if (nemesis.faults.length > 0) {
    parts.push(`--faults ${nemesis.faults.join(",")}`);
    parts.push(
      `--interval ${formatDuration(nemesis.intervalMs)} --fault-duration ${formatDuration(nemesis.durationMs)}`,
    );
  }
  if (nemesis.schedule !== undefined && nemesis.schedule.length > 0)
    parts.push(`--schedule '${formatSchedule(nemesis.schedule)}'`);
  if (client.concurrency !== defaults.client.concurrency)
    parts.push(`--concurrency ${client.concurrency}`);
  if (client.ratePerSecond !== defaults.client.ratePerSecond)
    parts.push(`--rate ${client.ratePerSecond}`);
  if (client.retry !== defaults.client.retry) parts.push(`--retry ${client.retry}`);
  if (client.keyCount !== defaults.client.keyCount) parts.push(`--keys ${client.keyCount}`);
  if (cluster.partitionCount !== defaults.cluster.partitionCount)
    parts.push(`--partitions ${cluster.partitionCount}`);
  if (!simOnly && options.checkers.join(",") !== defaults.checkers.join(","))
    parts.push(`--checkers ${options.checkers.join(",")}`);
  if (options.name !== defaults.name) parts.push(`--name ${options.name}`);
  if (options.policies !== undefined) parts.push(`--policies ${options.policies}`);
  return parts.join(" ");
}
