// Mistake: watch only the symptom downstream (hints piling up past 1000), not the node that
// went away. Hints grow slowly at this load, so the pager rings after the outage, if at all.
import type { AlarmState, HealthMeasurements } from "../../../cluster/core/policies.ts";

export function alarmRules(measured: HealthMeasurements): AlarmState[] {
  return [
    { name: "node-down", active: false, detail: "not watched" },
    {
      name: "hints-growing",
      active: measured.hintsPending > 1_000,
      detail: `${measured.hintsPending} hints`,
    },
    {
      name: "overload",
      active: measured.overloadRejections > 0,
      detail: `${measured.overloadRejections} refused`,
    },
    {
      name: "replicas-diverged",
      active: measured.divergedMs > 30_000,
      detail: `${measured.divergedMs} ms apart`,
    },
  ];
}
