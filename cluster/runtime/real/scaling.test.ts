// Scaling out and back in under load (lesson 8, "scaling out"), on real node processes: five
// nodes and one spare on free ports; while a few clients keep writing unique keys at W=2, the
// spare n6 starts as a joiner, every node comes to agree on a six-member ring, partitions move to
// n6 in the background, then n6 leaves again and hands everything back. Nothing acknowledged may
// be lost, and both rings must be balanced: every member owns floor(Q/S) or ceil(Q/S) partitions.
// The simulator runs the same story in cluster/runtime/sim/scaling.test.ts. Then the same moves
// through the admin routes and `npx neverstop join | leave` on a small cluster.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashKey, preferenceList } from "../../core/ring.ts";
import type { NodeId } from "../../core/types.ts";
import { fetchHealth, startLocalCluster, type LocalCluster } from "./cluster.ts";
import type { ClusterRecord } from "../../../cli/local-cluster.ts";
import { registerMembershipCommands } from "../../../cli/membership-commands.ts";
import {
  eventually,
  httpCall,
  keyPath,
  mapConcurrently,
  metricValue,
  type HttpAnswer,
} from "./test-support.ts";

const partitionCount = 64;
const bucket = "scaling";
const original = ["n1", "n2", "n3", "n4", "n5"];
const grownMembers = [...original, "n6"];
const writerCount = 4;
const writerThinkMs = 10;

let cluster: LocalCluster;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface RingView {
  version: number;
  members: NodeId[];
  owners: NodeId[];
  partitionCount: number;
}

const port = (id: NodeId) => cluster.node(id).httpPort;

/** A GET, tried once more on a network error (a kept-alive connection the node closed at the
 * same moment): a read is safe to repeat. */
async function getFrom(portNumber: number, path: string): Promise<HttpAnswer> {
  try {
    return await httpCall(portNumber, { path, agent });
  } catch {
    return httpCall(portNumber, { path });
  }
}

async function json<T>(id: NodeId, path: string): Promise<T> {
  const answer = await getFrom(port(id), path);
  if (answer.status !== 200)
    throw new Error(`GET ${path} on ${id}: ${answer.status} ${answer.body}`);
  return JSON.parse(answer.body) as T;
}

const ringOf = (id: NodeId) => json<RingView>(id, "/ring");
const keyCountOf = async (id: NodeId) =>
  (await json<{ keyCount: number }>(id, "/debug/store")).keyCount;

async function nodeStat(id: NodeId, stat: string): Promise<number> {
  const text = (await getFrom(port(id), "/metrics")).body;
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
      const answer = await getFrom(port(node), path);
      if (answer.status !== 200) missing.push(`${node}@${key}`);
    }
  });
  return missing;
}

describe("scaling real processes from 5 to 6 nodes and back under load", () => {
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
    await cluster?.stop();
  });

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
      // Each key was written once, so every sibling must be that value. There may be two: when
      // the first replica asked to mint the version answers too late (a slow, cold process),
      // the coordinator asks the next one, and both versions survive (Dynamo keeps both).
      const wrong: string[] = [];
      let keysWithTwoSiblings = 0;
      await mapConcurrently(keys, 32, async (key) => {
        const reader = original[Math.floor(Math.random() * original.length)]!;
        const answer = await getFrom(port(reader), keyPath(bucket, key, "r=2"));
        const siblings: unknown[] = answer.status === 200 ? JSON.parse(answer.body).siblings : [];
        const value = load.acknowledged.get(key);
        if (siblings.length === 0 || siblings.some((sibling) => sibling !== value)) {
          wrong.push(`${key}: ${answer.status} ${answer.body.slice(0, 200)}`);
        }
        if (siblings.length > 1) keysWithTwoSiblings += 1;
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
          keysWithTwoSiblings,
          joinedAtMs,
          totalMs: Date.now() - startedAt,
        }),
      );
    } finally {
      await load.stop();
    }
  }, 120_000);
});

