// Toxiproxy API conformance: what a Toxiproxy 2.x server must do, checked through
// toxiproxy-node-client and plain HTTP, never through this implementation's internals
// (lesson 3, network splits: the nemeses trust these behaviours to cut links).
//
// It runs against TOXIPROXY_URL when that is set (a real Toxiproxy, e.g. the docker image on
// the host network), else against the embedded server. Upstream is a small echo server on
// 127.0.0.1:0. Time is only ever checked from below (a toxic made things at least this slow)
// or with bounds far wider than any noise, because the machines are shared and noisy.
//
// Every case of toxiproxy-node-client's own suite (chaos/toxiproxy/upstream-tests, run as is
// by `npm run conformance:toxiproxy-client`) is here too, in these tests' words and on free
// ports: moving a proxy to another upstream while enabled, each toxic type's attributes
// answered as given (a slicer whose size_variation equals its average_size included), a
// toxic's whole life through the client, and proxies listed with listen and upstream as given.
// The embedded server runs with remote upstreams allowed, as real Toxiproxy dials any host.

import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Toxiproxy } from "toxiproxy-node-client";
import type { Proxy as ClientProxy } from "toxiproxy-node-client";
import { startToxiproxyServer, type RunningToxiproxyServer } from "./server.ts";

const waitTimeoutMs = 5_000;
const pollIntervalMs = 5;

let embedded: RunningToxiproxyServer | undefined;
let baseUrl = "";
let toxiproxy: Toxiproxy;
let echo: net.Server;
let echoAddress = "";
const echoSockets = new Set<net.Socket>();
const openPeers = new Set<Peer>();
let proxyCounter = 0;

beforeAll(async () => {
  const external = process.env["TOXIPROXY_URL"];
  if (external !== undefined && external.length > 0) {
    baseUrl = external.replace(/\/+$/, "");
  } else {
    embedded = await startToxiproxyServer({
      host: "127.0.0.1",
      port: 0,
      allowRemoteUpstreams: true,
    });
    baseUrl = embedded.url;
  }
  toxiproxy = new Toxiproxy(baseUrl);
  echo = net.createServer((socket) => {
    echoSockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => echoSockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen({ host: "127.0.0.1", port: 0 }, resolve));
  echoAddress = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
});

afterEach(async () => {
  for (const peer of openPeers) peer.socket.destroy();
  openPeers.clear();
  const proxies = await toxiproxy.getAll();
  for (const proxy of Object.values(proxies)) {
    if (proxy.name.startsWith("conformance_")) await proxy.remove();
  }
});

afterAll(async () => {
  for (const socket of echoSockets) socket.destroy();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
  await embedded?.close();
});

function uniqueName(): string {
  proxyCounter += 1;
  return `conformance_${process.pid}_${proxyCounter}`;
}

async function createProxy(): Promise<ClientProxy> {
  return toxiproxy.createProxy({
    name: uniqueName(),
    listen: "127.0.0.1:0",
    upstream: echoAddress,
  });
}

/** A port nobody listens on now: bound to 0, then released. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function portOf(listen: string): number {
  const port = Number(listen.slice(listen.lastIndexOf(":") + 1));
  expect(port).toBeGreaterThan(0);
  return port;
}

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const init: RequestInit = { method };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(`${baseUrl}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    json: text.trim().length === 0 ? undefined : (JSON.parse(text) as unknown),
  };
}

/** A client connection and everything that happened to it. */
interface Peer {
  readonly socket: net.Socket;
  readonly chunks: Buffer[];
  received(): Buffer;
  ended: boolean;
  closed: boolean;
  errorCode: string | undefined;
}

function connectPeer(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    const peer: Peer = {
      socket,
      chunks: [],
      received: () => Buffer.concat(peer.chunks),
      ended: false,
      closed: false,
      errorCode: undefined,
    };
    socket.on("data", (chunk: Buffer) => peer.chunks.push(chunk));
    socket.on("end", () => (peer.ended = true));
    socket.on("close", () => (peer.closed = true));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      peer.errorCode = error.code;
      reject(error);
    });
    socket.on("connect", () => {
      openPeers.add(peer);
      resolve(peer);
    });
  });
}

