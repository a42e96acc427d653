// Data types under partitions (lesson 6), in the simulator: PN-counter increments and OR-set
// adds accepted on both sides of a split at W=1 all survive the heal; every replica converges
// through anti-entropy; a bad operation is a 400 that writes nothing.
import { describe, expect, it } from "vitest";
import type { ClientRequest, ClientResponse } from "../../core/types.ts";
import { Random } from "./random.ts";
import { Simulation } from "./simulator.ts";
import { clusterConfig, replayLine, seeds, sequentialClient } from "./testing.ts";

const thisFile = "cluster/runtime/sim/crdt.test.ts";

function split(sim: Simulation, left: string[], right: string[]) {
  for (const a of left) {
    for (const b of right) {
      sim.links.cut(a, b, "refuse");
      sim.links.cut(b, a, "refuse");
    }
  }
}

describe("data types under a partition", () => {
  it("loses no increment and no add, and every replica converges", () => {
    for (const seed of seeds(5, process.env.NEVERSTOP_SEED)) {
      const replay = replayLine(thisFile, seed);
      const config = clusterConfig(5, { timing: { antiEntropyIntervalMs: 100 } });
      const sim = new Simulation({ config, seed });
      const random = new Random(`crdt:${seed}`);
      let incrementsOk = 0;
      let incrementsMaybe = 0;
      const addsOk: string[] = [];
      for (let client = 0; client < 6; client += 1) {
        let count = 0;
        sequentialClient(sim, {
          startMs: client,
          thinkMs: 40,
          pickNode: () => random.pick(config.nodes),
          next: (previous) => {
            if (previous !== undefined && previous.request.op === "crdt-update") {
              const outcome = previous.outcome;
              const status = outcome.kind === "response" ? outcome.response.status : 0;
              const counter = previous.request.crdt === "pn-counter";
              if (status === 204) {
                if (counter) incrementsOk += 1;
                else addsOk.push(...((previous.request.operation as { add: string[] }).add ?? []));
              } else if (counter && outcome.kind !== "refused") {
                const body = outcome.kind === "response" ? outcome.response : undefined;
                const definite = body?.status === 503 && body.body.indeterminate !== true;
                if (!definite && body?.status !== 400) incrementsMaybe += 1;
              }
            }
            if (sim.now > 6_000) return undefined;
            count += 1;
            const request: ClientRequest = random.chance(0.5)
              ? {
                  op: "crdt-update",
                  bucket: "b",
                  key: "hits",
                  crdt: "pn-counter",
                  operation: { type: "pn-counter", increment: 1 },
                  w: 1,
                }
              : {
                  op: "crdt-update",
                  bucket: "b",
                  key: "seen",
                  crdt: "or-set",
                  operation: { type: "or-set", add: [`c${client}-${count}`] },
                  w: 1,
                };
            return request;
          },
        });
      }
      sim.at(1_500, () => split(sim, ["n1", "n2"], ["n3", "n4", "n5"]));
      sim.at(4_500, () => sim.links.heal());
      sim.run(20_000);
      expect(incrementsOk, replay).toBeGreaterThan(50);
      // After the heal, every node reads the same values, at R=1 from whichever replica.
      const values: Array<ClientResponse | undefined> = [];
      for (const node of config.nodes) {
        for (const [key, crdt] of [
          ["hits", "pn-counter"],
          ["seen", "or-set"],
        ] as const) {
          sim.request(node, { op: "crdt-get", bucket: "b", key, crdt, r: 3 }, 5_000, (outcome) => {
            values.push(outcome.kind === "response" ? outcome.response : undefined);
          });
        }
      }
      sim.run(5_000);
      const counters = values.filter(
        (v) => v?.status === 200 && "crdt" in v.body && v.body.crdt === "pn-counter",
      );
      const sets = values.filter(
        (v) => v?.status === 200 && "crdt" in v.body && v.body.crdt === "or-set",
      );
      expect(counters.length, replay).toBe(5);
      expect(sets.length, replay).toBe(5);
      for (const counter of counters) {
        const value = (counter as { body: { value: number } }).body.value;
        expect(value, replay).toBeGreaterThanOrEqual(incrementsOk);
        expect(value, replay).toBeLessThanOrEqual(incrementsOk + incrementsMaybe);
      }
      for (const set of sets) {
        const members = new Set((set as { body: { value: string[] } }).body.value);
        expect(
          addsOk.filter((element) => !members.has(element)),
          replay,
        ).toEqual([]);
      }
    }
  });

  it("refuses a malformed operation with a 400 and writes nothing", () => {
    const config = clusterConfig(3);
    const sim = new Simulation({ config, seed: 1 });
    const statuses: number[] = [];
    const send = (request: ClientRequest) =>
      sim.request("n1", request, 5_000, (outcome) => {
        statuses.push(outcome.kind === "response" ? outcome.response.status : -1);
      });
    send({
      op: "crdt-update",
      bucket: "b",
      key: "k",
      crdt: "pn-counter",
      operation: { type: "pn-counter", increment: 1.5 },
    });
    send({
      op: "crdt-update",
      bucket: "b",
      key: "k",
      crdt: "or-set",
      operation: { type: "pn-counter", increment: 1 },
    });
    sim.run(2_000);
    send({ op: "crdt-get", bucket: "b", key: "k", crdt: "pn-counter" });
    sim.run(2_000);
    expect(statuses).toEqual([400, 400, 404]);
  });
});
