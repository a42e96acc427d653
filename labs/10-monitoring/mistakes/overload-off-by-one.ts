// Mistake: `>=` where `>` belongs. "At least zero refusals" is every round: the overload
// alarm is raised on a healthy cluster, and a pager that always rings is a pager nobody reads.
import type { AlarmState, HealthMeasurements } from "../../../cluster/core/policies.ts";

export function alarmRules(measured: HealthMeasurements): AlarmState[] {
  return [
    {
      name: "node-down",
      active: measured.peersDown.length > 0,
      detail: `down: ${measured.peersDown.join(", ")}`,
    },
    {
      name: "hints-growing",
      active: measured.hintsPending > 1_000,
      detail: `${measured.hintsPending} hints`,
    },
    {
      name: "overload",
      active: measured.overloadRejections >= 0,
      detail: `${measured.overloadRejections} refused`,
    },
    {
      name: "replicas-diverged",
      active: measured.divergedMs > 30_000,
      detail: `${measured.divergedMs} ms apart`,
    },
  ];
}
