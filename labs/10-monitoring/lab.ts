// Lab 10, monitoring and preemptive support (the grader). The learner writes the alarm rules
// every node runs each heartbeat round (cluster/core/policies.ts's `alarmRules`). The pure
// checks ask them about a healthy node and about the contract's shape; the cluster checks run
// a scripted incident on a simulated five-node cluster and read every node's alarms (what
// GET /alarms shows) once a second, against the availability SLA measured from the history:
//
//   0 s ........ 3 s ............... 9 s ............... 13 s ............ 18 s
//   calm         n1 crashes           n2 crashes too      both restart     calm again
//   no alarm     (clients retry       the SLA breaks:      (alarms must      (and quiet)
//                elsewhere: 100%)     reads lose R = 2     clear by 16 s)
//
// An alarm must be raised after 3 s and before the first second below the SLA.

import { checkAvailability } from "../../chaos/checkers/availability.ts";
import { SimulatedRun, type RunResult } from "../../chaos/harness/run-core.ts";
import { resolveRunOptions } from "../../chaos/harness/run-options.ts";
import type { AlarmState, HealthMeasurements } from "../../cluster/core/policies.ts";
import { DynamoNode } from "../../cluster/core/node.ts";
import { callLearner, defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import { memoized } from "../shared-b/simulate-with.ts";

export interface AlarmModule {
  alarmRules(measured: HealthMeasurements): AlarmState[];
}

export const alarmNames = ["node-down", "hints-growing", "overload", "replicas-diverged"] as const;
export const slaAvailability = 0.99;
export const firstCrashMs = 3_000;
export const secondCrashMs = 9_000;
export const restartMs = 13_000;
export const clearWithinMs = 3_000;

export function measurements(overrides: Partial<HealthMeasurements> = {}): HealthMeasurements {
  return {
    nodeId: "n1",
    peersDown: [],
    overloadRejections: 0,
    hintsPending: 0,
    divergedMs: 0,
    ...overrides,
  };
}

function ask(module: AlarmModule, measured: HealthMeasurements) {
  const answer = callLearner("alarmRules", () => module.alarmRules(measured));
  if (!answer.ok) return answer;
  if (!Array.isArray(answer.value))
    return {
      ok: false as const,
      message: `alarmRules returned ${typeof answer.value}; expected an array of alarm states`,
    };
  return answer;
}

export interface IncidentTimeline {
  run: RunResult;
  /** Each second: the alarms active on any node, as "n3:node-down". */
  samples: { atMs: number; alarms: string[] }[];
  /** The start of the first second whose availability fell below the SLA, or undefined. */
  breachMs: number | undefined;
}

const incidentOf = memoized((module: AlarmModule, seed: number): IncidentTimeline => {
  const options = resolveRunOptions({
    workload: "register",
    seed,
    timeMs: 18_000,
    client: { concurrency: 10, ratePerSecond: 20, retry: "retry-on-definite-failure" },
    checkers: ["availability"],
  });
  const run = new SimulatedRun(options, {
    policies: { alarmRules: (measured) => module.alarmRules(measured) },
  });
  const { simulation, driver } = run;
  const fault = (atMs: number, f: string, nodes: string[], action: (node: string) => void) =>
    simulation.at(atMs, () => {
      driver.recorder.nemesis("invoke", f, { nodes });
      for (const node of nodes) action(node);
      driver.recorder.nemesis("info", f, { nodes });
    });
  fault(firstCrashMs, "start-crash", ["n1"], (node) => simulation.crash(node));
  fault(secondCrashMs, "start-crash", ["n2"], (node) => simulation.crash(node));
  fault(restartMs, "stop-crash", ["n1", "n2"], (node) => simulation.restart(node));
  const samples: IncidentTimeline["samples"] = [];
  while (run.advance(1_000)) {
    const alarms = simulation.nodeIds().flatMap((id) => {
      const node = simulation.node(id);
      return node instanceof DynamoNode ? node.alarms().map((alarm) => `${id}:${alarm.name}`) : [];
    });
    samples.push({ atMs: simulation.now, alarms });
  }
  const result = run.result(0);
  const buckets = checkAvailability(result.history).buckets;
  const breach = buckets.find((bucket) => (bucket.okFraction ?? 1) < slaAvailability);
  return {
    run: result,
    samples,
    breachMs: breach === undefined ? undefined : breach.startNs / 1e6,
  };
});

function timelineText(timeline: IncidentTimeline): string {
  return timeline.samples
    .map(
      ({ atMs, alarms }) =>
        `${atMs / 1_000} s: ${alarms.length === 0 ? "-" : [...new Set(alarms.map((alarm) => alarm.split(":")[1]))].join(",")}`,
    )
    .join("; ");
}

/** 10d: the first alarm after the first crash comes no later than the first second below the
 * SLA (lab 11 grades a blueprint's alarms with it too). */
export function pagedBeforeBreach(module: AlarmModule, seed: number): CheckOutcome {
  const timeline = incidentOf(module, seed);
  if (timeline.breachMs === undefined)
    return {
      ok: false,
      message: "the scripted incident never broke the SLA: the grader's scenario is wrong",
      run: timeline.run,
    };
  const fired = timeline.samples.find(
    ({ atMs, alarms }) => atMs > firstCrashMs && alarms.length > 0,
  );
  if (fired !== undefined && fired.atMs <= timeline.breachMs)
    return {
      ok: true,
      detail: `raised at ${fired.atMs / 1_000} s (${fired.alarms[0]}), SLA broken from ${timeline.breachMs / 1_000} s`,
    };
  return {
    ok: false,
    message: `availability fell below ${slaAvailability * 100}% from ${timeline.breachMs / 1_000} s, and ${fired === undefined ? "no alarm was ever raised" : `the first alarm came at ${fired.atMs / 1_000} s`}: the page arrives with the outage, not before it. Timeline: ${timelineText(timeline)}`,
    run: timeline.run,
  };
}

export const lab10 = defineLab<AlarmModule>({
  id: "10",
  slug: "10-monitoring",
  title: "Monitoring: alarms before the SLA breaks",
  learnerFile: "alarm-rules.ts",
  talkSlide: "Monitoring and preemptive support: five nines, metrics, alarms",
  paperSection:
    "Dynamo 6 (experiences: monitoring availability and latency at the 99.9th percentile)",
  validate: (module) => requireFunctions(module, ["alarmRules"]) as unknown as AlarmModule,
  checks: [
    {
      id: "10a",
      title: "every alarm's state is answered in every round, active or not",
      needs: "pure",
      run: ({ module }) => {
        for (const measured of [
          measurements(),
          measurements({
            peersDown: ["n2"],
            overloadRejections: 40,
            hintsPending: 50_000,
            divergedMs: 600_000,
          }),
        ]) {
          const answer = ask(module, measured);
          if (!answer.ok) return answer;
          const named = new Set(answer.value.map((alarm) => alarm?.name));
          const missing = alarmNames.filter((name) => !named.has(name));
          if (missing.length > 0)
            return {
              ok: false,
              message: `for ${JSON.stringify(measured)} the answer leaves out ${missing.join(", ")}: an alarm missing from the answer keeps its last state, so a raised one never clears`,
            };
          const bad = answer.value.find(
            (alarm) => typeof alarm.active !== "boolean" || typeof alarm.detail !== "string",
          );
          if (bad !== undefined)
            return {
              ok: false,
              message: `alarm ${JSON.stringify(bad)} needs \`active\` (a boolean) and \`detail\` (a line)`,
            };
        }
        return { ok: true };
      },
    },
    {
      id: "10b",
      title: "quiet while all is well: no alarm for a healthy node",
      needs: "pure",
      run: ({ module }) => {
        const answer = ask(module, measurements());
        if (!answer.ok) return answer;
        const active = answer.value
          .filter((alarm) => alarm?.active === true)
          .map((alarm) => alarm.name);
        return active.length === 0
          ? { ok: true }
          : {
              ok: false,
              message: `a healthy node raises ${active.join(", ")}: a pager that rings for nothing is a pager nobody reads`,
            };
      },
    },
    {
      id: "10c",
      title: "no alarm during the calm before the incident",
      needs: "cluster",
      run: ({ module, seed, note }) => {
        note("scripted incident: n1 crashes at 3 s, n2 at 9 s, both restart at 13 s");
        const timeline = incidentOf(module, seed);
        const early = timeline.samples.find(
          ({ atMs, alarms }) => atMs <= firstCrashMs && alarms.length > 0,
        );
        return early === undefined
          ? { ok: true, detail: timelineText(timeline) }
          : {
              ok: false,
              message: `at ${early.atMs / 1_000} s, before anything went wrong, ${early.alarms.join(", ")} was raised`,
              run: timeline.run,
            };
      },
    },
    {
      id: "10d",
      title: `an alarm fires before availability falls below ${slaAvailability * 100}% in any second`,
      needs: "cluster",
      run: ({ module, seed }) => pagedBeforeBreach(module, seed),
    },
    {
      id: "10e",
      title: `every alarm clears within ${clearWithinMs / 1_000} s once the incident is over`,
      needs: "cluster",
      run: ({ module, seed }) => {
        const timeline = incidentOf(module, seed);
        const stuck = timeline.samples.find(
          ({ atMs, alarms }) => atMs >= restartMs + clearWithinMs && alarms.length > 0,
        );
        return stuck === undefined
          ? { ok: true }
          : {
              ok: false,
              message: `at ${stuck.atMs / 1_000} s, ${(stuck.atMs - restartMs) / 1_000} s after both nodes were back, ${stuck.alarms.join(", ")} still raised. Timeline: ${timelineText(timeline)}`,
              run: timeline.run,
            };
      },
    },
  ],
  mistakes: {
    "only-active.ts": { fails: "10a", why: "an alarm left out is never cleared" },
    "overload-off-by-one.ts": { fails: "10b", why: "the overload alarm rings on a healthy node" },
    "page-on-majority.ts": {
      fails: "10d",
      why: "paging on the second crash is paging on the outage",
    },
    "hints-only.ts": { fails: "10d", why: "watches a slow symptom, not the node that went away" },
  },
});
