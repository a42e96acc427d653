// The simulator's promises (lesson 1): a run is a pure function of its inputs and seed, and the
// node's safety properties hold under crashes and partitions over many seeds. A failing seed is
// printed with the command that replays it.
import { describe, expect, it } from "vitest";
import { DynamoNode } from "../../core/node.ts";
import { hashKey, preferenceList } from "../../core/ring.ts";
import type { ClientRequest, PeerMessage } from "../../core/types.ts";
import { partition, randomShape } from "../../../chaos/nemesis/partitions.ts";
import { Random } from "./random.ts";
import { Simulation, type NodeFactory } from "./simulator.ts";
import { clusterConfig, replayLine, seeds, sequentialClient, type Exchange } from "./testing.ts";

const thisFile = "cluster/runtime/sim/simulator.test.ts";
const pinnedSeed = process.env.NEVERSTOP_SEED;

/** A busy run: 5 nodes, 6 clients writing and reading 4 keys, a partition and a crash. */
function busyRun(seed: number, nodeFactory?: NodeFactory): string {
  const config = clusterConfig(5);
  const sim = new Simulation({
    config,
    seed,
    trace: true,
    ...(nodeFactory === undefined ? {} : { nodeFactory }),
    link: {
      latency: { kind: "exponential", meanMs: 2, minMs: 0.1 },
      lossRate: 0.01,
      duplicateRate: 0.01,
      reorderRate: 0.05,
    },
  });
  const random = new Random(`clients:${seed}`);
  const logs: Exchange[][] = [];
  for (let client = 0; client < 6; client += 1) {
    let count = 0;
    logs.push(
      sequentialClient(sim, {
        startMs: client,
        pickNode: () => random.pick(config.nodes),
        next: (previous) => {
          if ((count += 1) > 40) return undefined;
          const key = `k${random.integer(4)}`;
          const context =
            previous?.outcome.kind === "response" &&
            previous.outcome.response.status === 200 &&
            previous.request.key === key
              ? previous.outcome.response.body.context
              : undefined;
          return random.chance(0.5)
            ? { op: "get", bucket: "b", key }
            : { op: "put", bucket: "b", key, value: count * 10 + client, context };
        },
      }),
    );
  }
  const shape = partition(
    config.nodes,
    randomShape(config.nodes, (bound) => random.integer(bound)),
  );
  sim.at(100, () => shape.cut.forEach((link) => sim.links.cut(link.from, link.to)));
  sim.at(300, () => sim.links.heal());
  const victim = random.pick(config.nodes);
  sim.at(150, () => sim.crash(victim));
  sim.at(400, () => sim.restart(victim));
  sim.run(5_000);
  return JSON.stringify({ logs, trace: sim.trace, counts: sim.messageCounts });
}

describe("determinism", () => {
  it("gives byte-identical histories and traces for the same seed (200 seeds)", () => {
    let exchanges = 0;
    for (const seed of seeds(200, pinnedSeed)) {
      const first = busyRun(seed);
      const second = busyRun(seed);
      expect(first === second, replayLine(thisFile, seed)).toBe(true);
      exchanges += (JSON.parse(first) as { logs: unknown[][] }).logs.flat().length;
    }
    expect(exchanges).toBeGreaterThan(200 * 100);
  });

  it("gives different runs for different seeds", () => {
    expect(busyRun(1)).not.toBe(busyRun(2));
  });

  it("catches a node that draws randomness behind the simulator's back", () => {
    // The injected nondeterminism: a node whose randomness comes from Math.random, as if
    // someone had called it inside cluster/core. The same seed no longer replays the same run.
    const sneaky: NodeFactory = ({ config, nodeId, env }) =>
      new DynamoNode({ config, nodeId, env: { ...env, random: () => Math.random() } });
    const diverged = [1, 2, 3].some((seed) => busyRun(seed, sneaky) !== busyRun(seed, sneaky));
    expect(diverged).toBe(true);
  });
});

