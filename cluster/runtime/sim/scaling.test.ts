// Scaling out and back in under load (lesson 8), in the simulator: a sixth node joins five,
// partitions move to it in the background, then it leaves again; no acknowledged write is lost
// and the ring ends balanced. A failing seed prints the command that replays it.
import { describe, expect, it } from "vitest";
import { DynamoNode } from "../../core/node.ts";
import { Random } from "./random.ts";
import { Simulation } from "./simulator.ts";
import { clusterConfig, replayLine, seeds, sequentialClient } from "./testing.ts";

const thisFile = "cluster/runtime/sim/scaling.test.ts";

function ownership(owners: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const owner of owners) counts[owner] = (counts[owner] ?? 0) + 1;
  return counts;
}

function balanced(owners: string[], members: string[]): boolean {
  const counts = ownership(owners);
  const floor = Math.floor(owners.length / members.length);
  return members.every((member) => {
    const count = counts[member] ?? 0;
    return count === floor || count === floor + 1;
  });
}

describe("scaling from 5 to 6 nodes and back under load", () => {
  it("loses no acknowledged write and ends with a balanced ring", () => {
    for (const seed of seeds(4, process.env.NEVERSTOP_SEED)) {
      const replay = replayLine(thisFile, seed);
      const config = clusterConfig(5, {
        timing: { heartbeatIntervalMs: 200, handoffIntervalMs: 100 },
      });
      const sim = new Simulation({ config, seed, sync: { kind: "always" } });
      const random = new Random(`scaling:${seed}`);
      const acknowledged: string[] = [];
      for (let client = 0; client < 5; client += 1) {
        let count = 0;
        sequentialClient(sim, {
          startMs: client,
          thinkMs: 10,
          pickNode: () => random.pick(config.nodes),
          next: (previous) => {
            if (previous?.outcome.kind === "response" && previous.outcome.response.status === 204) {
              acknowledged.push(previous.request.key);
            }
            if (sim.now > 30_000) return undefined;
            count += 1;
            return { op: "put", bucket: "b", key: `c${client}-${count}`, value: count, w: 2 };
          },
        });
      }
      const node = (id: string) => sim.node(id) as DynamoNode;
      sim.at(3_000, () => sim.addNode("n6"));
      sim.run(15_000);
      // n6 joined: every node agrees on a six-member ring, balanced, and n6 holds data.
      const grown = node("n1").ring;
      expect(grown.members, replay).toEqual(["n1", "n2", "n3", "n4", "n5", "n6"]);
      for (const id of grown.members) expect(node(id).ring.version, replay).toBe(grown.version);
      expect(balanced(grown.owners, grown.members), replay).toBe(true);
      expect(node("n6").stats().transfersActive, replay).toBe(0);
      const n6Keys = sim.snapshot().nodes.find((entry) => entry.id === "n6")!.keyCount;
      expect(n6Keys, replay).toBeGreaterThan(0);

      node("n2").leave("n6");
      sim.run(30_000);
      const shrunk = node("n1").ring;
      expect(shrunk.members, replay).toEqual(config.nodes);
      expect(balanced(shrunk.owners, shrunk.members), replay).toBe(true);
      expect(sim.snapshot().nodes.find((entry) => entry.id === "n6")!.keyCount, replay).toBe(0);

      // Every acknowledged key is on every one of its replicas under the final ring.
      expect(acknowledged.length, replay).toBeGreaterThan(2_000);
      const missing: string[] = [];
      for (const key of acknowledged) {
        for (const replica of node("n1").preferenceListOf("b", key, 3)) {
          if (node(replica).inspect("b", key) === null) missing.push(`${key}@${replica}`);
        }
      }
      expect(missing.slice(0, 10), replay).toEqual([]);
    }
  });
});
