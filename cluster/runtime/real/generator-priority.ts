// The load generator's scheduling priority, for the benchmarks that share this machine's cores
// between a load generator and the servers it measures (bench:cluster, bench:overload; lesson 9,
// "capacity planning with back pressure"). A generator that waits for a core behind the servers
// times its own queue: its timers fire late and an answer is timed when the generator next
// runs, not when it arrived.
//
// Worked example: after the nodes are started, `setGeneratorPriority(-10)` gives every thread of
// this process nice -10 and answers "nice -10, nodes 0"; `setGeneratorPriority(0)` undoes it
// before the next cluster starts. Without root (or CAP_SYS_NICE) it answers "unchanged (no
// permission for nice -10)", and BENCH_GENERATOR_NICE=0 turns it off.

import { existsSync, readdirSync } from "node:fs";
import os from "node:os";

/** The load generator stands for clients on other machines: while it measures, it asks the
 * scheduler for a higher priority than the nodes (nice -10, which needs root or CAP_SYS_NICE),
 * so that on these shared cores its timers fire on schedule and a response is timed when it
 * arrives, instead of after the nodes' own queue, which would be the generator measuring
 * itself. It does not make the nodes faster: they get the CPU the generator leaves, in every
 * phase alike, and capacity is measured under the same priority. Called after the nodes are
 * started and undone before the next are (a child inherits its parent's nice value, so nodes
 * started at -10 would compete as equals). Says what it got. */
export function setGeneratorPriority(nice: number): string {
  if (process.env["BENCH_GENERATOR_NICE"] === "0") return "unchanged (BENCH_GENERATOR_NICE=0)";
  try {
    // Linux keeps a nice value per thread: the main thread's alone would leave V8's garbage
    // collection helpers behind the nodes.
    const threads = existsSync("/proc/self/task") ? readdirSync("/proc/self/task") : ["0"];
    for (const thread of threads) os.setPriority(Number(thread), nice);
    return `nice ${nice}, nodes 0`;
  } catch {
    return `unchanged (no permission for nice ${nice})`;
  }
}
