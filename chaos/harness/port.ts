// The client's view of a cluster (lesson 1, "the world is concurrent", and lesson 7, "a retry
// strategy for every interface function"): one small callback-driven port with two
// implementations. Over the simulator (here), every step of every client is an event in the
// same seeded scheduler as the nodes, so a run stays a pure function of its inputs and seed.
// Over HTTP (http-port.ts), the same clients talk to real processes with real timers.
//
// Why callbacks and not async/await: a promise's continuation runs on the microtask queue,
// which the simulator does not control. A client written as a state machine of callbacks runs
// exactly when the scheduler says, and nowhere else.
//
// No Node built-ins: this file runs in the browser too.

import type { ClientRequest, NodeId } from "../../cluster/core/types.ts";
import type { ClientOutcome, Simulation } from "../../cluster/runtime/sim/simulator.ts";

export type { ClientOutcome };

export interface KvPort {
  /** The nodes a client may talk to, in a stable order. */
  readonly nodes: readonly NodeId[];
  /** Sends one request; `done` is called exactly once with the node's answer, "refused" or
   * "timeout" (after `timeoutMs` with no answer). */
  request(
    nodeId: NodeId,
    request: ClientRequest,
    timeoutMs: number,
    done: (outcome: ClientOutcome) => void,
  ): void;
  /** Nanoseconds since the run started (history times). */
  now(): number;
  /** Runs `action` after `delayMs` milliseconds (virtual in the simulator, real otherwise). */
  after(delayMs: number, action: () => void): void;
}

const nanosecondsPerMillisecond = 1_000_000;

/** A port over the deterministic simulator; time 0 is the simulation's time at creation. */
export function simulationPort(simulation: Simulation): KvPort {
  const startMs = simulation.now;
  return {
    nodes: simulation.config.nodes,
    request: (nodeId, request, timeoutMs, done) =>
      simulation.request(nodeId, request, timeoutMs, done),
    now: () => Math.round((simulation.now - startMs) * nanosecondsPerMillisecond),
    after: (delayMs, action) => simulation.after(delayMs, action),
  };
}