function putRequest(key: string, value: number, w: number): ClientRequest {
  return { op: "put", bucket: "b", key, value, w };
}

describe("safety over many seeds", () => {
  it("loses no write acknowledged at W=2 with sync always when one node crashes", () => {
    for (const seed of seeds(60, pinnedSeed)) {
      const config = clusterConfig(5);
      const sim = new Simulation({ config, seed, sync: { kind: "always" } });
      const random = new Random(`crash:${seed}`);
      const acknowledged: string[] = [];
      for (let client = 0; client < 4; client += 1) {
        let count = 0;
        sequentialClient(sim, {
          startMs: client,
          pickNode: () => random.pick(config.nodes),
          next: (previous) => {
            if (previous?.outcome.kind === "response" && previous.outcome.response.status === 204) {
              acknowledged.push(previous.request.key);
            }
            if ((count += 1) > 60) return undefined;
            return putRequest(`c${client}-${count}`, count, 2);
          },
        });
      }
      const victim = random.pick(config.nodes);
      sim.at(20 + random.integer(100), () => sim.crash(victim));
      sim.run(10_000);
      expect(acknowledged.length, replayLine(thisFile, seed)).toBeGreaterThan(100);
      // Read everything back at R=2 from the survivors; the victim stays down.
      const missing: string[] = [];
      const survivors = config.nodes.filter((node) => node !== victim);
      let index = 0;
      sequentialClient(sim, {
        startMs: sim.now + 1,
        pickNode: () => random.pick(survivors),
        next: (previous) => {
          if (previous !== undefined) {
            const found =
              previous.outcome.kind === "response" && previous.outcome.response.status === 200;
            if (!found) missing.push(previous.request.key);
          }
          const key = acknowledged[index++];
          return key === undefined ? undefined : { op: "get", bucket: "b", key, r: 2 };
        },
      });
      sim.run(60_000);
      expect(missing, replayLine(thisFile, seed)).toEqual([]);
    }
  });

  it("keeps two concurrent blind writes as siblings and collapses them with the merged context", () => {
    for (const seed of seeds(50, pinnedSeed)) {
      const config = clusterConfig(5);
      const sim = new Simulation({ config, seed });
      const random = new Random(`siblings:${seed}`);
      const [first, second] = [random.pick(config.nodes), random.pick(config.nodes)];
      const results: number[] = [];
      sim.at(0, () => sim.request(first, putRequest("cart", 1, 3), 5_000, () => {}));
      sim.at(0, () => sim.request(second, putRequest("cart", 2, 3), 5_000, () => {}));
      sim.run(1_000);
      let context = "";
      sim.request(
        random.pick(config.nodes),
        { op: "get", bucket: "b", key: "cart", r: 3 },
        5_000,
        (outcome) => {
          if (outcome.kind === "response" && outcome.response.status === 200) {
            results.push(
              "siblings" in outcome.response.body ? outcome.response.body.siblings.length : -1,
            );
            context = outcome.response.body.context;
          }
        },
      );
      sim.run(1_000);
      sim.request(
        random.pick(config.nodes),
        { op: "put", bucket: "b", key: "cart", value: 3, context, w: 3 },
        5_000,
        () => {},
      );
      sim.run(1_000);
      sim.request(
        random.pick(config.nodes),
        { op: "get", bucket: "b", key: "cart", r: 3 },
        5_000,
        (outcome) => {
          if (outcome.kind === "response" && outcome.response.status === 200) {
            results.push(
              "siblings" in outcome.response.body ? outcome.response.body.siblings.length : -1,
            );
          }
        },
      );
      sim.run(1_000);
      expect(results, replayLine(thisFile, seed)).toEqual([2, 1]);
    }
  });
});

