/**
 * set: is every acknowledged add still there at the end? (lesson 2, copy state instead of
 * locating it; lesson 5, systems that never stop). Jepsen's set test on a Dynamo key: the whole
 * set lives in ONE key, and concurrent versions (siblings) are merged by union, the way the
 * Dynamo paper's applications merge. A lost element is an acknowledged write the cluster
 * forgot: with W >= 2 and sync `always`, a crash of one node must lose nothing.
 *
 * Operations (key `set`):
 *   add e    e a unique integer: a get (every sibling and the causal context), then a put of
 *            (union of all siblings) plus e with that context, so the put supersedes exactly
 *            the versions it merged
 *   read     the union of all siblings, sorted (an empty array when the key is absent)
 * Generator: 90% adds, 10% reads while faults run; after every fault healed, one final read
 * per node with R = N (every replica answers, and read repair spreads the merge).
 * Checker: set (chaos/checkers/set.ts): ok, lost, unexpected, recovered, stale reads.
 */

import type { Completion } from "../recorder.ts";
import type { RequestResult } from "../client.ts";
import { unionOfSiblings, type Workload, type WorkloadInstance } from "../workload.ts";

export const setKey = "set";

/** A read's completion: the union of the siblings, or fail/info as the client classified it. */
export function setReadCompletion(result: RequestResult): Completion {
  if (result.kind !== "ok")
    return { type: result.kind, value: null, node: result.node, reason: result.reason };
  return { type: "ok", value: unionOfSiblings(result.siblings), node: result.node };
}

export function createSetWorkload(): WorkloadInstance {
  let lastElement = 0;
  return {
    next(random) {
      if (random.chance(0.1)) return { f: "read", value: null };
      return { f: "add", value: (lastElement += 1) };
    },
    perform(operation, { client, node, n }, done) {
      if (operation.f === "read") {
        // Final reads ask every replica; the others use the cluster's R.
        const r = operation.value === "final" ? n : undefined;
        client.get(node, setKey, (result) => done(setReadCompletion(result)), r);
        return;
      }
      const element = operation.value as number;
      client.update(
        node,
        setKey,
        (siblings) => [...unionOfSiblings(siblings), element].sort((a, b) => a - b),
        (result) =>
          done(
            result.kind === "ok"
              ? { type: "ok", value: element, node: result.node }
              : { type: result.kind, value: element, node: result.node, reason: result.reason },
          ),
      );
    },
    finalOperations: (nodes) =>
      nodes.map((node) => ({ operation: { f: "read", value: "final" }, node })),
  };
}

export const setWorkload: Workload = {
  name: "set",
  property: "every acknowledged add survives the faults and is in the final read",
  bucket: "set",
  checkers: ["set", "availability"],
  create: () => createSetWorkload(),
};
