// Back pressure on real node processes (lesson 9, "capacity planning with back pressure", and
// lesson 7, "a retry strategy for every interface function"): a node that already coordinates
// `requestsInFlightMax` requests refuses the next one at once with 503, `Retry-After` and
// `{ "error": "overload" }`, instead of queuing it behind requests that wait for a timeout. A
// client that sleeps for Retry-After and tries again (a bounded number of times) gets every
// write through once the load passes.
//
// The slow path: a three-node cluster with n3 paused (SIGSTOP), so a W=3 write through n1 waits
// for n3 until its timeout and holds one of n1's eight request slots all that time.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "./cluster.ts";
import {
  eventually,
  httpCall,
  keyPath,
  mapConcurrently,
  metricValue,
  type HttpAnswer,
} from "./test-support.ts";

const requestsInFlightMax = 8;
/** How long a W=3 write waits for the paused n3. */
const slowTimeoutMs = 3_000;
const retryAttemptsMax = 30;
const retryAfterMsMax = 5_000;

let cluster: LocalCluster;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(async () => {
  cluster = await startLocalCluster({
    nodes: 3,
    sync: "never",
    defaults: { timeoutMs: 2_000 },
    timing: {
      requestsInFlightMax,
      heartbeatIntervalMs: 200,
      suspicionMs: 1_000,
      antiEntropyIntervalMs: 0,
    },
  });
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await cluster?.stop();
});

const put = (key: string, value: number, query: string): Promise<HttpAnswer> =>
  httpCall(cluster.node("n1").httpPort, {
    method: "PUT",
    path: keyPath("load", key, query),
    body: String(value),
    agent,
    timeoutMs: slowTimeoutMs + 10_000,
  });

async function nodeStat(stat: string): Promise<number> {
  const text = (await httpCall(cluster.node("n1").httpPort, { path: "/metrics", agent })).body;
  const value = metricValue(text, "neverstop_node_stat", { stat });
  if (value === undefined) throw new Error(`n1 exports no neverstop_node_stat{stat="${stat}"}`);
  return value;
}

/** Fills n1's request budget with W=3 writes that wait for the paused n3. Returns them, each
 * marking itself settled when it completes. */
async function fillBudget(prefix: string): Promise<{ settled: boolean[]; all: Promise<unknown> }> {
  const settled = Array.from({ length: requestsInFlightMax }, () => false);
  const all = Promise.all(
    settled.map(async (_, index) => {
      try {
        await put(`${prefix}-${index}`, index, `w=3&timeout_ms=${slowTimeoutMs}`);
      } finally {
        settled[index] = true;
      }
    }),
  );
  await eventually("n1 to coordinate the slow writes", 10_000, async () =>
    (await nodeStat("fsmActive")) >= requestsInFlightMax ? true : undefined,
  );
  return { settled, all };
}

/** Retry-After in milliseconds: whole seconds (RFC 9110's delay-seconds), bounded. */
function retryAfterMs(answer: HttpAnswer): number {
  const header = answer.headers["retry-after"];
  expect(header, "Retry-After header").toMatch(/^[0-9]+$/);
  return Math.min(retryAfterMsMax, Number(header) * 1000);
}

function isOverload(answer: HttpAnswer): boolean {
  if (answer.status !== 503) return false;
  return (JSON.parse(answer.body) as { error?: string }).error === "overload";
}

describe("09: overload on real processes", () => {
  it("refuses with 503, Retry-After and error overload at once, while the slow writes still wait", async () => {
    // Start from a settled cluster: n1 has heard from both peers (a W=3 write to a peer n1 has
    // not heard from yet is refused at once, not held) and coordinates nothing.
    await eventually("n1 hears n2 and n3 and is idle", 10_000, async () => {
      const answer = await httpCall(cluster.node("n1").httpPort, { path: "/members", agent });
      const members = (JSON.parse(answer.body) as { members: { node: string; up: boolean }[] })
        .members;
      const allUp = members.length === 2 && members.every((member) => member.up);
      return allUp && (await nodeStat("fsmActive")) === 0 ? true : undefined;
    });
    await cluster.kill("n3", "SIGSTOP");
    try {
      const slow = await fillBudget("slow");
      const probe = await put("probe", 1, "w=2");
      // Every slow write is still waiting for its timeout: the refusal did not wait for one.
      expect(slow.settled).toEqual(slow.settled.map(() => false));
      expect(probe.status).toBe(503);
      const body = JSON.parse(probe.body) as { error: string; retryAfterMs: number };
      expect(body.error).toBe("overload");
      expect(body.retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs(probe)).toBeGreaterThanOrEqual(1_000);
      expect(await nodeStat("overloadRejections")).toBeGreaterThanOrEqual(1);
      await eventually("the overload alarm on n1", 5_000, async () => {
        const answer = await httpCall(cluster.node("n1").httpPort, { path: "/alarms", agent });
        const alarms = (JSON.parse(answer.body) as { alarms: { name: string }[] }).alarms;
        return alarms.some((alarm) => alarm.name === "overload") ? true : undefined;
      });
      await slow.all;
    } finally {
      await cluster.kill("n3", "SIGCONT");
    }
  }, 60_000);

  it("lets a client that follows Retry-After complete every write", async () => {
    const clientCount = 12;
    const writesPerClient = 8;
    await cluster.kill("n3", "SIGSTOP");
    let slow: Awaited<ReturnType<typeof fillBudget>>;
    try {
      slow = await fillBudget("held");
    } catch (error) {
      await cluster.kill("n3", "SIGCONT");
      throw error;
    }
    let refusals = 0;
    let retries = 0;
    const keys: { key: string; value: number }[] = [];
    const client = async (process: number) => {
      for (let write = 0; write < writesPerClient; write++) {
        const key = `c${process}-${write}`;
        const value = process * 1_000 + write;
        for (let attempt = 1; ; attempt++) {
          const answer = await put(key, value, "w=2");
          if (answer.status === 204) break;
          if (!isOverload(answer))
            throw new Error(`PUT ${key} got ${answer.status}: ${answer.body}`);
          refusals += 1;
          if (attempt >= retryAttemptsMax)
            throw new Error(`PUT ${key} still refused after ${attempt} attempts`);
          retries += 1;
          await new Promise((resolve) => setTimeout(resolve, retryAfterMs(answer)));
        }
        keys.push({ key, value });
      }
    };
    const clients = Promise.all(Array.from({ length: clientCount }, (_, index) => client(index)));
    // Every client's first attempt meets a full budget; then the slow node comes back.
    await eventually("every client to be refused once", 10_000, async () =>
      refusals >= clientCount ? true : undefined,
    );
    await cluster.kill("n3", "SIGCONT");
    await Promise.all([clients, slow.all]);
    console.log(
      `overload (real): ${keys.length} writes completed after ${refusals} refusals and ${retries} retries`,
    );
    expect(refusals).toBeGreaterThanOrEqual(clientCount);
    expect(keys).toHaveLength(clientCount * writesPerClient);

    const readBack = await mapConcurrently(keys, 4, async ({ key, value }) => {
      const answer = await httpCall(cluster.node("n2").httpPort, {
        path: keyPath("load", key, "r=2"),
        agent,
      });
      if (answer.status !== 200) return `${key}: ${answer.status}`;
      const siblings = (JSON.parse(answer.body) as { siblings: unknown[] }).siblings;
      return siblings.includes(value) ? undefined : `${key}: ${JSON.stringify(siblings)}`;
    });
    expect(readBack.filter((problem) => problem !== undefined)).toEqual([]);
  }, 120_000);
});
