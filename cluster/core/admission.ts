// Admission and back pressure (lesson 9, "capacity planning with back pressure"; the Dynamo
// paper's section 6.5 on admission control for background work). A node that takes every
// request queues without limit when it falls behind, and then every request times out. So it
// counts the client requests it coordinates and has not answered yet, on the whole node and
// per partition (one hot key range cannot take the whole budget), and the `admit` policy
// refuses at once past the bounds with a 503 `overload` and when to retry. A request leaves the
// budget as soon as it has its answer, even if the coordinator still waits on slow replicas
// (for read repair, say). Background rounds (handoff, anti-entropy) yield to foreground load:
// they skip a round while half the budget is in use.

import type { NodeHealth } from "./node-health.ts";
import type { NodeContext } from "./node-context.ts";
import type { ReplicaStore } from "./replica-store.ts";
import type { ClientRequest } from "./types.ts";

export class Admission {
  /** Client requests not answered yet: what the overload bound counts. */
  private awaitingReply = 0;
  private readonly awaitingByPartition = new Map<number, number>();
  /** The environment's random draw for the policy, made once rather than per request. */
  private readonly random = (): number => this.context.env.random();

  constructor(
    private readonly context: NodeContext,
    private readonly health: NodeHealth,
    private readonly store: ReplicaStore,
  ) {}

  /**
   * Asks the `admit` policy about a request on `storageKey`; a refusal is answered here.
   * Returns the key's partition when the request may go on (it takes no budget yet: `take`
   * does, once the coordinator has everything it needs to start).
   */
  admit(requestId: string, countAs: ClientRequest["op"], storageKey: string): number | undefined {
    const { env, timing, counters } = this.context;
    const partition = this.store.partitionOf(storageKey);
    const decision = this.context.policies.admit({
      requestsAwaiting: this.awaitingReply,
      requestsInFlightMax: timing.requestsInFlightMax,
      partition,
      partitionRequestsAwaiting: this.awaitingByPartition.get(partition) ?? 0,
      partitionRequestsInFlightMax: timing.partitionRequestsInFlightMax,
      random: this.random,
    });
    if (decision.admit) return partition;
    // Back pressure: refuse at once, and say when to come back, instead of queuing without
    // limit until every request times out.
    this.health.count(countAs, "overload");
    counters.overloadRejections += 1;
    env.reply(requestId, {
      status: 503,
      body: { error: "overload", detail: decision.detail, retryAfterMs: decision.retryAfterMs },
    });
    return undefined;
  }

  /** The request starts: it counts against the budget until `release`. */
  take(partition: number): void {
    this.awaitingReply += 1;
    this.awaitingByPartition.set(partition, (this.awaitingByPartition.get(partition) ?? 0) + 1);
  }

  /** A client request on `partition` got its answer: it leaves the budget. */
  release(partition: number): void {
    this.awaitingReply -= 1;
    const left = (this.awaitingByPartition.get(partition) ?? 1) - 1;
    if (left > 0) this.awaitingByPartition.set(partition, left);
    else this.awaitingByPartition.delete(partition);
  }

  /** Background work yields to foreground load: skip a round when half the budget is in use. */
  busy(): boolean {
    return this.awaitingReply > this.context.timing.requestsInFlightMax / 2;
  }
}
