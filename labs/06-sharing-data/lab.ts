// Lab 06, sharing data (the grader). The learner picks N, R, W, PW and the bucket mode for
// three data types; each is then run on a simulated five-node cluster under the faults that
// type must survive, and judged by the checker that states its promise: the cart checker and
// the availability checker for the cart, the linearizability checker for the session (a blind
// write into its bucket), the counter checker for the counter. The checker output is the
// defence of the strategy.

import type { RunResult } from "../../chaos/harness/run-core.ts";
import type { RunOptionsInput } from "../../chaos/harness/run-options.ts";
import { workloads } from "../../chaos/harness/workloads/index.ts";
import {
  callLearner,
  defineLab,
  requireFunctions,
  type CheckOutcome,
  type CheckContext,
} from "../kit/lab.ts";
import { runFailure } from "../kit/evidence.ts";
import { memoized, simulateWith } from "../shared-b/simulate-with.ts";

export type DataType = "cart" | "session" | "counter";
export const dataTypes: DataType[] = ["cart", "session", "counter"];

export interface SharingStrategy {
  n: number;
  r: number;
  w: number;
  pw: number;
  mode: "causal" | "lww";
}

export interface SharingModule {
  sharingStrategy(dataType: DataType): SharingStrategy;
}

export const nodeCount = 5;
export const cartAvailabilityMin = 0.99;

/** The workload that stands for each data type. */
const workloadOf: Record<DataType, string> = {
  cart: "cart",
  session: "cache-register",
  counter: "counter",
};

/** The problem with a strategy, in the contract's words, or undefined. */
export function strategyProblem(dataType: DataType, strategy: unknown): string | undefined {
  const value = strategy as Partial<SharingStrategy> | null;
  if (typeof value !== "object" || value === null)
    return `sharingStrategy("${dataType}") returned ${String(strategy)}; expected { n, r, w, pw, mode }`;
  const integer = (name: keyof SharingStrategy, low: number, high: number) => {
    const field = value[name];
    return Number.isSafeInteger(field) && (field as number) >= low && (field as number) <= high
      ? undefined
      : `sharingStrategy("${dataType}").${name} is ${String(field)}; expected an integer from ${low} to ${high}`;
  };
  const n = value.n as number;
  return (
    integer("n", 1, nodeCount) ??
    integer("r", 1, n) ??
    integer("w", 1, n) ??
    integer("pw", 0, value.w as number) ??
    (value.mode === "causal" || value.mode === "lww"
      ? undefined
      : `sharingStrategy("${dataType}").mode is ${String(value.mode)}; expected "causal" or "lww"`)
  );
}

function strategyOf(module: SharingModule, dataType: DataType): SharingStrategy | string {
  const answer = callLearner("sharingStrategy", () => module.sharingStrategy(dataType));
  if (!answer.ok) return answer.message;
  return strategyProblem(dataType, answer.value) ?? answer.value;
}

/** The run each data type is judged on. */
function runInput(dataType: DataType, strategy: SharingStrategy, seed: number): RunOptionsInput {
  const workload = workloadOf[dataType];
  const { n, r, w, pw, mode } = strategy;
  const cluster = {
    nodes: nodeCount,
    n,
    r,
    w,
    pw,
    bucketModes: { [workloads[workload]!.bucket]: mode },
  };
  if (dataType === "session")
    return {
      workload,
      seed,
      timeMs: 15_000,
      cluster,
      client: { concurrency: 5 },
      nemesis: { faults: ["partition"], intervalMs: 5_000 },
      checkers: ["linearizable", "availability"],
    };
  return {
    workload,
    seed,
    timeMs: 10_000,
    cluster,
    client: { concurrency: 5 },
    nemesis: { faults: ["partition", "skew"], intervalMs: 5_000 },
    ...(dataType === "cart" ? { minimumAvailability: cartAvailabilityMin } : {}),
  };
}

type Runs = RunResult[] | string;

/** The runs of one data type (the session is judged on two seeds), once per module and seed. */
const runsOf: Record<DataType, (module: SharingModule, seed: number) => Runs> = {
  cart: memoized((module, seed) => runType(module, "cart", [seed])),
  session: memoized((module, seed) => runType(module, "session", [seed, seed + 1])),
  counter: memoized((module, seed) => runType(module, "counter", [seed])),
};

