// The generator (lesson 1, "the world is concurrent"): `concurrency` client processes, each
// issuing one operation at a time at about `ratePerSecond`, with seeded exponential gaps
// between operations (a Poisson stream, the way independent users arrive), until the stop time.
//
// Process ids follow Jepsen: client slot s starts as process s; when an operation ends in
// `info` the process may still have a request in flight, so it is retired and the slot comes
// back as process s + concurrency (then s + 2 * concurrency, ...). One process's operations
// are therefore always sequential in the history, which the checkers rely on.
//
// Callback-driven through the port (see port.ts). No Node built-ins: runs in the browser too.

import type { NodeId } from "../../cluster/core/types.ts";
import type { Random } from "../../cluster/runtime/sim/random.ts";
import type { KvClient } from "./client.ts";
import type { KvPort } from "./port.ts";
import type { HistoryRecorder } from "./recorder.ts";
import type { OperationSpec, WorkloadInstance } from "./workload.ts";

export const concurrencyMax = 1_000;
export const ratePerSecondMax = 10_000;

export interface GeneratorOptions {
  port: KvPort;
  workload: WorkloadInstance;
  recorder: HistoryRecorder;
  /** One client per slot (its own backoff jitter stream). */
  clientFor: (slot: number) => KvClient;
  concurrency: number;
  ratePerSecond: number;
  /** No operation is invoked at or after this time (ns since the start). */
  stopAtNs: number;
  random: Random;
  n: number;
  /** Called once every slot has stopped (its last operation completed). */
  onIdle: () => void;
}

/** Starts every client slot. The result tells which process ids are still unused, for the
 * final operations (each runs as a fresh process). */
export function startClients(options: GeneratorOptions): { nextUnusedProcess: () => number } {
  const { port, concurrency, ratePerSecond } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > concurrencyMax) {
    throw new RangeError(
      `Expected \`concurrency\` to be an integer from 1 to ${concurrencyMax}, got ${concurrency}`,
    );
  }
  if (!(ratePerSecond > 0 && ratePerSecond <= ratePerSecondMax)) {
    throw new RangeError(
      `Expected \`rate\` to be a number above 0 and at most ${ratePerSecondMax}, got ${ratePerSecond}`,
    );
  }
  const meanGapMs = 1_000 / ratePerSecond;
  let running = concurrency;
  let highestProcess = concurrency - 1;
  for (let slot = 0; slot < concurrency; slot += 1) {
    const node = port.nodes[slot % port.nodes.length]!;
    const client = options.clientFor(slot);
    let process = slot;
    const step = (): void => {
      if (port.now() >= options.stopAtNs) {
        running -= 1;
        if (running === 0) options.onIdle();
        return;
      }
      const operation = options.workload.next(options.random, process);
      performRecorded(options, client, node, process, operation, (type) => {
        if (type === "info") {
          process += concurrency;
          highestProcess = Math.max(highestProcess, process);
        }
        port.after(options.random.exponential(meanGapMs), step);
      });
    };
    // Stagger the start so the clients do not all fire at time 0.
    port.after(options.random.next() * meanGapMs, step);
  }
  return { nextUnusedProcess: () => highestProcess + 1 };
}

/** Invokes one operation, records its invoke and completion, then calls `then`. */
export function performRecorded(
  options: Pick<GeneratorOptions, "workload" | "recorder" | "n">,
  client: KvClient,
  node: NodeId,
  process: number,
  operation: OperationSpec,
  then: (type: "ok" | "fail" | "info") => void,
): void {
  const { recorder, workload } = options;
  recorder.invoke(process, operation.f, operation.value, operation.key, node);
  let completed = false;
  workload.perform(operation, { client, node, process, n: options.n }, (completion) => {
    if (completed) throw new Error(`Workload completed ${operation.f} on process ${process} twice`);
    completed = true;
    recorder.complete(process, operation.f, completion, operation.key);
    then(completion.type);
  });
}
