// Join and leave as faults (lesson 8, "scaling out": a cluster must keep its promises while
// ownership moves). A `join` fault adds a spare node to the ring and takes it out again when the
// fault stops; a `leave` fault removes a member (it keeps running and hands its data over) and
// adds it back when the fault stops. Both ask a member (`via`) to change the ring, the way
// `riak-admin cluster join/leave` does, and gossip spreads the change. Clients keep talking to
// the initial members only: a joined spare takes replicas, not client traffic.
//
//   simulator        DynamoNode.join/leave on the `via` node; a spare that never ran is started
//                    with Simulation.addNode (a joiner asks the first member to let it in)
//   local processes  POST /admin/join and /admin/leave on `via`; a spare that never ran is
//                    started with LocalCluster.addNode (prepared by `spareNodes`)
//
// The simulator side has no Node built-ins: it runs in the browser too.

import { DynamoNode } from "../../cluster/core/node.ts";
import type { NodeId } from "../../cluster/core/types.ts";
import type { Simulation } from "../../cluster/runtime/sim/simulator.ts";

/** How a backend changes the ring; `via` is the member asked to make the change. */
export interface MembershipBackend {
  join(node: NodeId, via: NodeId): void | Promise<void>;
  leave(node: NodeId, via: NodeId): void | Promise<void>;
}

/** The spare node a join fault adds to a cluster of `nodes`: the next name, n6 after n1..n5. */
export function spareNodeOf(nodes: readonly NodeId[]): NodeId {
  return `n${nodes.length + 1}`;
}

/** Ring changes in the simulator. A `via` that is down or not a DynamoNode changes nothing. */
export class SimulationMembership implements MembershipBackend {
  constructor(private readonly simulation: Simulation) {}

  join(node: NodeId, via: NodeId): void {
    if (!this.simulation.nodeIds().includes(node)) {
      this.simulation.addNode(node); // a joiner asks the first member to let it in
      return;
    }
    this.simulation.restart(node);
    this.member(via)?.join(node);
  }

  leave(node: NodeId, via: NodeId): void {
    this.member(via)?.leave(node);
  }

  private member(id: NodeId): DynamoNode | undefined {
    const node = this.simulation.node(id);
    return node instanceof DynamoNode ? node : undefined;
  }
}

/** What the local membership backend needs of a started cluster (LocalCluster has it). */
export interface MembershipProcesses {
  spareNodes: readonly NodeId[];
  addNode(id: NodeId): Promise<unknown>;
  httpUrl(id: NodeId): string;
}

const adminTimeoutMs = 5_000;
/** How long a started spare may take to be let in by the member it asked. */
const joinWaitMs = 30_000;
const joinPollMs = 100;

/** Polls GET /ring on `httpUrl` until `node` is a member; one line when it never is. */
export async function waitForMember(httpUrl: string, node: NodeId): Promise<void> {
  const deadline = performance.now() + joinWaitMs;
  while (performance.now() < deadline) {
    try {
      const response = await fetch(`${httpUrl}/ring`, {
        signal: AbortSignal.timeout(adminTimeoutMs),
      });
      const ring = (await response.json()) as { members?: unknown };
      if (Array.isArray(ring.members) && ring.members.includes(node)) return;
    } catch {
      // Not answering yet, or answering something else: poll again.
    }
    await new Promise((resolve) => setTimeout(resolve, joinPollMs));
  }
  throw new Error(`${node} was not a member of ${httpUrl}/ring after ${joinWaitMs} ms`);
}

/** Ring changes on local processes through the members' admin routes. */
export class ProcessMembership implements MembershipBackend {
  constructor(private readonly processes: MembershipProcesses) {}

  async join(node: NodeId, via: NodeId): Promise<void> {
    if (this.processes.spareNodes.includes(node)) {
      await this.processes.addNode(node); // it asks n1 to let it in: wait until n1 agrees
      await waitForMember(this.processes.httpUrl(via), node);
      return;
    }
    await postMembership(this.processes.httpUrl(via), "join", node);
  }

  async leave(node: NodeId, via: NodeId): Promise<void> {
    await postMembership(this.processes.httpUrl(via), "leave", node);
  }
}

/** POST /admin/join or /admin/leave {"node": ...}; one line when the member refuses. */
export async function postMembership(
  httpUrl: string,
  change: "join" | "leave",
  node: NodeId,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${httpUrl}/admin/${change}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ node }),
      signal: AbortSignal.timeout(adminTimeoutMs),
    });
  } catch {
    throw new Error(`${httpUrl} did not answer POST /admin/${change} within ${adminTimeoutMs} ms`);
  }
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(
      `${httpUrl}/admin/${change} answered ${response.status}: ${text.slice(0, 200)}`,
    );
  }
}