describe("observability", () => {
  it("takes snapshots that show a crash, a cut link and where the keys went", () => {
    const config = clusterConfig(5);
    const sim = new Simulation({ config, seed: 7, trace: true });
    sim.request("n1", putRequest("k", 1, 3), 2_000, () => {});
    sim.run(100);
    sim.crash("n2");
    sim.links.cut("n3", "n4");
    const snapshot = sim.snapshot();
    expect(snapshot.cutLinks).toEqual(["n3->n4"]);
    expect(snapshot.nodes.find((node) => node.id === "n2")?.up).toBe(false);
    const holders = snapshot.nodes.filter((node) => node.keyCount === 1).map((node) => node.id);
    const reference = sim.node("n1") as DynamoNode;
    const expected = reference.preferenceListOf("b", "k", 3);
    expect(holders.sort()).toEqual(expected.filter((node) => node !== "n2").sort());
    // Partitions are reported by the nodes that are up: everything but the crashed n2's share.
    const owned = snapshot.nodes.flatMap((node) => node.partitions ?? []);
    const ownedByCrashed = reference.ring.owners.filter((owner) => owner === "n2").length;
    expect(owned.length).toBe(64 - ownedByCrashed);
    // The trace tells the same story: the put was sent to and delivered at two other replicas.
    const delivered = sim.trace.filter(
      (entry) => entry[1] === "deliver" && entry[4] === "replicate",
    );
    expect(delivered.length).toBeGreaterThanOrEqual(1);
  });
});

describe("messages are shared frozen, not copied", () => {
  it("throws when a node changes a message it received, instead of changing the sender's", () => {
    const config = clusterConfig(2);
    const clock = { a: 1 };
    const received: unknown[] = [];
    const nodeFactory: NodeFactory = ({ nodeId, env }) => {
      if (nodeId === "n1") env.setTimer(1, { kind: "heartbeat" });
      return {
        handle: (event) => {
          if (event.type === "timer") {
            const object = { mode: "causal" as const, clock, siblings: [] };
            env.send("n2", { type: "repair", bucket: "b", key: "k", object });
          }
          if (event.type !== "peer" || event.message.type !== "repair") return;
          received.push(event.message.object);
          (event.message.object.clock as Record<string, number>).a = 99;
        },
      };
    };
    const sim = new Simulation({ config, seed: 1, nodeFactory });
    expect(() => sim.run(100)).toThrow(TypeError);
    expect(received).toHaveLength(1);
    expect(clock.a).toBe(1);
  });

  it("refuses a message that would not survive a JSON copy over TCP", () => {
    const config = clusterConfig(2);
    const nodeFactory: NodeFactory = ({ nodeId, env }) => {
      const message = { type: "ping", note: undefined } as unknown as PeerMessage;
      if (nodeId === "n1") env.setTimer(1, { kind: "heartbeat" });
      return { handle: (event) => event.type === "timer" && env.send("n2", message) };
    };
    const sim = new Simulation({ config, seed: 1, nodeFactory });
    expect(() => sim.run(100)).toThrow("Expected `note` to be a JSON value, got undefined");
  });

  it("places every key as the reference preference list does, before and after a ring change", () => {
    // Nodes keep one placement per partition for the reference policy (gossip.ts); it must be
    // the list the policy gives for each key itself, and change when the ring does.
    const config = clusterConfig(5);
    const sim = new Simulation({ config, seed: 3 });
    const check = () => {
      for (const id of sim.nodeIds()) {
        const node = sim.node(id);
        if (!(node instanceof DynamoNode)) continue;
        for (let index = 0; index < 300; index += 1) {
          const key = `k${index}`;
          const expected = preferenceList(node.ring, hashKey("b", key), 3).primaries;
          expect(node.preferenceListOf("b", key, 3)).toEqual(expected.map((entry) => entry.node));
        }
      }
    };
    check();
    sim.addNode("n6");
    sim.run(20_000); // the joiner is let in and the new ring gossiped to every node
    expect((sim.node("n1") as DynamoNode).ring.members).toContain("n6");
    check();
  });
});
