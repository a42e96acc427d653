// Systems that never stop (lesson 5), in the simulator over many seeds: with one of five nodes
// partitioned away, sloppy-quorum writes keep succeeding; after the heal, hinted handoff and
// anti-entropy bring every replica back without any client reading the keys; nothing
// acknowledged is lost. And the contrast the lesson draws: strict writes (PW = N) refuse
// instead.
import { describe, expect, it } from "vitest";
import { DynamoNode } from "../../core/node.ts";
import { Random } from "./random.ts";
import { Simulation } from "./simulator.ts";
import { clusterConfig, replayLine, seeds, sequentialClient } from "./testing.ts";

const thisFile = "cluster/runtime/sim/never-stop.test.ts";
const pinnedSeed = process.env.NEVERSTOP_SEED;

function isolate(sim: Simulation, node: string, nodes: string[]) {
  for (const other of nodes) {
    if (other === node) continue;
    sim.links.cut(node, other, "drop");
    sim.links.cut(other, node, "drop");
  }
}

describe("one node partitioned away, then healed", () => {
  it("keeps accepting W=2 writes, hands hints back and converges every replica", () => {
    for (const seed of seeds(8, pinnedSeed)) {
      const config = clusterConfig(5, {
        timing: { heartbeatIntervalMs: 200, suspicionMs: 800, antiEntropyIntervalMs: 100 },
      });
      const sim = new Simulation({ config, seed, sync: { kind: "always" } });
      const random = new Random(`never-stop:${seed}`);
      const victim = random.pick(config.nodes);
      const reachable = config.nodes.filter((node) => node !== victim);
      const faultStartMs = 3_000;
      const faultEndMs = 13_000;
      const acknowledged: string[] = [];
      let duringFault = 0;
      let duringFaultOk = 0;
      for (let client = 0; client < 5; client += 1) {
        let count = 0;
        sequentialClient(sim, {
          startMs: client,
          thinkMs: 5,
          pickNode: () => random.pick(reachable),
          next: (previous) => {
            if (previous !== undefined) {
              const ok =
                previous.outcome.kind === "response" && previous.outcome.response.status === 204;
              if (ok) acknowledged.push(previous.request.key);
              if (previous.startMs >= faultStartMs && previous.endMs <= faultEndMs) {
                duringFault += 1;
                if (ok) duringFaultOk += 1;
              }
            }
            if (sim.now > 16_000) return undefined;
            count += 1;
            return { op: "put", bucket: "b", key: `c${client}-${count}`, value: count, w: 2 };
          },
        });
      }
      sim.at(faultStartMs, () => isolate(sim, victim, config.nodes));
      sim.at(faultEndMs, () => sim.links.heal());
      sim.run(16_000);
      const replay = replayLine(thisFile, seed);
      expect(duringFault, replay).toBeGreaterThan(1_000);
      expect(duringFaultOk / duringFault, replay).toBeGreaterThanOrEqual(0.999);
      const victimNode = sim.node(victim) as DynamoNode;
      expect(victimNode.stats().peersDown, replay).toBe(0);

      // No client reads anything: hints and anti-entropy alone must repair the victim.
      sim.run(20_000);
      const nodes = config.nodes.map((id) => sim.node(id) as DynamoNode);
      expect(
        nodes.map((node) => node.stats().hintsPending),
        replay,
      ).toEqual(nodes.map(() => 0));
      expect(
        nodes.reduce((sum, node) => sum + node.stats().hintsStored, 0),
        replay,
      ).toBeGreaterThan(0);
      const missing: string[] = [];
      for (const key of acknowledged) {
        for (const replica of nodes[0]!.preferenceListOf("b", key, 3)) {
          const node = nodes.find((candidate) => candidate.nodeId === replica)!;
          if (node.inspect("b", key) === null) missing.push(`${key}@${replica}`);
        }
      }
      expect(missing.slice(0, 10), replay).toEqual([]);
    }
  });

  it("refuses strict writes (PW = N) while a primary is away, where sloppy ones succeed", () => {
    const config = clusterConfig(5, { timing: { heartbeatIntervalMs: 200, suspicionMs: 800 } });
    const sim = new Simulation({ config, seed: 3 });
    const probe = sim.node("n1") as DynamoNode;
    // A key whose preference list holds n5, written through n1 while n5 is isolated.
    let key = "k0";
    for (let index = 0; !probe.preferenceListOf("b", key, 3).includes("n5"); index += 1) {
      key = `k${index}`;
    }
    isolate(sim, "n5", config.nodes);
    sim.run(2_000); // long enough for everyone to suspect n5
    const statuses: Record<string, number> = {};
    const put = (name: string, extra: { w: number; pw?: number }) =>
      sim.request(
        "n1",
        { op: "put", bucket: "b", key, value: name, ...extra },
        5_000,
        (outcome) => {
          statuses[name] = outcome.kind === "response" ? outcome.response.status : -1;
        },
      );
    put("sloppy", { w: 3 });
    sim.run(2_000);
    put("strict", { w: 3, pw: 3 });
    sim.run(2_000);
    expect(statuses).toEqual({ sloppy: 204, strict: 503 });
  });
});
