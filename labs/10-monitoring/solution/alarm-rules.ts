// Lab 10's reference alarm rules (the contract is in the starter): page on the first node
// down (the leading indicator: the SLA breaks only when a second one goes), on any overload
// refusal, on hints piling up and on replicas that stay apart; report every alarm every round.
import type { AlarmState, HealthMeasurements } from "../../../cluster/core/policies.ts";

const hintsPendingMax = 1_000;
const divergedMsMax = 30_000;

export function alarmRules(measured: HealthMeasurements): AlarmState[] {
  return [
    {
      name: "node-down",
      active: measured.peersDown.length > 0,
      detail: `unreachable from ${measured.nodeId}: ${measured.peersDown.join(", ")}`,
    },
    {
      name: "hints-growing",
      active: measured.hintsPending > hintsPendingMax,
      detail: `${measured.hintsPending} hints waiting for their primaries`,
    },
    {
      name: "overload",
      active: measured.overloadRejections > 0,
      detail: `${measured.overloadRejections} requests refused since the last round`,
    },
    {
      name: "replicas-diverged",
      active: measured.divergedMs > divergedMsMax,
      detail: `a replica pair has disagreed for ${Math.round(measured.divergedMs)} ms`,
    },
  ];
}
