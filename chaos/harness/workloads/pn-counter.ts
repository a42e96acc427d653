/**
 * pn-counter: the data-type counter over POST /crdt/counter (lesson 6, sharing data; lesson 7,
 * a retry strategy for every interface function). Unlike the `counter` workload, which carries
 * its own unique entry ids through a get-add-put and so may be re-sent safely, an increment here
 * is one POST {"increment": d}: the node mints a fresh increment for every request it receives.
 * It is NOT idempotent. A client whose increment timed out cannot know whether it landed, and
 * re-sending it may add d twice:
 *
 *   client: POST increment 3 -> n1 applies it, replicates to n2 ... the reply is lost (504)
 *   client retries:  POST increment 3 -> n1 applies a second 3
 *   a read after healing: 6, though only one increment of 3 was ever asked for
 *
 * The history records one `add 3` (an info, then retried inside the client), so the counter
 * checker's upper bound counts 3 once, and the read of 6 is out of bounds: the double count is
 * caught. With `--retry none` or `retry-on-definite-failure` the counter stays within bounds.
 *
 * Operations (key `counter`):
 *   add d    d an integer from 1 to 5: POST /crdt/counter/pn-counter/counter {"increment": d}
 *   read     GET /crdt/counter/pn-counter/counter: the counter's value (0 when absent)
 * Generator: 75% adds, 25% reads; after every fault healed, one final read per node with R = N.
 * Checker: counter (chaos/checkers/counter.ts), availability.
 */

import type { Completion } from "../recorder.ts";
import type { Workload, WorkloadInstance } from "../workload.ts";

export const pnCounterKey = "counter";

/** The counter's value out of a read's siblings (one number, or none when absent). */
export function pnCounterValue(siblings: readonly unknown[]): number {
  const value = siblings[0];
  return typeof value === "number" && Number.isSafeInteger(value) ? value : 0;
}

export function createPnCounterWorkload(): WorkloadInstance {
  return {
    next(random) {
      if (random.chance(0.25)) return { f: "read", value: null };
      return { f: "add", value: 1 + random.integer(5) };
    },
    perform(operation, { client, node, n }, done) {
      if (operation.f === "read") {
        const r = operation.value === "final" ? n : undefined;
        client.readCounter(
          node,
          pnCounterKey,
          (result) =>
            done(
              result.kind === "ok"
                ? { type: "ok", value: pnCounterValue(result.siblings), node: result.node }
                : { type: result.kind, value: null, node: result.node, reason: result.reason },
            ),
          r,
        );
        return;
      }
      const delta = operation.value as number;
      client.increment(node, pnCounterKey, delta, (result): void => {
        const completion: Completion =
          result.kind === "ok"
            ? { type: "ok", value: delta, node: result.node }
            : { type: result.kind, value: delta, node: result.node, reason: result.reason };
        done(completion);
      });
    },
    finalOperations: (nodes) =>
      nodes.map((node) => ({ operation: { f: "read", value: "final" }, node })),
  };
}

export const pnCounterWorkload: Workload = {
  name: "pn-counter",
  property:
    "every read of the data-type counter lies between the acknowledged and the possibly applied increments (a re-sent increment that lands twice breaks it)",
  bucket: "pn-counter",
  checkers: ["counter", "availability"],
  create: () => createPnCounterWorkload(),
};