function runType(module: SharingModule, dataType: DataType, seeds: number[]): Runs {
  const strategy = strategyOf(module, dataType);
  if (typeof strategy === "string") return strategy;
  return seeds.map((seed) => simulateWith(runInput(dataType, strategy, seed), {}));
}

function describeStrategy(run: RunResult): string {
  const { n, r, w, pw } = run.options.cluster;
  const mode = Object.values(run.options.cluster.bucketModes)[0] ?? "causal";
  return `N=${n} R=${r} W=${w} PW=${pw} ${mode}, seed ${run.options.seed}`;
}

/** Judges the runs of `dataType` with `checker`; the first invalid run is the evidence. */
function judge(
  context: CheckContext<SharingModule>,
  dataType: DataType,
  checker: "cart" | "linearizable" | "counter" | "availability",
  property: string,
): CheckOutcome {
  context.note(`${dataType}: ${workloadOf[dataType]} on the simulator`);
  const runs = runsOf[dataType](context.module, context.seed);
  if (typeof runs === "string") return { ok: false, message: runs };
  for (const run of runs) {
    const result = run.results[checker]!;
    if (result.valid === true) continue;
    const reason =
      typeof result.reason === "string" ? result.reason : `verdict ${String(result.valid)}`;
    return runFailure(
      run,
      checker,
      `${dataType} (${describeStrategy(run)}): ${property}. The ${checker} checker: ${reason}`,
    );
  }
  return {
    ok: true,
    detail: runs.map((run) => `${describeStrategy(run)}: ${checker} valid`).join("; "),
  };
}

export const lab06 = defineLab<SharingModule>({
  id: "06",
  slug: "06-sharing-data",
  title: "Sharing data: a strategy per data type",
  learnerFile: "sharing-strategy.ts",
  talkSlide: "Sharing data (quorums, sloppy quorum, what R + W > N does not give you)",
  paperSection: "Dynamo 4.4 (data versioning), 4.5 (get and put), 4.6 (sloppy quorum)",
  validate: (module) => requireFunctions(module, ["sharingStrategy"]) as unknown as SharingModule,
  checks: [
    {
      id: "06a",
      title: "each strategy is a valid configuration (1 <= R, W <= N <= 5, 0 <= PW <= W)",
      needs: "pure",
      run: ({ module }) => {
        for (const dataType of dataTypes) {
          const strategy = strategyOf(module, dataType);
          if (typeof strategy === "string") return { ok: false, message: strategy };
        }
        return { ok: true };
      },
    },
    {
      id: "06b",
      title: "cart: no add is ever lost, under partitions and clock skew",
      needs: "cluster",
      run: (context) =>
        judge(context, "cart", "cart", "an acknowledged add is missing from the final cart"),
    },
    {
      id: "06c",
      title: `cart: adding to the cart stays available (${cartAvailabilityMin * 100}%) through partitions`,
      needs: "cluster",
      run: (context) =>
        judge(
          context,
          "cart",
          "availability",
          "customers could not add to their carts while the network was split",
        ),
    },
    {
      id: "06d",
      title: "session: a read never misses an acknowledged write, through partitions",
      needs: "cluster",
      run: (context) =>
        judge(
          context,
          "session",
          "linearizable",
          "a read returned something other than the latest acknowledged session",
        ),
    },
    {
      id: "06e",
      title: "counter: every read lies between the acknowledged and the possible increments",
      needs: "cluster",
      run: (context) =>
        judge(
          context,
          "counter",
          "counter",
          "a read missed acknowledged increments, or increments were lost",
        ),
    },
  ],
  mistakes: {
    "lww-cart.ts": { fails: "06b", why: "last-write-wins drops one of two concurrent adds" },
    "strict-cart.ts": { fails: "06c", why: "a strict quorum refuses adds on the minority side" },
    "sloppy-session.ts": {
      fails: "06d",
      why: "R + W > N with a sloppy quorum reads stale sessions",
    },
    "causal-session.ts": {
      fails: "06d",
      why: "blind writes become siblings: two sessions at once",
    },
    "fast-counter.ts": { fails: "06e", why: "R = W = 1 reads miss acknowledged increments" },
    "lww-counter.ts": { fails: "06e", why: "last-write-wins loses concurrent increments" },
  },
});
