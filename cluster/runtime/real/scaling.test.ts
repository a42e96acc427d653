// Scaling out and back in under load (lesson 8, "scaling out"), on real node processes: five
// nodes and one spare on free ports; while a few clients keep writing unique keys at W=2, the
// spare n6 starts as a joiner, every node comes to agree on a six-member ring, partitions move to
// n6 in the background, then n6 leaves again and hands everything back. Nothing acknowledged may
// be lost, and both rings must be balanced: every member owns floor(Q/S) or ceil(Q/S) partitions.
// The simulator runs the same story in cluster/runtime/sim/scaling.test.ts.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashKey, preferenceList } from "../../core/ring.ts";
import type { NodeId } from "../../core/types.ts";
import { startLocalCluster, type LocalCluster } from "./cluster.ts";
import { eventually, httpCall, keyPath, mapConcurrently, metricValue } from "./test-support.ts";

const partitionCount = 64;
const bucket = "scaling";
const original = ["n1", "n2", "n3", "n4", "n5"];
const grownMembers = [...original, "n6"];
const writerCount = 4;
const writerThinkMs = 10;

let cluster: LocalCluster;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(async () => {
  cluster = await startLocalCluster({
    nodes: 5,
    spareNodes: 1,
    sync: "never", // nothing crashes here; the disk is not what this test is about
    partitionCount,
    defaults: { timeoutMs: 3_000 },
    // Small transfer batches, so that moving partitions takes seconds and the writes keep
    // landing while it happens.
    timing: { heartbeatIntervalMs: 200, handoffIntervalMs: 200, handoffBatchMax: 10 },
  });
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await cluster?.stop();
});

interface RingView {
  version: number;
  members: NodeId[];
  owners: NodeId[];
  partitionCount: number;
}

const port = (id: NodeId) => cluster.node(id).httpPort;

async function json<T>(id: NodeId, path: string): Promise<T> {
  const answer = await httpCall(port(id), { path, agent });
  if (answer.status !== 200)
    throw new Error(`GET ${path} on ${id}: ${answer.status} ${answer.body}`);
  return JSON.parse(answer.body) as T;
}

const ringOf = (id: NodeId) => json<RingView>(id, "/ring");
const keyCountOf = async (id: NodeId) =>
  (await json<{ keyCount: number }>(id, "/debug/store")).keyCount;

async function nodeStat(id: NodeId, stat: string): Promise<number> {
  const text = (await httpCall(port(id), { path: "/metrics", agent })).body;
  const value = metricValue(text, "neverstop_node_stat", { stat });
  if (value === undefined) throw new Error(`${id} exposes no neverstop_node_stat ${stat}`);
  return value;
}

/** The ring every one of `ids` holds, when they all hold the same one with these members. */
async function agreedRing(ids: NodeId[], members: NodeId[]): Promise<RingView | undefined> {
  const rings = await Promise.all(ids.map(ringOf));
  const first = rings[0]!;
  const same = rings.every(
    (ring) =>
      ring.version === first.version &&
      JSON.stringify([ring.members, ring.owners]) === JSON.stringify([first.members, first.owners]),
  );
  return same && JSON.stringify(first.members) === JSON.stringify(members) ? first : undefined;
}

/** Partitions owned per member. */
function ownership(ring: RingView): Record<NodeId, number> {
  const counts: Record<NodeId, number> = {};
  for (const member of ring.members) counts[member] = 0;
  for (const owner of ring.owners) counts[owner] = (counts[owner] ?? 0) + 1;
  return counts;
}

function isBalanced(ring: RingView): boolean {
  const floor = Math.floor(ring.owners.length / ring.members.length);
  const ceil = Math.ceil(ring.owners.length / ring.members.length);
  return Object.values(ownership(ring)).every((count) => count === floor || count === ceil);
}

async function quiet(ids: NodeId[]): Promise<true | undefined> {
  for (const id of ids) {
    if ((await nodeStat(id, "transfersActive")) !== 0) return undefined;
    if ((await nodeStat(id, "hintsPending")) !== 0) return undefined;
  }
  return true;
}

interface Load {
  acknowledged: Map<string, number>;
  outcomes: Record<string, number>;
  stop(): Promise<void>;
}

/** Writers that each put unique keys one after another at W=2 through a random original node. */
function startLoad(): Load {
  const acknowledged = new Map<string, number>();
  const outcomes: Record<string, number> = {};
  let stopped = false;
  const writer = async (writerIndex: number) => {
    for (let count = 1; !stopped; count++) {
      const key = `w${writerIndex}-${count}`;
      const target = original[Math.floor(Math.random() * original.length)]!;
      let outcome: string;
      try {
        const answer = await httpCall(port(target), {
          method: "PUT",
          path: keyPath(bucket, key, "w=2"),
          body: JSON.stringify(count),
          agent,
        });
        outcome = String(answer.status);
        if (answer.status === 204) acknowledged.set(key, count);
      } catch {
        outcome = "network-error";
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, writerThinkMs));
    }
  };
  const writers = Array.from({ length: writerCount }, (_, index) => writer(index));
  return {
    acknowledged,
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(writers);
    },
  };
}

