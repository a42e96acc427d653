// Node health (lesson 10, "monitoring for five nines"): the counters every mechanism bumps, the
// availability figure an SLA would compute, and the alarms an operator is paged for. The Dynamo
// paper's section 6 reports exactly these: 99.9th-percentile service, divergence, and how often
// a sloppy quorum stood in. The alarm rules themselves are a policy (policies.ts's
// `alarmRules`), so a lab can page on something else; this module runs them every heartbeat
// round and keeps each alarm's state: raised once, updated while it holds, cleared once.

import type { NodeContext } from "./node-context.ts";
import { PolicyError, type AlarmName, type HealthMeasurements } from "./policies.ts";
import type { ClientRequest, ClientResponse, Environment } from "./types.ts";

export type Outcome =
  "ok" | "not_found" | "bad_request" | "unavailable" | "timeout" | "overload" | "policy_failed";

export interface NodeStats {
  requests: Record<ClientRequest["op"], Record<Outcome, number>>;
  /** Gets answered, by how many live siblings they returned ("0" = not found). */
  siblingsPerGet: Record<string, number>;
  readRepairsSent: number;
  repairsApplied: number;
  versionsMinted: number;
  replicaWrites: number;
  tombstonesReaped: number;
  fsmActive: number;
  /** Sloppy quorum: writes this node accepted on behalf of an unreachable primary. */
  hintsPending: number;
  hintsStored: number;
  handoffsSent: number;
  handoffsCompleted: number;
  antiEntropyExchanges: number;
  antiEntropyKeysRepaired: number;
  /** Milliseconds a replica pair took to agree again, last and worst (anti-entropy). */
  convergenceMsLast: number;
  convergenceMsMax: number;
  overloadRejections: number;
  heartbeatRounds: number;
  peersDown: number;
  ringVersion: number;
  /** Good / eligible client requests over the last minute, as an SLA counts (see availability()). */
  availabilityLastMinute: number;
  /** Partitions this node holds keys of but no longer owns, being handed to their owners. */
  transfersActive: number;
  transfersCompleted: number;
}

export interface Alarm {
  name: AlarmName;
  detail: string;
  /** Local clock (ms) when it fired. */
  sinceMs: number;
}

/** The window of the availability figure (GET /alarms, /metrics). */
export const availabilityWindowSeconds = 60;

export function outcomeOf(response: ClientResponse): Outcome {
  if (response.status === 200 || response.status === 204) return "ok";
  return response.body.error;
}

export function newCounters(): NodeStats {
  const outcomes = (): Record<Outcome, number> => ({
    ok: 0,
    not_found: 0,
    bad_request: 0,
    unavailable: 0,
    timeout: 0,
    overload: 0,
    policy_failed: 0,
  });
  return {
    requests: {
      get: outcomes(),
      put: outcomes(),
      delete: outcomes(),
      "crdt-get": outcomes(),
      "crdt-update": outcomes(),
    },
    siblingsPerGet: {},
    readRepairsSent: 0,
    repairsApplied: 0,
    versionsMinted: 0,
    replicaWrites: 0,
    tombstonesReaped: 0,
    fsmActive: 0,
    hintsPending: 0,
    hintsStored: 0,
    handoffsSent: 0,
    handoffsCompleted: 0,
    antiEntropyExchanges: 0,
    antiEntropyKeysRepaired: 0,
    convergenceMsLast: 0,
    convergenceMsMax: 0,
    overloadRejections: 0,
    heartbeatRounds: 0,
    peersDown: 0,
    ringVersion: 1,
    availabilityLastMinute: 1,
    transfersActive: 0,
    transfersCompleted: 0,
  };
}

export class NodeHealth {
  private readonly activeAlarms = new Map<AlarmName, Alarm>();
  /** Requests by second of the local clock, for the SLA availability figure. */
  private readonly availabilitySeconds = new Map<number, { good: number; eligible: number }>();
  private overloadRejectionsSeen = 0;

  constructor(private readonly context: NodeContext) {}

  private get env(): Environment {
    return this.context.env;
  }

  /** Counts one answered client request, by operation and outcome. */
  count(op: ClientRequest["op"], outcome: Outcome): void {
    this.context.counters.requests[op][outcome] += 1;
    // Availability the way an SLA counts it: a request the client got wrong (400) is not the
    // service's fault and is left out; "not found" is a correct answer; unavailable, timeout and
    // overload are the service failing its client.
    if (outcome === "bad_request") return;
    const second = Math.floor(this.env.now() / 1000);
    let bucket = this.availabilitySeconds.get(second);
    if (bucket === undefined) {
      this.availabilitySeconds.set(second, (bucket = { good: 0, eligible: 0 }));
      for (const old of this.availabilitySeconds.keys()) {
        if (old <= second - availabilityWindowSeconds) this.availabilitySeconds.delete(old);
      }
    }
    bucket.eligible += 1;
    if (outcome === "ok" || outcome === "not_found") bucket.good += 1;
  }

  /** Good requests over eligible ones in the last minute (1 when there were none), as a
   * five-nines SLA counts: 0.99999 allows one failed request in 100,000. */
  availability(): { windowSeconds: number; good: number; eligible: number; ratio: number } {
    const now = Math.floor(this.env.now() / 1000);
    let good = 0;
    let eligible = 0;
    for (const [second, bucket] of this.availabilitySeconds) {
      if (second <= now - availabilityWindowSeconds) continue;
      good += bucket.good;
      eligible += bucket.eligible;
    }
    return {
      windowSeconds: availabilityWindowSeconds,
      good,
      eligible,
      ratio: eligible === 0 ? 1 : good / eligible,
    };
  }

  /** Alarms in force, oldest first. */
  alarms(): Alarm[] {
    return [...this.activeAlarms.values()].sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** Runs the alarm rules on this round's measurements (a rule that throws is logged and the
   * alarms stay as they were). */
  checkAlarms(measured: Omit<HealthMeasurements, "overloadRejections" | "nodeId">): void {
    const rejections = this.context.counters.overloadRejections - this.overloadRejectionsSeen;
    this.overloadRejectionsSeen = this.context.counters.overloadRejections;
    let rules;
    try {
      rules = this.context.policies.alarmRules({
        nodeId: this.context.nodeId,
        ...measured,
        overloadRejections: rejections,
      });
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      this.env.log("policy-failed", { policy: error.policy, detail: error.message });
      return;
    }
    for (const rule of rules) this.setAlarm(rule.name, rule.active, rule.detail);
  }

  private setAlarm(name: AlarmName, active: boolean, detail: string): void {
    const current = this.activeAlarms.get(name);
    if (!active) {
      if (current !== undefined) this.env.log("alarm-cleared", { alarm: name });
      this.activeAlarms.delete(name);
    } else if (current === undefined) {
      this.activeAlarms.set(name, { name, detail, sinceMs: this.env.now() });
      this.env.log("alarm-raised", { alarm: name, detail });
    } else {
      current.detail = detail;
    }
  }
}
