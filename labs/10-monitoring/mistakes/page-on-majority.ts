// Mistake: page only when two peers are down ("one node down is fine, we have three copies").
// True for the data, and too late for the pager: the second crash IS the outage.
import type { AlarmState, HealthMeasurements } from "../../../cluster/core/policies.ts";

export function alarmRules(measured: HealthMeasurements): AlarmState[] {
  return [
    {
      name: "node-down",
      active: measured.peersDown.length >= 2,
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
}
