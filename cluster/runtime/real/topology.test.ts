// Nodes talk through a Toxiproxy proxy on every directed link (lesson 3, "network splits"): the
// framing passes through a plain TCP proxy unchanged, and disabling the proxies out of n1 cuts
// n1 off from its peers, so its writes fail with 503 while n2 still reaches a quorum; enabling
// them heals the split. The proxies are the embedded Toxiproxy-compatible server's.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startToxiproxyServer,
  type RunningToxiproxyServer,
} from "../../../chaos/toxiproxy/server.ts";
import { startLocalCluster, type LocalCluster } from "./cluster.ts";
import { eventually, httpCall, keyPath } from "./test-support.ts";

let toxiproxy: RunningToxiproxyServer;
let cluster: LocalCluster;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

async function toxiproxyApi(
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${toxiproxy.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return (await response.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  toxiproxy = await startToxiproxyServer({ port: 0 });
  cluster = await startLocalCluster({
    nodes: 3,
    sync: "never",
    defaults: { timeoutMs: 2_000 },
    timing: { antiEntropyIntervalMs: 0 },
    peerAddress: async (from, to, peerPort) => {
      const proxy = await toxiproxyApi("POST", "/proxies", {
        name: `${from}->${to}`,
        listen: "127.0.0.1:0",
        upstream: `127.0.0.1:${peerPort}`,
        enabled: true,
      });
      const [host, port] = String(proxy["listen"]).split(":");
      return { host: host!, port: Number(port) };
    },
  });
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await cluster?.stop();
  await toxiproxy?.close();
});

const put = (id: string, key: string, query: string) =>
  httpCall(cluster.node(id).httpPort, {
    method: "PUT",
    path: keyPath("links", key, query),
    body: '"v"',
    agent,
  });

describe("a cluster whose links run through Toxiproxy", () => {
  it("replicates through the proxies, splits when n1's outgoing links are disabled, and heals", async () => {
    for (const id of ["n1", "n2", "n3"]) {
      await eventually(`${id} to reach every replica through the proxies`, 15_000, async () =>
        (await put(id, `all-${id}`, "w=3")).status === 204 ? true : undefined,
      );
    }
    const links = (await toxiproxyApi("GET", "/proxies")) as Record<string, { upstream: string }>;
    expect(Object.keys(links).sort()).toEqual([
      "n1->n2",
      "n1->n3",
      "n2->n1",
      "n2->n3",
      "n3->n1",
      "n3->n2",
    ]);

    for (const link of ["n1->n2", "n1->n3"])
      await toxiproxyApi("POST", `/proxies/${link}`, { enabled: false });
    const cut = await put("n1", "split", "w=2");
    expect(cut.status).toBe(503);
    expect((await put("n2", "majority", "w=2")).status).toBe(204);

    for (const link of ["n1->n2", "n1->n3"])
      await toxiproxyApi("POST", `/proxies/${link}`, { enabled: true });
    await eventually("n1 to reach a quorum again", 15_000, async () =>
      (await put("n1", "healed", "w=3")).status === 204 ? true : undefined,
    );
  });
});
