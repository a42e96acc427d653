/**
 * counter: does every read lie between what was certainly and what was possibly added?
 * (lesson 6, sharing data: CRDTs). Dynamo has no atomic increment: a get-add-put from two
 * clients at once would lose one of the increments. So the counter is stored the CRDT way, as a
 * grow-only set of unique entries [operation id, delta] merged by union; its value is the sum of
 * the deltas. Two concurrent increments become two siblings, and the union keeps both.
 *
 * Operations (key `counter`):
 *   add d    d an integer from 1 to 5: a get, then a put of (union of every sibling's entries)
 *            plus [id, d], with the causal context (id unique across the run)
 *   read     the sum of the deltas of the union of every sibling's entries (0 when absent)
 * Generator: 75% adds, 25% reads; after every fault healed, one final read per node with R = N.
 * Checker: counter (chaos/checkers/counter.ts): every read between the sum of acknowledged
 * adds and the sum of the adds that may have happened.
 */

import type { JsonValue } from "../../../cluster/core/types.ts";
import type { Completion } from "../recorder.ts";
import type { Workload, WorkloadInstance } from "../workload.ts";

export const counterKey = "counter";

type Entry = [string, number];

/** Every sibling's entries merged by union, sorted by id. */
export function mergeEntries(siblings: readonly unknown[]): Entry[] {
  const entries = new Map<string, number>();
  for (const sibling of siblings) {
    if (!Array.isArray(sibling)) continue;
    for (const entry of sibling as unknown[]) {
      if (Array.isArray(entry) && typeof entry[0] === "string" && Number.isSafeInteger(entry[1])) {
        entries.set(entry[0], entry[1] as number);
      }
    }
  }
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function counterValue(siblings: readonly unknown[]): number {
  return mergeEntries(siblings).reduce((sum, [, delta]) => sum + delta, 0);
}

export function createCounterWorkload(): WorkloadInstance {
  let lastId = 0;
  return {
    next(random) {
      if (random.chance(0.25)) return { f: "read", value: null };
      return { f: "add", value: 1 + random.integer(5) };
    },
    perform(operation, { client, node, n }, done) {
      if (operation.f === "read") {
        const r = operation.value === "final" ? n : undefined;
        client.get(
          node,
          counterKey,
          (result) =>
            done(
              result.kind === "ok"
                ? { type: "ok", value: counterValue(result.siblings), node: result.node }
                : { type: result.kind, value: null, node: result.node, reason: result.reason },
            ),
          r,
        );
        return;
      }
      const delta = operation.value as number;
      const id = `a${(lastId += 1)}`;
      client.update(
        node,
        counterKey,
        (siblings) => [...mergeEntries(siblings), [id, delta]] as JsonValue,
        (result): void => {
          const completion: Completion =
            result.kind === "ok"
              ? { type: "ok", value: delta, node: result.node }
              : { type: result.kind, value: delta, node: result.node, reason: result.reason };
          done(completion);
        },
      );
    },
    finalOperations: (nodes) =>
      nodes.map((node) => ({ operation: { f: "read", value: "final" }, node })),
  };
}

export const counterWorkload: Workload = {
  name: "counter",
  property: "every read lies between the acknowledged and the possibly applied increments",
  bucket: "counter",
  checkers: ["counter", "availability"],
  create: () => createCounterWorkload(),
};
