/**
 * register: is each key a linearizable register? (lesson 3, network splits; lesson 6, sharing
 * data). It is not, and this workload shows it: Dynamo trades linearizability for availability.
 * With R + W <= N, or while a partition splits the replicas, a read can miss an acknowledged
 * write (a stale read), and concurrent writes come back as several siblings, which no single
 * register could ever hold. The linearizability checker finds the first operation that no
 * order of the history can explain.
 *
 * Operations (a few independent keys `r0`, `r1`, ...; every history operation carries `key`):
 *   read            value null on invoke; on ok: the integer read, null when absent (404), or
 *                   the sorted array of siblings when there are several (never linearizable)
 *   write v         a get for the causal context, then a put of v (v unique across the run)
 *   cas [from, to]  optional (`cas: true`): a get, and when the one value is `from`, a put of
 *                   `to` with its context; otherwise fail. NOT atomic: another write can land
 *                   between the get and the put, which is exactly what a checker should catch.
 * Generator: a random key per operation; half reads, half writes (or a third each with cas).
 * Checker: linearizable, model "register" (chaos/checkers/linearizable.ts, models.ts).
 */

import type { Completion } from "../recorder.ts";
import type { RequestResult } from "../client.ts";
import { distinctIntegers, type Workload, type WorkloadInstance } from "../workload.ts";

export interface RegisterWorkloadOptions {
  keyCount: number;
  /** Mix compare-and-set operations in. */
  cas?: boolean;
}

/** The value a read records: one integer, null, or the siblings (see the docstring). */
export function registerValue(siblings: readonly unknown[]): number | null | number[] {
  const values = distinctIntegers(siblings);
  if (values.length === 0) return null;
  if (values.length === 1) return values[0]!;
  return values;
}

function writeCompletion(result: RequestResult, value: unknown): Completion {
  if (result.kind === "ok") return { type: "ok", value, node: result.node };
  return { type: result.kind, value, node: result.node, reason: result.reason };
}

export function createRegisterWorkload(options: RegisterWorkloadOptions): WorkloadInstance {
  const keys = Array.from({ length: options.keyCount }, (_, index) => `r${index}`);
  let lastValue = 0;
  /** The last value handed to a write or cas of each key: a likely `from` for the next cas. */
  const lastWritten = new Map<string, number>();
  return {
    next(random) {
      const key = random.pick(keys);
      const choice = random.integer(options.cas === true ? 3 : 2);
      if (choice === 0) return { f: "read", value: null, key };
      const from = lastWritten.get(key) ?? null;
      lastValue += 1;
      lastWritten.set(key, lastValue);
      if (choice === 1) return { f: "write", value: lastValue, key };
      return { f: "cas", value: [from, lastValue], key };
    },
    perform(operation, { client, node }, done) {
      const key = operation.key!;
      if (operation.f === "read") {
        client.get(node, key, (result) => {
          if (result.kind !== "ok")
            done({ type: result.kind, value: null, node: result.node, reason: result.reason });
          else done({ type: "ok", value: registerValue(result.siblings), node: result.node });
        });
      } else if (operation.f === "write") {
        client.update(
          node,
          key,
          () => operation.value as number,
          (result) => done(writeCompletion(result, operation.value)),
        );
      } else {
        const [from, to] = operation.value as [number | null, number];
        client.get(node, key, (read) => {
          if (read.kind !== "ok") {
            done({ type: "fail", value: operation.value, node: read.node, reason: read.reason });
            return;
          }
          const current = registerValue(read.siblings);
          if (current !== from) {
            done({
              type: "fail",
              value: operation.value,
              node: read.node,
              reason: "cas: value differs",
            });
            return;
          }
          client.put(read.node, key, to, read.context, (result) =>
            done(writeCompletion(result, operation.value)),
          );
        });
      }
    },
    finalOperations: () => [],
  };
}

export const registerWorkload: Workload = {
  name: "register",
  property:
    "each key behaves like a single linearizable register (it does not under R + W <= N or a partition)",
  bucket: "register",
  checkers: ["linearizable", "availability"],
  create: (options) => createRegisterWorkload({ keyCount: options.keyCount }),
};
