// Lab 02, you do not locate state, you copy it (the grader; browser-safe). The learner writes
// the write and read quorum verdicts the coordinator asks after every reply. The pure checks
// walk every small tally (W, PW, N, acknowledgements, failures) against the rule; the cluster
// check plugs the verdicts into every node, crashes replicas while clients add to a set, and
// counts the acknowledged adds that the final read still holds.

import type { Operation } from "../../chaos/harness/history.ts";
import type { QuorumVerdict, ReadTally, WriteTally } from "../../cluster/core/policies.ts";
import { runFailure } from "../kit/evidence.ts";
import { callLearner, defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import { learnerPolicies } from "../kit/policies.ts";

export interface QuorumModule {
  writeQuorum(tally: WriteTally): QuorumVerdict;
  readQuorum(tally: ReadTally): QuorumVerdict;
}

/** Every write tally with W up to 3 and up to 5 targets; `pw` as asked. */
export function* writeTallies(pwValues: readonly number[]): Generator<WriteTally> {
  for (let w = 1; w <= 3; w += 1)
    for (let targetCount = w; targetCount <= 5; targetCount += 1)
      for (const pw of pwValues.filter((value) => value <= w))
        for (let acknowledged = 0; acknowledged <= targetCount; acknowledged += 1)
          for (let failed = 0; failed <= targetCount - acknowledged; failed += 1) {
            const pending = targetCount - acknowledged - failed;
            const primaries = Math.min(3, targetCount);
            for (
              let primariesAcknowledged = 0;
              primariesAcknowledged <= Math.min(acknowledged, primaries);
              primariesAcknowledged += 1
            ) {
              const primariesPending = Math.min(pending, primaries - primariesAcknowledged);
              yield {
                w,
                pw,
                targetCount,
                acknowledged,
                failed,
                primariesAcknowledged,
                primariesPending,
              };
            }
          }
}

/** The rule, as the lesson states it (the oracle the learner is compared with). */
export function expectedWrite(tally: WriteTally): QuorumVerdict["kind"] {
  const possible = tally.targetCount - tally.acknowledged - tally.failed;
  if (tally.primariesAcknowledged + tally.primariesPending < tally.pw) return "unavailable";
  if (tally.acknowledged >= tally.w && tally.primariesAcknowledged >= tally.pw) return "ok";
  if (tally.acknowledged + possible < tally.w) return "unavailable";
  return "pending";
}

export function expectedRead(tally: ReadTally): QuorumVerdict["kind"] {
  if (tally.answered >= tally.r) return "ok";
  return tally.answered + (tally.replicaCount - tally.answered - tally.failed) < tally.r
    ? "unavailable"
    : "pending";
}

/** The first tally where the learner's verdict differs from the rule, as a failure. `agree`
 * compares kinds (02a only asks whether both say ok). */
function firstDisagreement<Tally>(
  name: string,
  tallies: Iterable<Tally>,
  verdict: (tally: Tally) => QuorumVerdict,
  expected: (tally: Tally) => QuorumVerdict["kind"],
  agree: (got: unknown, want: QuorumVerdict["kind"]) => boolean,
  explain: (tally: Tally, got: string, want: string) => string,
): CheckOutcome {
  let count = 0;
  for (const tally of tallies) {
    count += 1;
    const answer = callLearner(name, () => verdict(tally));
    const got = answer.ok ? (answer.value as { kind?: unknown } | null)?.kind : undefined;
    const want = expected(tally);
    if (answer.ok && agree(got, want)) continue;
    const history: Operation[] = [
      { index: 0, time: 0, process: 0, type: "invoke", f: name, value: tally },
      answer.ok
        ? { index: 1, time: 1, process: 0, type: "ok", f: name, value: answer.value ?? null }
        : { index: 1, time: 1, process: 0, type: "fail", f: name, value: answer.message },
    ];
    return {
      ok: false,
      message: answer.ok ? explain(tally, String(got), want) : answer.message,
      history,
    };
  }
  return { ok: true, detail: `${count} tallies` };
}

const sameKind = (got: unknown, want: string) => got === want;
const bothOkOrNot = (got: unknown, want: string) => (got === "ok") === (want === "ok");

const describeWrite = (tally: WriteTally) =>
  `W=${tally.w}${tally.pw > 0 ? ` PW=${tally.pw}` : ""}, ${tally.acknowledged} of ${tally.targetCount} acknowledged (${tally.primariesAcknowledged} by primaries, ${tally.primariesPending} primaries pending), ${tally.failed} failed`;

const describeRead = (tally: ReadTally) =>
  `R=${tally.r}, ${tally.answered} of ${tally.replicaCount} answered, ${tally.failed} failed`;

export function* readTallies(): Generator<ReadTally> {
  for (let r = 1; r <= 3; r += 1)
    for (let replicaCount = r; replicaCount <= 5; replicaCount += 1)
      for (let answered = 0; answered <= replicaCount; answered += 1)
        for (let failed = 0; failed <= replicaCount - answered; failed += 1)
          yield { r, replicaCount, answered, failed };
}

export const lab02 = defineLab<QuorumModule>({
  id: "02",
  slug: "02-you-copy-state",
  title: "You do not locate state, you copy it: quorum verdicts",
  learnerFile: "quorum.ts",
  talkSlide: "You don't locate state, you copy it (replicate data to N nodes)",
  paperSection: "Dynamo 4.5 (execution of get() and put(): R, W, N) and 4.6 (sloppy quorum, PW)",
  validate: (module) =>
    requireFunctions(module, ["writeQuorum", "readQuorum"]) as unknown as QuorumModule,
  checks: [
    {
      id: "02a",
      title: "a write is acknowledged once, and only once, W replicas stored it",
      needs: "pure",
      run: ({ module }) =>
        firstDisagreement(
          "writeQuorum",
          writeTallies([0]),
          (tally) => module.writeQuorum(tally),
          expectedWrite,
          bothOkOrNot,
          (tally, got, want) =>
            want === "ok"
              ? `${describeWrite(tally)}: W is reached, yet the verdict is ${got}`
              : `${describeWrite(tally)}: the verdict is ok, but only ${tally.acknowledged} replica(s) stored the write`,
        ),
    },
    {
      id: "02b",
      title: "a write that can no longer reach W fails at once (503, not a timeout)",
      needs: "pure",
      run: ({ module }) =>
        firstDisagreement(
          "writeQuorum",
          writeTallies([0]),
          (tally) => module.writeQuorum(tally),
          expectedWrite,
          sameKind,
          (tally, got, want) =>
            `${describeWrite(tally)}: expected ${want}, got ${got}${want === "unavailable" ? ": no replica left can bring it to W" : ""}`,
        ),
    },
    {
      id: "02c",
      title: "PW primaries must acknowledge a strict-quorum write",
      needs: "pure",
      run: ({ module }) =>
        firstDisagreement(
          "writeQuorum",
          writeTallies([1, 2, 3]),
          (tally) => module.writeQuorum(tally),
          expectedWrite,
          sameKind,
          (tally, got, want) => `${describeWrite(tally)}: expected ${want}, got ${got}`,
        ),
    },
    {
      id: "02d",
      title: "a read answers after R replies, and gives up when R is out of reach",
      needs: "pure",
      run: ({ module }) =>
        firstDisagreement(
          "readQuorum",
          readTallies(),
          (tally) => module.readQuorum(tally),
          expectedRead,
          sameKind,
          (tally, got, want) => `${describeRead(tally)}: expected ${want}, got ${got}`,
        ),
    },
    {
      id: "02e",
      title: "replicas crash, and every acknowledged write is still there",
      needs: "cluster",
      run: async ({ module, seed, learnerFile, runCluster }) => {
        const policies = learnerPolicies(
          { writeQuorum: module.writeQuorum, readQuorum: module.readQuorum },
          learnerFile,
          { writeQuorum: "writeQuorum", readQuorum: "readQuorum" },
        );
        const run = await runCluster(
          {
            workload: "set",
            seed,
            timeMs: 10_000,
            cluster: { n: 3, r: 2, w: 2, sync: "always" },
            client: { concurrency: 5 },
            nemesis: { faults: ["crash"], intervalMs: 3_000, durationMs: 1_500 },
          },
          policies,
        );
        const set = run.results.set;
        const acknowledged = run.history.filter(
          (operation) => operation.type === "ok" && operation.f === "add",
        ).length;
        if (set?.valid !== true)
          return runFailure(
            run,
            "set",
            `the set checker says ${String(set?.valid)}: ${String(set?.reason)}`,
          );
        if (acknowledged === 0)
          return {
            ok: false,
            message: "no add was acknowledged at all: a verdict that never says ok keeps nothing",
            run,
          };
        return { ok: true, detail: `${acknowledged} acknowledged adds, all in the final read` };
      },
    },
  ],
  mistakes: {
    "counts-failures-as-acks.ts": { fails: "02a", why: "a failed replica is counted as a vote" },
    "waits-for-timeout.ts": { fails: "02b", why: "a hopeless write waits for the timeout" },
    "ignores-pw.ts": { fails: "02c", why: "fallbacks satisfy a strict quorum" },
    "read-first-answer.ts": { fails: "02d", why: "the read answers with the first reply" },
  },
});
