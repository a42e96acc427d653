/**
 * cache-register: a register written blind into a last-write-wins bucket (lesson 6, sharing
 * data), the way a session cache or a profile store is usually used: a put with no get first
 * and no causal context, the newest timestamp wins, no siblings ever. It asks the question
 * `register` cannot (its get-before-put only writes where R primaries answer): does R + W > N
 * make reads see the latest acknowledged write? With Dynamo's sloppy quorum it does not. During
 * a partition a write on the minority side is acknowledged by one primary and fallbacks that
 * stand in for the others (hinted handoff); a read on the majority side asks the other primaries,
 * which never saw it: a stale read, found by the linearizability checker. With PW = W the
 * write needs W primaries and is refused on the minority side instead.
 *
 *   n1 n2 | n3 n4 n5       key k: primaries n2, n3, n4; R = W = 2, N = 3
 *   client on n1: put k=7 -> n2 + fallback n1 (hint for n3): acknowledged (W = 2)
 *   client on n5: get k   -> n3, n4 answer: k=6. Stale: 7 was acknowledged before the read.
 *   with PW = 2: the put on n1 is refused (only n2 is a reachable primary), so nobody misses it.
 *
 * Operations (keys `r0`, `r1`, ...; every history operation carries `key`):
 *   read     the value read, null when absent
 *   write v  a blind put of v (unique across the run), no context
 * Generator: a random key per operation, half reads, half writes.
 * Checker: linearizable, model "register"; availability.
 */

import type { Completion } from "../recorder.ts";
import type { Workload, WorkloadInstance } from "../workload.ts";
import { registerValue } from "./register.ts";

export function createCacheRegisterWorkload(options: { keyCount: number }): WorkloadInstance {
  const keys = Array.from({ length: options.keyCount }, (_, index) => `r${index}`);
  let lastValue = 0;
  return {
    next(random) {
      const key = random.pick(keys);
      if (random.chance(0.5)) return { f: "read", value: null, key };
      return { f: "write", value: (lastValue += 1), key };
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
      client.put(node, key, operation.value as number, undefined, (result) => {
        const completion: Completion =
          result.kind === "ok"
            ? { type: "ok", value: operation.value, node: result.node }
            : {
                type: result.kind,
                value: operation.value,
                node: result.node,
                reason: result.reason,
              };
        done(completion);
      });
    },
    finalOperations: () => [],
  };
}

export const cacheRegisterWorkload: Workload = {
  name: "cache-register",
  property:
    "a blind-written last-write-wins register reads its latest acknowledged write (not under sloppy quorum and partitions; PW changes that)",
  bucket: "cache-register",
  bucketMode: "lww",
  checkers: ["linearizable", "availability"],
  create: (options) => createCacheRegisterWorkload(options),
};
