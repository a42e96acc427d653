/**
 * session: read-your-writes and monotonic reads, per client (lesson 6, sharing data; lesson
 * 2, copy state instead of locating it). Dynamo promises eventual consistency only, but with
 * R + W > N a client that wrote a value should read it (or something newer) back, and should
 * never see a key go back in time. With R = W = 1, or sloppy routing during a partition, both
 * can break; the session checker shows the offending pair of operations.
 *
 * Operations (a few keys `s0`, `s1`, ... shared by every client; history operations carry `key`):
 *   write v  v unique across the run: a get for the causal context, then a put of v
 *   read     the integer read, null when absent, or the sorted array of siblings
 * Generator: each operation picks a key; 40% writes, 60% reads, so a client often reads back
 * a key it wrote.
 * Checker: session (chaos/checkers/session.ts).
 */

import type { Workload, WorkloadInstance } from "../workload.ts";
import { registerValue } from "./register.ts";

export function createSessionWorkload(options: { keyCount: number }): WorkloadInstance {
  const keys = Array.from({ length: options.keyCount }, (_, index) => `s${index}`);
  let lastValue = 0;
  return {
    next(random) {
      const key = random.pick(keys);
      if (random.chance(0.4)) return { f: "write", value: (lastValue += 1), key };
      return { f: "read", value: null, key };
    },
    perform(operation, { client, node }, done) {
      const key = operation.key!;
      if (operation.f === "read") {
        client.get(node, key, (result) =>
          done(
            result.kind === "ok"
              ? { type: "ok", value: registerValue(result.siblings), node: result.node }
              : { type: result.kind, value: null, node: result.node, reason: result.reason },
          ),
        );
        return;
      }
      client.update(
        node,
        key,
        () => operation.value as number,
        (result) =>
          done(
            result.kind === "ok"
              ? { type: "ok", value: operation.value, node: result.node }
              : {
                  type: result.kind,
                  value: operation.value,
                  node: result.node,
                  reason: result.reason,
                },
          ),
      );
    },
    finalOperations: () => [],
  };
}

export const sessionWorkload: Workload = {
  name: "session",
  property: "each client reads its own writes and never sees a key go back in time",
  bucket: "session",
  checkers: ["session", "availability"],
  create: (options) => createSessionWorkload({ keyCount: options.keyCount }),
};
