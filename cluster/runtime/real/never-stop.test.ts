// Systems that never stop (lesson 5), on real node processes: five nodes whose peer links all run
// through the embedded Toxiproxy; n5 is cut off from every peer for a few seconds while four
// clients keep writing fresh keys at W=2 through n1..n4. The sloppy quorum keeps accepting the
// writes (fallbacks keep them with hints), the `node-down` alarm fires and clears, and after the
// heal hinted handoff and anti-entropy bring every replica back with no client reading a key.
// Then a final read feeds the set checker: nothing acknowledged may be lost.
// The same scenario runs in the simulator in cluster/runtime/sim/never-stop.test.ts.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSet } from "../../../chaos/checkers/set.ts";
import type { Operation } from "../../../chaos/harness/history.ts";
import {
  startToxiproxyServer,
  type RunningToxiproxyServer,
} from "../../../chaos/toxiproxy/server.ts";
import { startLocalCluster, type LocalCluster } from "./cluster.ts";
import {
  eventually,
  httpCall,
  keyPath,
  mapConcurrently,
  metricValue,
  type HttpAnswer,
} from "./test-support.ts";

const nodeIds = ["n1", "n2", "n3", "n4", "n5"];
const victim = "n5";
const reachable = nodeIds.filter((id) => id !== victim);
const bucket = "never";
const clientCount = 4;
const warmUpMs = 1_500;
const faultMs = 6_000;
const afterHealMs = 1_500;
/** A bound on the keys written, whatever the machine's speed. */
const writeCountMax = 20_000;
const requestTimeoutMs = 2_000;
/** Hints and anti-entropy on a busy 2-core machine: generous, but bounded. */
const convergenceTimeoutMs = 60_000;

let toxiproxy: RunningToxiproxyServer;
let cluster: LocalCluster;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

