// Back pressure in the simulator (lesson 9): past its budget a node refuses at once with
// `overload` and a retry-after; a request counts against the budget only until it is answered;
// the availability figure counts refusals the way an SLA would.
import { describe, expect, it } from "vitest";
import type { DynamoNode } from "../../core/node.ts";
import type { ClientRequest } from "../../core/types.ts";
import { Simulation, type ClientOutcome } from "./simulator.ts";
import { clusterConfig } from "./testing.ts";

function blackhole(sim: Simulation, node: string, others: string[]) {
  for (const other of others) {
    sim.links.cut(node, other, "drop");
    sim.links.cut(other, node, "drop");
  }
}

describe("overload", () => {
  const config = clusterConfig(3, {
    defaults: { n: 3, r: 2, w: 2, timeoutMs: 5_000 },
    timing: { requestsInFlightMax: 4, suspicionMs: 60_000 },
  });
  const put = (key: string, w: number): ClientRequest => ({
    op: "put",
    bucket: "b",
    key,
    value: 1,
    w,
  });

  it("refuses past the budget at once, and answered requests no longer count", () => {
    const sim = new Simulation({ config, seed: 1 });
    blackhole(sim, "n3", ["n1", "n2"]); // n3 never answers; nobody suspects it for a minute
    const outcomes: Record<string, ClientOutcome> = {};
    const send = (name: string, request: ClientRequest) =>
      sim.request("n1", request, 10_000, (outcome) => (outcomes[name] = outcome));
    for (let index = 0; index < 4; index += 1) send(`slow${index}`, put(`slow${index}`, 3));
    sim.run(50);
    send("refused", put("refused", 2));
    sim.run(50);
    const refused = outcomes.refused;
    expect(refused?.kind === "response" && refused.response.status).toBe(503);
    if (refused?.kind === "response" && refused.response.status === 503) {
      expect(refused.response.body.error).toBe("overload");
      expect(refused.response.body.retryAfterMs).toBeGreaterThan(0);
    }
    expect(Object.keys(outcomes)).toEqual(["refused"]); // the W=3 writes are still waiting
    sim.run(6_000); // they time out (504) and free the budget

    // W=2 writes are answered by n1 and n2 while their FSMs still wait for n3: once answered
    // they leave the budget, so ten of them in a row all succeed with a budget of four.
    const statuses: number[] = [];
    let count = 0;
    const next = () => {
      if (count >= 10) return;
      count += 1;
      sim.request("n1", put(`fast${count}`, 2), 10_000, (outcome) => {
        statuses.push(outcome.kind === "response" ? outcome.response.status : -1);
        next();
      });
    };
    next();
    sim.run(1_000);
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 204));

    const availability = (sim.node("n1") as DynamoNode).availability();
    expect(availability.eligible).toBe(15); // 4 timeouts + 1 overload + 10 ok
    expect(availability.good).toBe(10);
  });
});