async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = waitTimeoutMs,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollIntervalMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends `payload` and waits until it has come back; returns the elapsed milliseconds. */
async function roundTrip(peer: Peer, payload: Buffer): Promise<number> {
  const before = peer.received().length;
  const startedMs = performance.now();
  peer.socket.write(payload);
  await waitFor(() => peer.received().length >= before + payload.length, "the echo");
  // Buffer.equals, not toEqual: a deep comparison of 200 KB byte by byte takes a second.
  expect(peer.received().subarray(before).equals(payload)).toBe(true);
  return performance.now() - startedMs;
}

function payloadOf(bytes: number): Buffer {
  return Buffer.from(Array.from({ length: bytes }, (_, index) => index % 251));
}

describe("toxiproxy API: server", () => {
  it("GET /version answers 200 with the version", async () => {
    const response = await fetch(`${baseUrl}/version`);
    expect(response.status).toBe(200);
    const text = await response.text();
    // 2.x answers {"version": "2.y.z"}; very old 2.x answered the bare version string.
    const version = text.trim().startsWith("{")
      ? (JSON.parse(text) as { version: string }).version
      : text.trim();
    expect(version).toMatch(/^2\.\d+\.\d+/);
    expect(await toxiproxy.getVersion()).toBe(text);
  });

  it("answers 404 for an unknown proxy or toxic", async () => {
    expect((await api("GET", "/proxies/conformance_missing")).status).toBe(404);
    expect(await api("GET", "/proxies/conformance_missing")).toEqual({
      status: 404,
      json: { error: "proxy not found", status: 404 },
    });
    const proxy = await createProxy();
    expect(await api("GET", `/proxies/${proxy.name}/toxics/missing`)).toEqual({
      status: 404,
      json: { error: "toxic not found", status: 404 },
    });
    expect((await api("DELETE", `/proxies/${proxy.name}/toxics/missing`)).status).toBe(404);
    expect(
      (await api("PATCH", `/proxies/${proxy.name}/toxics/missing`, { attributes: {} })).status,
    ).toBe(404);
    expect((await api("DELETE", "/proxies/conformance_missing")).status).toBe(404);
    expect((await api("GET", "/proxies/conformance_missing/toxics")).status).toBe(404);
    expect(
      (await api("POST", "/proxies/conformance_missing/toxics", { type: "latency" })).status,
    ).toBe(404);
  });
});

