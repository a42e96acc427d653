// The embedded server's own promises, beyond what upstream Toxiproxy guarantees: loopback
// only, limits on bodies and counts, strict attribute checks, one clear error each time
// (lesson 3, network splits: a fault injector must never be the thing that breaks).

import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startToxiproxyServer, type RunningToxiproxyServer } from "./server.ts";

let server: RunningToxiproxyServer;
let counter = 0;
const upstream = "127.0.0.1:9"; // Never connected to: these tests open no proxy connection.

beforeAll(async () => {
  server = await startToxiproxyServer({ port: 0 });
});

afterAll(async () => {
  await server.close();
});

async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  json: { error?: string; status?: number } & Record<string, unknown>;
}> {
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(`${server.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, json: text.length === 0 ? {} : JSON.parse(text) };
}

function name(): string {
  counter += 1;
  return `server_test_${counter}`;
}

async function createProxy(extra: Record<string, unknown> = {}): Promise<string> {
  const proxyName = name();
  const created = await api("POST", "/proxies", {
    name: proxyName,
    listen: "127.0.0.1:0",
    upstream,
    ...extra,
  });
  expect(created.status).toBe(201);
  return proxyName;
}

describe("embedded toxiproxy: addresses", () => {
  it("binds the API to loopback and reports its URL", () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it("refuses a non-loopback API host, a bad port and a port in use, each with one line", async () => {
    await expect(startToxiproxyServer({ host: "0.0.0.0", port: 0 })).rejects.toThrow(/loopback/);
    await expect(startToxiproxyServer({ port: 70_000 })).rejects.toThrow(/port/);
    await expect(startToxiproxyServer({ port: server.port })).rejects.toThrow(/in use/);
  });

  it("answers 400 for a listen or upstream address off loopback, or malformed", async () => {
    for (const [listen, target] of [
      ["0.0.0.0:0", upstream],
      ["10.0.0.1:0", upstream],
      ["127.0.0.1:0", "example.com:80"],
      ["127.0.0.1", upstream],
      ["127.0.0.1:99999", upstream],
    ]) {
      const response = await api("POST", "/proxies", { name: name(), listen, upstream: target });
      expect(response.status, `${listen} -> ${target}`).toBe(400);
      expect(response.json.error).toMatch(/listen|upstream/);
    }
  });

  it("accepts other addresses when the server allows it (a disabled proxy binds nothing)", async () => {
    const open = await startToxiproxyServer({ port: 0, allowNonLoopback: true });
    try {
      const response = await fetch(`${open.url}/proxies`, {
        method: "POST",
        body: JSON.stringify({
          name: "wide",
          listen: "0.0.0.0:0",
          upstream: "example.com:80",
          enabled: false,
        }),
      });
      expect(response.status).toBe(201);
    } finally {
      await open.close();
    }
  });

  it("proxies to a remote upstream only when started with allowRemoteUpstreams, still listening on loopback", async () => {
    const remote = await startToxiproxyServer({ port: 0, allowRemoteUpstreams: true });
    try {
      const post = (body: Record<string, unknown>) =>
        fetch(`${remote.url}/proxies`, { method: "POST", body: JSON.stringify(body) });
      const created = await post({
        name: "far",
        listen: "127.0.0.1:0",
        upstream: "somehost:12345",
      });
      expect(created.status).toBe(201);
      expect(((await created.json()) as { upstream: string }).upstream).toBe("somehost:12345");
      const wide = await post({ name: "wide", listen: "0.0.0.0:0", upstream: "somehost:1" });
      expect(wide.status).toBe(400);
      expect(((await wide.json()) as { error: string }).error).toMatch(/listen/);
    } finally {
      await remote.close();
    }
    // Without the switch, the refusal names it.
    const refused = await api("POST", "/proxies", {
      name: name(),
      listen: "127.0.0.1:0",
      upstream: "somehost:12345",
    });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toContain("--allow-remote-upstreams");
  });

  it("reports the bound address for localhost:0 and re-listens on a new listen address", async () => {
    const proxyName = name();
    const created = await api("POST", "/proxies", {
      name: proxyName,
      listen: "localhost:0",
      upstream,
    });
    expect(created.json["listen"]).toMatch(/^127\.0\.0\.1:\d+$/);
    const moved = await api("PATCH", `/proxies/${proxyName}`, { listen: "127.0.0.1:0" });
    expect(moved.status).toBe(200);
    expect(moved.json["listen"]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(moved.json["listen"]).not.toBe(created.json["listen"]);
  });

  it("answers 500 with the reason when a proxy's port is taken", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const response = await api("POST", "/proxies", {
        name: name(),
        listen: `127.0.0.1:${port}`,
        upstream,
      });
      expect(response.status).toBe(500);
      expect(response.json.error).toContain("EADDRINUSE");
    } finally {
      blocker.close();
    }
  });
});

describe("embedded toxiproxy: bad input", () => {
  it("answers 400 for attributes out of range, with the attribute named", async () => {
    const proxyName = await createProxy();
    const path = `/proxies/${proxyName}/toxics`;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: "latency", attributes: { latency: -1 } }, /latency/],
      [{ type: "latency", attributes: { latency: 1.5 } }, /latency/],
      [{ type: "bandwidth", attributes: { rate: -5 } }, /rate/],
      [{ type: "slicer", attributes: { average_size: 0 } }, /average_size/],
      [{ type: "slicer", attributes: { average_size: 10, size_variation: 11 } }, /size_variation/],
      [{ type: "timeout", attributes: { timeout: -1 } }, /timeout/],
      [{ type: "latency", toxicity: 1.5 }, /toxicity/],
      [{ type: "latency", toxicity: -0.1 }, /toxicity/],
      [{ type: "latency", attributes: [1] }, /attributes/],
      [{ type: "latency", name: "a/b" }, /name/],
    ];
    for (const [body, message] of cases) {
      const response = await api("POST", path, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json).toMatchObject({ status: 400 });
      expect(response.json.error).toMatch(message);
    }
    expect((await api("GET", path)).json).toEqual([]);
  });

  it("rejects a bad update without changing the toxic", async () => {
    const proxyName = await createProxy();
    const path = `/proxies/${proxyName}/toxics`;
    await api("POST", path, { name: "slow", type: "latency", attributes: { latency: 10 } });
    expect((await api("PATCH", `${path}/slow`, { attributes: { latency: -10 } })).status).toBe(400);
    expect((await api("PATCH", `${path}/slow`, { toxicity: 7 })).status).toBe(400);
    expect((await api("GET", `${path}/slow`)).json).toMatchObject({
      attributes: { latency: 10, jitter: 0 },
      toxicity: 1,
    });
  });

  it("answers 400 for an oversized body, an empty body and wrong field types", async () => {
    const huge = JSON.stringify({ name: "x".repeat(2_000_000), upstream });
    expect((await api("POST", "/proxies", huge)).status).toBe(400);
    expect((await api("POST", "/proxies", "")).status).toBe(400);
    expect((await api("POST", "/proxies", { name: 5, upstream })).status).toBe(400);
    expect((await api("POST", "/proxies", { name: name(), upstream, enabled: "yes" })).status).toBe(
      400,
    );
    expect((await api("POST", "/populate", { name: name(), upstream })).status).toBe(400);
    const duplicate = name();
    const populate = await api("POST", "/populate", [
      { name: duplicate, upstream },
      { name: duplicate, upstream },
    ]);
    expect(populate.status).toBe(400);
    expect((await api("GET", `/proxies/${duplicate}`)).status).toBe(404);
  });

  it("answers 404 for an unknown path, 405 for a wrong method, 400 for a bad path encoding", async () => {
    expect((await api("GET", "/nothing/here")).status).toBe(404);
    expect((await api("DELETE", "/version")).status).toBe(405);
    expect((await api("GET", "/proxies/%E0%A4%A")).status).toBe(400);
  });

  it("takes the Go client's empty name and stream as the defaults, as toxiproxy-cli sends them", async () => {
    const proxyName = await createProxy({ enabled: false });
    const response = await api("POST", `/proxies/${proxyName}/toxics`, {
      name: "",
      type: "latency",
      stream: "",
      toxicity: 1,
      attributes: { latency: 5 },
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ name: "latency_downstream", stream: "downstream" });
  });

  it("refuses browsers, as upstream does, so no web page can reconfigure the network", async () => {
    const response = await api("GET", "/proxies", undefined, { "User-Agent": "Mozilla/5.0" });
    expect(response.status).toBe(403);
  });

  it("caps the toxics on one proxy", async () => {
    const proxyName = await createProxy({ enabled: false });
    const path = `/proxies/${proxyName}/toxics`;
    const statuses: number[] = [];
    for (let index = 0; index < 65; index += 1) {
      statuses.push((await api("POST", path, { name: `t${index}`, type: "latency" })).status);
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(64);
    expect(statuses.at(-1)).toBe(400);
  });

  it("serializes concurrent creates of one name: one 201, the rest 409", async () => {
    const proxyName = name();
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        api("POST", "/proxies", { name: proxyName, upstream }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(9);
  });
});
