// Mistake: answer only the alarms that are active. An alarm left out keeps its last state,
// so once raised, nothing ever clears it: the operator learns to ignore the pager.
import type { AlarmState, HealthMeasurements } from "../../../cluster/core/policies.ts";

export function alarmRules(measured: HealthMeasurements): AlarmState[] {
  const alarms: AlarmState[] = [
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
      active: measured.overloadRejections > 0,
      detail: `${measured.overloadRejections} refused`,
    },
    {
      name: "replicas-diverged",
      active: measured.divergedMs > 30_000,
      detail: `${measured.divergedMs} ms apart`,
    },
  ];
  return alarms.filter((alarm) => alarm.active);
}