/** `replica@key` for every acknowledged key some replica of the final ring does not hold. */
async function missingReplicas(keys: string[], ring: RingView): Promise<string[]> {
  const missing: string[] = [];
  await mapConcurrently(keys, 32, async (key) => {
    const replicas = preferenceList(ring, hashKey(bucket, key), 3).primaries;
    for (const { node } of replicas) {
      const path = `/debug/kv/${bucket}/${encodeURIComponent(key)}`;
      const answer = await httpCall(port(node), { path, agent });
      if (answer.status !== 200) missing.push(`${node}@${key}`);
    }
  });
  return missing;
}

describe("scaling real processes from 5 to 6 nodes and back under load", () => {
  it("loses no acknowledged write and ends with a balanced ring each time", async () => {
    const startedAt = Date.now();
    const load = startLoad();
    try {
      await eventually("the first 1500 acknowledged writes", 40_000, async () =>
        load.acknowledged.size >= 1_500 ? true : undefined,
      );
      const acknowledgedBeforeJoin = load.acknowledged.size;

      // 1. n6 joins: it asks n1, gossip spreads the new ring, partitions move to n6.
      await cluster.addNode("n6");
      const grown = await eventually("all six nodes to agree on a six-member ring", 30_000, () =>
        agreedRing(grownMembers, grownMembers),
      );
      expect(isBalanced(grown), JSON.stringify(ownership(grown))).toBe(true);
      await eventually("transfers to n6 to finish", 40_000, () => quiet(grownMembers));
      const n6Keys = await keyCountOf("n6");
      expect(n6Keys).toBeGreaterThan(0);
      const handedToN6 = (
        await Promise.all(original.map((id) => nodeStat(id, "transfersCompleted")))
      ).reduce((sum, count) => sum + count, 0);
      expect(handedToN6, "keys the old owners handed over and dropped").toBeGreaterThan(0);
      const joinedAtMs = Date.now() - startedAt;

      // 2. n6 leaves (asked through n2): its partitions move back, and it hands over every key.
      const left = await httpCall(port("n2"), {
        method: "POST",
        path: "/admin/leave",
        body: JSON.stringify({ node: "n6" }),
        agent,
      });
      expect(left.status, left.body).toBe(200);
      expect((JSON.parse(left.body) as RingView).members).toEqual(original);
      const shrunk = await eventually("the five to agree on a five-member ring", 30_000, () =>
        agreedRing(original, original),
      );
      expect(shrunk.version).toBeGreaterThan(grown.version);
      expect(isBalanced(shrunk), JSON.stringify(ownership(shrunk))).toBe(true);
      await eventually("n6 to hand over every key", 40_000, async () =>
        (await keyCountOf("n6")) === 0 ? true : undefined,
      );
      // n6 dropped each key only once every new replica had acknowledged it.
      expect(await nodeStat("n6", "transfersCompleted")).toBeGreaterThanOrEqual(n6Keys);
      await load.stop();
      const acknowledgedWhileScaling = load.acknowledged.size - acknowledgedBeforeJoin;
      expect(acknowledgedWhileScaling).toBeGreaterThan(0);
      await eventually("transfers and hints to finish", 30_000, () => quiet(original));

      // 3. Every acknowledged write is readable at R=2 and on each of its three replicas.
      const keys = [...load.acknowledged.keys()];
      expect(keys.length).toBeGreaterThan(acknowledgedBeforeJoin);
      const wrong: string[] = [];
      await mapConcurrently(keys, 32, async (key) => {
        const reader = original[Math.floor(Math.random() * original.length)]!;
        const answer = await httpCall(port(reader), { path: keyPath(bucket, key, "r=2"), agent });
        const expected = JSON.stringify({ siblings: [load.acknowledged.get(key)] });
        const siblings = answer.status === 200 ? JSON.parse(answer.body).siblings : undefined;
        if (JSON.stringify({ siblings }) !== expected) wrong.push(`${key}: ${answer.status}`);
      });
      expect(wrong.slice(0, 10)).toEqual([]);
      const missingAtFirst = await missingReplicas(keys, shrunk);
      // Replicas that missed a write while ownership moved are filled in by anti-entropy: wait
      // for that (bounded), then demand every copy.
      let missing = missingAtFirst;
      const deadline = Date.now() + 20_000;
      while (missing.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        missing = await missingReplicas(
          [...new Set(missing.map((entry) => entry.slice(entry.indexOf("@") + 1)))],
          shrunk,
        );
      }
      expect(missing.slice(0, 10)).toEqual([]);
      console.log(
        JSON.stringify({
          acknowledged: keys.length,
          outcomes: load.outcomes,
          acknowledgedWhileScaling,
          n6KeysAfterJoin: n6Keys,
          keysHandedToN6: handedToN6,
          ringVersions: { grown: grown.version, shrunk: shrunk.version },
          ownership: { grown: ownership(grown), shrunk: ownership(shrunk) },
          replicasMissingAtFirstCheck: missingAtFirst.length,
          joinedAtMs,
          totalMs: Date.now() - startedAt,
        }),
      );
    } finally {
      await load.stop();
    }
  }, 120_000);
});