describe("toxiproxy API: proxies", () => {
  it("POST /proxies creates a proxy: 201, its shape, and the bound listen address", async () => {
    const name = uniqueName();
    const created = await api("POST", "/proxies", {
      name,
      listen: "127.0.0.1:0",
      upstream: echoAddress,
    });
    expect(created.status).toBe(201);
    const body = created.json as Record<string, unknown>;
    expect(body).toMatchObject({ name, upstream: echoAddress, enabled: true, toxics: [] });
    expect(body["listen"]).toMatch(/^127\.0\.0\.1:\d+$/);
    portOf(body["listen"] as string);

    const shown = await toxiproxy.get(name);
    expect(shown.toJson()).toEqual({
      name,
      listen: body["listen"],
      upstream: echoAddress,
      enabled: true,
    });
    const all = await api("GET", "/proxies");
    expect(all.status).toBe(200);
    expect((all.json as Record<string, unknown>)[name]).toEqual(body);
  });

  it("POST /proxies answers 409 for a taken name and 400 for missing fields or bad JSON", async () => {
    const proxy = await createProxy();
    const duplicate = await api("POST", "/proxies", {
      name: proxy.name,
      listen: "127.0.0.1:0",
      upstream: echoAddress,
    });
    expect(duplicate).toEqual({
      status: 409,
      json: { error: "proxy already exists", status: 409 },
    });
    const noName = await api("POST", "/proxies", { listen: "127.0.0.1:0", upstream: echoAddress });
    expect(noName.status).toBe(400);
    expect((noName.json as { error: string }).error).toContain("name");
    const noUpstream = await api("POST", "/proxies", { name: uniqueName(), listen: "127.0.0.1:0" });
    expect(noUpstream.status).toBe(400);
    expect((noUpstream.json as { error: string }).error).toContain("upstream");
    const malformed = await api("POST", "/proxies", "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ status: 400 });
  });

  it("pipes bytes both ways between a client and the upstream", async () => {
    const proxy = await createProxy();
    const peer = await connectPeer(portOf(proxy.listen));
    await roundTrip(peer, Buffer.from("hello through the proxy"));
    await roundTrip(peer, payloadOf(200_000));
  });

  it("enabled:false closes the listener and open connections; enabling listens again on the same address", async () => {
    const proxy = await createProxy();
    const port = portOf(proxy.listen);
    const peer = await connectPeer(port);
    await roundTrip(peer, Buffer.from("before"));

    const disabled = await proxy.update({
      enabled: false,
      listen: proxy.listen,
      upstream: proxy.upstream,
    });
    expect(disabled.enabled).toBe(false);
    await waitFor(() => peer.closed, "the open connection to close");
    await expect(connectPeer(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });

    const enabled = await api("PATCH", `/proxies/${proxy.name}`, { enabled: true });
    expect(enabled.status).toBe(200);
    expect(enabled.json).toMatchObject({ name: proxy.name, listen: proxy.listen, enabled: true });
    await roundTrip(await connectPeer(port), Buffer.from("after"));
  });

  it("POST /proxies/{name} moves an enabled proxy to another upstream, dialled from the next connection", async () => {
    const proxy = await createProxy();
    const port = portOf(proxy.listen);
    await roundTrip(await connectPeer(port), Buffer.from("to the echo"));
    const greeter = net.createServer((socket) => socket.end("second upstream"));
    await new Promise<void>((resolve) => greeter.listen({ host: "127.0.0.1", port: 0 }, resolve));
    try {
      const secondUpstream = `127.0.0.1:${(greeter.address() as net.AddressInfo).port}`;
      const moved = await proxy.update({
        enabled: true,
        listen: proxy.listen,
        upstream: secondUpstream,
      });
      expect([moved.enabled, moved.upstream, moved.listen]).toEqual([
        true,
        secondUpstream,
        proxy.listen,
      ]);
      const peer = await connectPeer(port);
      await waitFor(() => peer.ended, "the second upstream's greeting");
      expect(peer.received().toString()).toBe("second upstream");
    } finally {
      greeter.close();
    }
    // An upstream is a name, resolved only when a client connects: a host that does not
    // exist is accepted and shown as given, and the proxy stays enabled.
    const named = await api("POST", `/proxies/${proxy.name}`, {
      enabled: true,
      listen: proxy.listen,
      upstream: "somehost:12345",
    });
    expect(named.status).toBe(200);
    expect(named.json).toMatchObject({ upstream: "somehost:12345", enabled: true });
  });

  it("GET /proxies lists populated proxies with listen and upstream exactly as given", async () => {
    const [firstPort, secondPort, closedPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const given = [
      { name: uniqueName(), listen: `127.0.0.1:${firstPort}`, upstream: `localhost:${closedPort}` },
      { name: uniqueName(), listen: `127.0.0.1:${secondPort}`, upstream: echoAddress },
    ];
    const populated = await toxiproxy.populate(given);
    expect(Object.keys(populated).sort()).toEqual(given.map((proxy) => proxy.name).sort());
    const all = await toxiproxy.getAll();
    for (const proxy of given) {
      expect(all[proxy.name]?.toJson()).toEqual({ ...proxy, enabled: true });
    }
    // localhost:0 through /populate binds a free port on loopback, as POST /proxies does.
    const picked = await toxiproxy.populate([
      { name: uniqueName(), listen: "localhost:0", upstream: echoAddress },
    ]);
    const [pickedProxy] = Object.values(picked);
    await roundTrip(await connectPeer(portOf(pickedProxy!.listen)), Buffer.from("picked"));
  });

  it("DELETE /proxies/{name} answers 204, refuses connections, then 404", async () => {
    const proxy = await createProxy();
    const port = portOf(proxy.listen);
    expect((await api("DELETE", `/proxies/${proxy.name}`)).status).toBe(204);
    await expect(connectPeer(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect((await api("GET", `/proxies/${proxy.name}`)).status).toBe(404);
  });

  it("POST /populate creates proxies (201 {proxies}) and keeps an unchanged one", async () => {
    const first = uniqueName();
    const second = uniqueName();
    const populated = await api("POST", "/populate", [
      { name: first, listen: "127.0.0.1:0", upstream: echoAddress },
      { name: second, listen: "127.0.0.1:0", upstream: echoAddress, enabled: false },
    ]);
    expect(populated.status).toBe(201);
    const proxies = (populated.json as { proxies: Array<Record<string, unknown>> }).proxies;
    expect(proxies.map((proxy) => [proxy["name"], proxy["enabled"]])).toEqual([
      [first, true],
      [second, false],
    ]);
    const listen = proxies[0]!["listen"] as string;
    await roundTrip(await connectPeer(portOf(listen)), Buffer.from("populated"));

    const client = await toxiproxy.get(first);
    await client.addToxic({
      name: "kept",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: 1, jitter: 0 },
    });
    const again = await toxiproxy.populate([{ name: first, listen, upstream: echoAddress }]);
    expect(again[first]?.listen).toBe(listen);
    expect((await api("GET", `/proxies/${first}/toxics`)).json).toMatchObject([{ name: "kept" }]);

    const missing = await api("POST", "/populate", [{ name: uniqueName(), listen: "127.0.0.1:0" }]);
    expect(missing.status).toBe(400);
  });
});

describe("toxiproxy API: toxics", () => {
  it("POST /proxies/{name}/toxics answers 200 with defaults: downstream, toxicity 1, name type_stream", async () => {
    const proxy = await createProxy();
    const created = await api("POST", `/proxies/${proxy.name}/toxics`, {
      type: "latency",
      attributes: { latency: 10 },
    });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({
      attributes: { latency: 10, jitter: 0 },
      name: "latency_downstream",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
    });
    const listed = await api("GET", `/proxies/${proxy.name}/toxics`);
    expect(listed).toEqual({ status: 200, json: [created.json] });
    const shown = await proxy.getToxic("latency_downstream");
    expect(shown.toJson()).toEqual(created.json);
    expect((await toxiproxy.get(proxy.name)).toJson().name).toBe(proxy.name);
    expect(
      ((await api("GET", `/proxies/${proxy.name}`)).json as { toxics: unknown[] }).toxics,
    ).toEqual([created.json]);
  });

  it("answers 409 for a taken toxic name and 400 for a bad type, stream or attributes", async () => {
    const proxy = await createProxy();
    const path = `/proxies/${proxy.name}/toxics`;
    expect(
      (await api("POST", path, { name: "slow", type: "latency", attributes: { latency: 1 } }))
        .status,
    ).toBe(200);
    expect(
      await api("POST", path, { name: "slow", type: "latency", attributes: { latency: 1 } }),
    ).toEqual({
      status: 409,
      json: { error: "toxic already exists", status: 409 },
    });
    const unknownType = await api("POST", path, { name: "odd", type: "no_such_toxic" });
    expect(unknownType.status).toBe(400);
    expect((unknownType.json as { error: string }).error).toContain("invalid toxic type");
    const badStream = await api("POST", path, { name: "odd", type: "latency", stream: "sideways" });
    expect(badStream.status).toBe(400);
    expect((badStream.json as { error: string }).error).toContain("stream");
    const badAttribute = await api("POST", path, {
      name: "odd",
      type: "latency",
      attributes: { latency: "ten" },
    });
    expect(badAttribute.status).toBe(400);
    expect((await api("POST", path, "{broken")).status).toBe(400);
    expect((await api("GET", path)).json).toMatchObject([{ name: "slow" }]);
  });

  it.each([
    ["latency", { latency: 1000, jitter: 100 }],
    ["bandwidth", { rate: 1000 }],
    ["slow_close", { delay: 1000 }],
    ["timeout", { timeout: 5000 }],
    // size_variation equal to average_size: upstream accepts it (slices of 0 to 2000 bytes).
    ["slicer", { average_size: 1000, size_variation: 1000, delay: 1000 }],
    ["reset_peer", { timeout: 1000 }],
    ["limit_data", { bytes: 42 }],
  ] as const)(
    "POST /proxies/{name}/toxics takes a %s toxic and answers its attributes as given",
    async (type, attributes) => {
      const proxy = await createProxy();
      const toxic = await proxy.addToxic({
        name: "",
        type,
        stream: "downstream",
        toxicity: 1,
        attributes: { ...attributes },
      });
      expect(toxic.toJson()).toEqual({
        name: `${type}_downstream`,
        type,
        stream: "downstream",
        toxicity: 1,
        attributes,
      });
      expect((await proxy.getToxic(toxic.name)).attributes).toEqual(attributes);
    },
  );

  it("a toxic's life through the client: create, read back, update attributes alone, remove, then 404", async () => {
    const proxy = await createProxy();
    const created = await proxy.addToxic({
      name: "",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: 1000, jitter: 100 },
    });
    const readBack = await proxy.getToxic(created.name);
    expect(readBack.toJson()).toEqual(created.toJson());
    // The client's update posts the attributes alone: the rest of the toxic stays.
    const updated = await api("POST", `/proxies/${proxy.name}/toxics/${created.name}`, {
      attributes: { latency: 12345, jitter: 42 },
    });
    expect(updated.json).toEqual({
      ...created.toJson(),
      attributes: { latency: 12345, jitter: 42 },
    });
    await created.remove();
    await expect(proxy.getToxic(created.name)).rejects.toThrow(
      "Request failed with status code 404",
    );
    // Creating the same proxy twice, through the client, fails with the 409 in its message.
    await expect(
      toxiproxy.createProxy({ name: proxy.name, listen: "127.0.0.1:0", upstream: echoAddress }),
    ).rejects.toThrow("Request failed with status code 409");
  });

  it("updates merge attributes (POST and PATCH) and DELETE answers 204", async () => {
    const proxy = await createProxy();
    const toxic = await proxy.addToxic({
      name: "wobbly",
      type: "latency",
      stream: "upstream",
      toxicity: 1,
      attributes: { latency: 20, jitter: 5 },
    });
    const updated = await toxic.update({
      ...toxic.toJson(),
      attributes: { latency: 30, jitter: 5 },
    });
    expect(updated.attributes).toEqual({ latency: 30, jitter: 5 });
    const patched = await api("PATCH", `/proxies/${proxy.name}/toxics/wobbly`, {
      attributes: { jitter: 1 },
    });
    expect(patched).toEqual({
      status: 200,
      json: {
        attributes: { latency: 30, jitter: 1 },
        name: "wobbly",
        type: "latency",
        stream: "upstream",
        toxicity: 1,
      },
    });
    const toxicity = await api("POST", `/proxies/${proxy.name}/toxics/wobbly`, { toxicity: 0.5 });
    expect(toxicity.json).toMatchObject({ toxicity: 0.5, attributes: { latency: 30, jitter: 1 } });
    expect((await api("DELETE", `/proxies/${proxy.name}/toxics/wobbly`)).status).toBe(204);
    expect((await api("GET", `/proxies/${proxy.name}/toxics`)).json).toEqual([]);
  });

  it("POST /reset enables every proxy and removes every toxic (204)", async () => {
    const proxy = await createProxy();
    await proxy.addToxic({
      name: "t",
      type: "timeout",
      stream: "downstream",
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    expect((await api("POST", "/reset")).status).toBe(204);
    const after = await api("GET", `/proxies/${proxy.name}`);
    expect(after.json).toMatchObject({ enabled: true, toxics: [], listen: proxy.listen });
    await roundTrip(await connectPeer(portOf(proxy.listen)), Buffer.from("reset"));
  });
});

describe("toxiproxy data path", () => {
  it("latency adds at least its delay, also to a connection opened before the toxic", async () => {
    const proxy = await createProxy();
    const peer = await connectPeer(portOf(proxy.listen));
    await roundTrip(peer, Buffer.from("warm up"));
    const latencyMs = 200;
    await proxy.addToxic({
      name: "slow",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: latencyMs, jitter: 0 },
    });
    const elapsedMs = await roundTrip(peer, Buffer.from("slow"));
    expect(elapsedMs).toBeGreaterThanOrEqual(latencyMs * 0.9);
    const fresh = await connectPeer(portOf(proxy.listen));
    expect(await roundTrip(fresh, Buffer.from("fresh"))).toBeGreaterThanOrEqual(latencyMs * 0.9);
  });

  it("removing a toxic mid-flight delivers what it held, intact and in order", async () => {
    const proxy = await createProxy();
    const peer = await connectPeer(portOf(proxy.listen));
    const toxic = await proxy.addToxic({
      name: "held",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: 60_000, jitter: 0 },
    });
    const first = payloadOf(5_000);
    peer.socket.write(first);
    await sleep(100); // The echo is now held inside the toxic for a minute.
    expect(peer.received().length).toBe(0);
    await toxic.remove();
    await waitFor(() => peer.received().length >= first.length, "the held bytes");
    expect(peer.received().equals(first)).toBe(true);
    await roundTrip(peer, Buffer.from("and later bytes follow"));
  });

  it("a toxic with toxicity 0 leaves connections alone", async () => {
    const proxy = await createProxy();
    await proxy.addToxic({
      name: "never",
      type: "timeout",
      stream: "downstream",
      toxicity: 0,
      attributes: { timeout: 0 },
    });
    await roundTrip(await connectPeer(portOf(proxy.listen)), Buffer.from("untouched"));
  });

  it("timeout 0 is a blackhole: nothing arrives, the connection stays open; removing it closes it", async () => {
    const proxy = await createProxy();
    const peer = await connectPeer(portOf(proxy.listen));
    await roundTrip(peer, Buffer.from("before"));
    const toxic = await proxy.addToxic({
      name: "hole",
      type: "timeout",
      stream: "downstream",
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    const before = peer.received().length;
    peer.socket.write("into the void");
    await sleep(300);
    expect(peer.received().length).toBe(before);
    expect(peer.closed).toBe(false);
    await toxic.remove();
    await waitFor(() => peer.closed, "the connection to close after the timeout toxic left");
  });

  it("timeout > 0 closes the connection after the timeout", async () => {
    const proxy = await createProxy();
    await proxy.addToxic({
      name: "cut",
      type: "timeout",
      stream: "upstream",
      toxicity: 1,
      attributes: { timeout: 100 },
    });
    const startedMs = performance.now();
    const peer = await connectPeer(portOf(proxy.listen));
    peer.socket.write("dropped");
    await waitFor(() => peer.closed, "the timeout to close the connection");
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(90);
    expect(peer.received().length).toBe(0);
  });

  it("reset_peer resets the connection: the client sees ECONNRESET", async () => {
    const proxy = await createProxy();
    await proxy.addToxic({
      name: "rst",
      type: "reset_peer",
      stream: "upstream",
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    const peer = await connectPeer(portOf(proxy.listen));
    peer.socket.write("trigger");
    await waitFor(() => peer.closed, "the reset");
    expect(peer.errorCode).toBe("ECONNRESET");
  });

  it("bandwidth limits the rate and delivers every byte", async () => {
    const proxy = await createProxy();
    const rateKilobytesPerSecond = 100;
    await proxy.addToxic({
      name: "thin",
      type: "bandwidth",
      stream: "downstream",
      toxicity: 1,
      attributes: { rate: rateKilobytesPerSecond },
    });
    const peer = await connectPeer(portOf(proxy.listen));
    const payload = payloadOf(50_000); // 0.5 s at 100 KB/s.
    const elapsedMs = await roundTrip(peer, payload);
    expect(elapsedMs).toBeGreaterThanOrEqual((payload.length / rateKilobytesPerSecond) * 0.8);
  });

  it("slicer delivers the data intact in several chunks", async () => {
    const proxy = await createProxy();
    await proxy.addToxic({
      name: "slices",
      type: "slicer",
      stream: "downstream",
      toxicity: 1,
      attributes: { average_size: 100, size_variation: 20, delay: 5_000 },
    });
    const peer = await connectPeer(portOf(proxy.listen));
    const payload = payloadOf(1_000);
    await roundTrip(peer, payload);
    expect(peer.chunks.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...peer.chunks.map((chunk) => chunk.length))).toBeLessThan(payload.length);
  });

  it("limit_data passes exactly its bytes, then closes the connection", async () => {
    const proxy = await createProxy();
    await proxy.addToxic({
      name: "cap",
      type: "limit_data",
      stream: "downstream",
      toxicity: 1,
      attributes: { bytes: 100 },
    });
    const peer = await connectPeer(portOf(proxy.listen));
    const payload = payloadOf(300);
    peer.socket.write(payload);
    await waitFor(() => peer.closed, "the connection to close at the limit");
    expect(peer.received()).toEqual(payload.subarray(0, 100));
  });

  it("slow_close holds the close back by its delay", async () => {
    const proxy = await createProxy();
    const delayMs = 300;
    await proxy.addToxic({
      name: "linger",
      type: "slow_close",
      stream: "downstream",
      toxicity: 1,
      attributes: { delay: delayMs },
    });
    const peer = await connectPeer(portOf(proxy.listen));
    await roundTrip(peer, Buffer.from("data still flows"));
    const startedMs = performance.now();
    peer.socket.end(); // The echo server closes its side in turn; that close is held back.
    await waitFor(() => peer.ended, "the delayed close");
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(delayMs * 0.9);
  });
});