async function toxiproxyApi(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${toxiproxy.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return response.json();
}

/** Every directed link into or out of `node`. */
function linksOf(node: string): string[] {
  return nodeIds
    .filter((other) => other !== node)
    .flatMap((other) => [`${node}->${other}`, `${other}->${node}`]);
}

async function setLinks(links: string[], enabled: boolean): Promise<void> {
  for (const link of links) await toxiproxyApi("POST", `/proxies/${link}`, { enabled });
}

const get = (id: string, path: string): Promise<HttpAnswer> =>
  httpCall(cluster.node(id).httpPort, { path, agent, timeoutMs: 10_000 });

async function nodeStat(id: string, stat: string): Promise<number> {
  const text = (await get(id, "/metrics")).body;
  const value = metricValue(text, "neverstop_node_stat", { stat });
  if (value === undefined) throw new Error(`${id} exports no neverstop_node_stat{stat="${stat}"}`);
  return value;
}

async function alarmNames(id: string): Promise<{ names: string[]; details: string[] }> {
  const answer = await get(id, "/alarms");
  expect(answer.status).toBe(200);
  const alarms = (JSON.parse(answer.body) as { alarms: { name: string; detail: string }[] }).alarms;
  return { names: alarms.map((alarm) => alarm.name), details: alarms.map((a) => a.detail) };
}

beforeAll(async () => {
  toxiproxy = await startToxiproxyServer({ port: 0 });
  cluster = await startLocalCluster({
    nodes: nodeIds.length,
    sync: "never",
    defaults: { timeoutMs: requestTimeoutMs },
    timing: {
      heartbeatIntervalMs: 200,
      suspicionMs: 1_000,
      antiEntropyIntervalMs: 200,
      handoffIntervalMs: 200,
    },
    peerAddress: async (from, to, peerPort) => {
      const proxy = (await toxiproxyApi("POST", "/proxies", {
        name: `${from}->${to}`,
        listen: "127.0.0.1:0",
        upstream: `127.0.0.1:${peerPort}`,
        enabled: true,
      })) as { listen: string };
      const [host, port] = proxy.listen.split(":");
      return { host: host!, port: Number(port) };
    },
  });
}, 90_000);

afterAll(async () => {
  agent.destroy();
  await cluster?.stop();
  await toxiproxy?.close();
});

interface Write {
  element: number;
  key: string;
  invokedAt: number;
  completedAt: number;
  outcome: "ok" | "fail" | "info";
}

describe("05: one of five real nodes partitioned away, then healed", () => {
  it("keeps accepting W=2 writes, hands every hint back and converges every replica without reads", async () => {
    for (const id of nodeIds) {
      await eventually(`${id} to reach every replica through the proxies`, 20_000, async () => {
        const answer = await httpCall(cluster.node(id).httpPort, {
          method: "PUT",
          path: keyPath("warm", id, "w=3"),
          body: '"up"',
          agent,
        });
        return answer.status === 204 ? true : undefined;
      });
    }

    const startedAt = performance.now();
    const now = () => performance.now() - startedAt;
    const history: Operation[] = [];
    const record = (entry: Omit<Operation, "index" | "time">) =>
      history.push({ index: history.length, time: Math.round(now() * 1e6), ...entry });
    const writes: Write[] = [];
    let nextElement = 0;
    let writing = true;
    const client = async (process: number) => {
      while (writing && nextElement < writeCountMax) {
        const element = nextElement++;
        const key = `k${element}`;
        const node = reachable[element % reachable.length]!;
        const invokedAt = now();
        record({ process, type: "invoke", f: "add", value: element, node });
        let outcome: Write["outcome"];
        try {
          const answer = await httpCall(cluster.node(node).httpPort, {
            method: "PUT",
            path: keyPath(bucket, key, "w=2"),
            body: String(element),
            agent,
            timeoutMs: requestTimeoutMs + 3_000,
          });
          const indeterminate =
            answer.status >= 500 && answer.body.includes('"indeterminate":true');
          outcome = answer.status === 204 ? "ok" : indeterminate ? "info" : "fail";
          if (answer.status !== 204 && answer.status < 500)
            throw new Error(`PUT ${key} got ${answer.status}: ${answer.body}`);
        } catch (error) {
          if (error instanceof Error && error.message.startsWith("PUT ")) throw error;
          outcome = "info";
        }
        record({ process, type: outcome, f: "add", value: element, node });
        writes.push({ element, key, invokedAt, completedAt: now(), outcome });
      }
    };
    const clients = Promise.all(Array.from({ length: clientCount }, (_, index) => client(index)));

    await new Promise((resolve) => setTimeout(resolve, warmUpMs));
    const faultStartedAt = now();
    await setLinks(linksOf(victim), false);
    const downSeen = await eventually("n1 to raise node-down for n5", 10_000, async () => {
      const alarms = await alarmNames("n1");
      const index = alarms.names.indexOf("node-down");
      return index !== -1 && alarms.details[index]!.includes(victim) ? alarms : undefined;
    });
    expect(downSeen.names).toContain("node-down");
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, faultMs - (now() - faultStartedAt))),
    );
    for (const id of reachable) expect((await alarmNames(id)).names, id).toContain("node-down");
    const healStartedAt = now();
    await setLinks(linksOf(victim), true);
    await new Promise((resolve) => setTimeout(resolve, afterHealMs));
    writing = false;
    await clients;

    // Availability while the fault lasted: writes invoked after the cut and answered before the
    // heal began.
    const duringFault = writes.filter(
      (write) => write.invokedAt >= faultStartedAt && write.completedAt <= healStartedAt,
    );
    const duringFaultOk = duringFault.filter((write) => write.outcome === "ok").length;
    const acknowledged = writes.filter((write) => write.outcome === "ok");
    console.log(
      `never-stop (real): ${writes.length} writes, ${duringFault.length} during the fault, ` +
        `${duringFaultOk} of them ok, fault ${Math.round(healStartedAt - faultStartedAt)} ms`,
    );
    expect(duringFault.length).toBeGreaterThan(100);
    expect(duringFaultOk / duringFault.length).toBeGreaterThanOrEqual(0.999);

    // No client reads from here until the final read: only handoff and anti-entropy may repair.
    const hintsStored = await Promise.all(nodeIds.map((id) => nodeStat(id, "hintsStored")));
    expect(hintsStored.reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    const convergenceStartedAt = now();
    await eventually("every node to hand back its hints", convergenceTimeoutMs, async () => {
      const pending = await Promise.all(nodeIds.map((id) => nodeStat(id, "hintsPending")));
      return pending.every((count) => count === 0) ? pending : undefined;
    });
    const hintsDrainedMs = now() - convergenceStartedAt;

    const replicasOf = new Map<string, string[]>();
    await mapConcurrently(acknowledged, 16, async (write) => {
      const answer = await get("n1", `/ring/keys/${bucket}/${write.key}`);
      const placement = JSON.parse(answer.body) as { preferenceList: string[] };
      expect(placement.preferenceList).toHaveLength(3);
      replicasOf.set(write.key, placement.preferenceList);
    });
    const victimKeys = acknowledged.filter((write) =>
      replicasOf.get(write.key)!.includes(victim),
    ).length;
    expect(victimKeys).toBeGreaterThan(0);
    let missing = acknowledged.flatMap((write) =>
      replicasOf.get(write.key)!.map((replica) => ({ write, replica })),
    );
    await eventually(
      "every acknowledged key on each of its replicas",
      convergenceTimeoutMs,
      async () => {
        const present = await mapConcurrently(missing, 16, async ({ write, replica }) => {
          const answer = await get(replica, `/debug/kv/${bucket}/${write.key}`);
          if (answer.status === 404) return false;
          expect(answer.status).toBe(200);
          const object = (
            JSON.parse(answer.body) as { replica: { siblings: { value: unknown }[] } }
          ).replica;
          return object.siblings.some((sibling) => sibling.value === write.element);
        });
        missing = missing.filter((_, index) => !present[index]);
        return missing.length === 0 ? true : undefined;
      },
    );
    const convergedMs = now() - convergenceStartedAt;
    console.log(
      `never-stop (real): ${acknowledged.length} acknowledged (${victimKeys} with n5 a replica), ` +
        `hints stored ${hintsStored.join("/")}, hints drained in ${Math.round(hintsDrainedMs)} ms, ` +
        `every replica converged in ${Math.round(convergedMs)} ms`,
    );

    for (const id of nodeIds) {
      await eventually(`${id} to clear node-down`, 10_000, async () =>
        (await alarmNames(id)).names.includes("node-down") ? undefined : true,
      );
    }

    // The final read: every key attempted, at R=3 now that the replicas agree.
    const readProcess = clientCount;
    record({ process: readProcess, type: "invoke", f: "read", value: null });
    const found = await mapConcurrently(writes, 16, async (write) => {
      const node = reachable[write.element % reachable.length]!;
      const answer = await httpCall(cluster.node(node).httpPort, {
        path: keyPath(bucket, write.key, "r=3"),
        agent,
      });
      if (answer.status === 404) return undefined;
      expect(answer.status, `GET ${write.key}`).toBe(200);
      const siblings = (JSON.parse(answer.body) as { siblings: unknown[] }).siblings;
      return siblings.includes(write.element) ? write.element : undefined;
    });
    record({
      process: readProcess,
      type: "ok",
      f: "read",
      value: found.filter((element) => element !== undefined),
    });
    const verdict = checkSet(history);
    expect(verdict.lost).toEqual([]);
    expect(verdict.unexpected).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(verdict.okCount).toBe(acknowledged.length);
  }, 240_000);
});