describe("join and leave on a running cluster: admin routes and the command line", () => {
  let small: LocalCluster;
  let record: ClusterRecord;
  const recordPath = () => join(small.dataDir, "cluster.json");
  const readRecord = () => JSON.parse(readFileSync(recordPath(), "utf8")) as ClusterRecord;

  beforeAll(async () => {
    small = await startLocalCluster({
      nodes: 3,
      spareNodes: 1,
      sync: "never",
      partitionCount: 16,
      timing: { heartbeatIntervalMs: 200, handoffIntervalMs: 200 },
    });
    // What `npx neverstop up --detach` records, for the commands to find the cluster.
    record = {
      dataDir: small.dataDir,
      startedAt: new Date().toISOString(),
      detached: true,
      sync: "never",
      nodes: small.nodes.map(({ id, httpUrl, httpPort, peerPort, pid }) => ({
        id,
        httpUrl,
        httpPort,
        peerPort,
        pid,
      })),
    };
    writeFileSync(recordPath(), JSON.stringify(record));
  }, 60_000);

  afterAll(async () => {
    // n4 was started by `join` as a process of its own: stop it by its recorded id.
    const n4 = existsSync(recordPath())
      ? readRecord().nodes.find((node) => node.id === "n4")
      : undefined;
    if (n4?.pid !== undefined) {
      try {
        process.kill(n4.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await small?.stop();
    agent.destroy();
  });

  const admin = (id: NodeId, action: string, body: string, method = "POST") =>
    httpCall(small.node(id).httpPort, { method, path: `/admin/${action}`, body });

  it("refuses bad membership requests with 400 and one line", async () => {
    const cases: [string, string, RegExp][] = [
      ["join", JSON.stringify({ node: "n9" }), /Expected `node` to be one of n1, n2, n3, n4/],
      ["join", JSON.stringify({ nodes: "n4" }), /Expected a body like \{"node": "n6"\}/],
      ["join", JSON.stringify({ node: "n 4" }), /Expected a body like/],
      ["join", "not json", /Expected a JSON value/],
      ["leave", JSON.stringify({ node: "n4" }), /Expected `node` to be a member \(n1, n2, n3\)/],
    ];
    for (const [action, body, message] of cases) {
      const answer = await admin("n1", action, body);
      expect(answer.status, body).toBe(400);
      const parsed = JSON.parse(answer.body) as { error: string; detail: string };
      expect(parsed.error).toBe("bad_request");
      expect(parsed.detail).toMatch(message);
      expect(parsed.detail).not.toContain("\n");
    }
    const wrongMethod = await admin("n1", "join", "", "GET");
    expect(wrongMethod.status).toBe(405);
    expect((JSON.parse(wrongMethod.body) as { error: string }).error).toBe("method_not_allowed");
    // Nothing changed.
    const ring = JSON.parse((await httpCall(small.node("n1").httpPort, { path: "/ring" })).body);
    expect(ring.version).toBe(1);
  });

  it("`join n4` starts the spare and every member adds it; `leave n4` hands its data back and stops it", async () => {
    const program = new Command().exitOverride();
    registerMembershipCommands(program);
    const nonSpare = program.parseAsync(["join", "n7", "--data-dir", small.dataDir], {
      from: "user",
    });
    await expect(nonSpare).rejects.toThrow(/n7 is not a spare node/);

    for (let index = 0; index < 200; index++) {
      const answer = await httpCall(small.node("n1").httpPort, {
        method: "PUT",
        path: keyPath("cli", `k${index}`, "w=3"),
        body: String(index),
      });
      expect(answer.status).toBe(204);
    }
    await program.parseAsync(["join", "n4", "--data-dir", small.dataDir, "--wait", "40"], {
      from: "user",
    });
    const joined = readRecord().nodes.find((node) => node.id === "n4");
    expect(joined?.pid).toBeTypeOf("number");
    for (const id of ["n1", "n2", "n3", "n4"]) {
      const ring = JSON.parse((await getFrom(small.node(id).httpPort, "/ring")).body);
      expect(ring.members, id).toEqual(["n1", "n2", "n3", "n4"]);
    }
    await eventually("n4 to receive its partitions", 30_000, async () =>
      (await json<{ keyCount: number }>("n4", "/debug/store").catch(() => ({ keyCount: 0 })))
        .keyCount > 0
        ? true
        : undefined,
    );

    // As an operator would: let the moves finish before the next change.
    await eventually("transfers to n4 to finish", 30_000, async () => {
      for (const id of ["n1", "n2", "n3"]) {
        const text = (await getFrom(small.node(id).httpPort, "/metrics")).body;
        if (metricValue(text, "neverstop_node_stat", { stat: "transfersActive" }) !== 0) {
          return undefined;
        }
      }
      return true;
    });
    await program.parseAsync(["leave", "n4", "--data-dir", small.dataDir, "--wait", "40"], {
      from: "user",
    });
    expect(readRecord().nodes.map((node) => node.id)).toEqual(["n1", "n2", "n3"]);
    expect(await fetchHealth(small.node("n4").httpUrl, 500)).toBeUndefined();
    for (const id of ["n1", "n2", "n3"]) {
      const ring = JSON.parse((await getFrom(small.node(id).httpPort, "/ring")).body);
      expect(ring.members, id).toEqual(["n1", "n2", "n3"]);
    }
    // Everything written before is still there at R=3.
    for (let index = 0; index < 200; index++) {
      const answer = await getFrom(small.node("n2").httpPort, keyPath("cli", `k${index}`, "r=3"));
      expect(answer.status, `k${index}`).toBe(200);
      expect(JSON.parse(answer.body).siblings).toEqual([index]);
    }
  }, 120_000);

  async function json<T>(id: NodeId, path: string): Promise<T> {
    const answer = await getFrom(small.node(id).httpPort, path);
    if (answer.status !== 200) throw new Error(`GET ${path} on ${id}: ${answer.status}`);
    return JSON.parse(answer.body) as T;
  }
});
