// Node-to-node messaging on loopback (lessons 1 and 3): messages arrive in order on one link,
// a peer that is down turns into prompt send-failed events (so coordinators stop waiting), a
// restarted peer is reached again, and a garbled or foreign frame closes only that connection.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeId, PeerMessage } from "../../core/types.ts";
import { portIsFree } from "./cluster.ts";
import { encodeFrame } from "./framing.ts";
import { freezeJson } from "../../core/immutable.ts";
import { messageText, peerMessageProblem, Transport } from "./transport.ts";

interface Received {
  from: NodeId;
  message: PeerMessage;
}

const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((transport) => transport.close()));
});

async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portIsFree(port)) return port;
  }
}

function start(nodeId: NodeId, peers: Record<NodeId, number>) {
  const received: Received[] = [];
  const failed: { to: NodeId; message: PeerMessage; reason: string }[] = [];
  const logs: string[] = [];
  const addresses = Object.fromEntries(
    Object.entries(peers).map(([id, port]) => [id, { host: "127.0.0.1", port }]),
  );
  const transport = new Transport({
    nodeId,
    peers: addresses,
    listenPort: peers[nodeId]!,
    onMessage: (from, message) => received.push({ from, message }),
    onSendFailed: (to, message, reason) => failed.push({ to, message, reason }),
    log: (event) => logs.push(event),
    limits: { reconnectBackoffMinMs: 10, reconnectBackoffMaxMs: 20 },
  });
  open.push(transport);
  return { transport, received, failed, logs };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const read = (id: string): PeerMessage => ({ type: "read", id, bucket: "b", key: "k" });

describe("transport", () => {
  it("delivers messages in order and names the sender", async () => {
    const ports = { n1: await freePort(), n2: await freePort() };
    const a = start("n1", ports);
    const b = start("n2", ports);
    await Promise.all([a.transport.listen(), b.transport.listen()]);
    for (let index = 0; index < 200; index++) a.transport.send("n2", read(`m${index}`));
    await until(() => b.received.length === 200, "200 messages");
    expect(b.received.map((entry) => (entry.message as { id: string }).id)).toEqual(
      Array.from({ length: 200 }, (_, index) => `m${index}`),
    );
    expect(new Set(b.received.map((entry) => entry.from))).toEqual(new Set(["n1"]));
    expect(a.failed).toEqual([]);
  });

  it("delivers a message to itself frozen, after the current event", async () => {
    const ports = { n1: await freePort() };
    const a = start("n1", ports);
    await a.transport.listen();
    const message = { type: "repair", bucket: "b", key: "k", object: { clock: { n1: 1 } } };
    a.transport.send("n1", message as PeerMessage);
    expect(a.received).toEqual([]);
    await until(() => a.received.length === 1, "self delivery");
    const received = a.received[0]!.message as unknown as typeof message;
    expect(received).toEqual({
      type: "repair",
      bucket: "b",
      key: "k",
      object: { clock: { n1: 1 } },
    });
    // Shared, not copied: so neither side may change it, all the way down.
    expect(() => {
      received.object.clock.n1 = 2;
    }).toThrow(TypeError);
    expect(message.object.clock.n1).toBe(1);
  });

  it("refuses to deliver to itself what JSON could not carry, as send-failed", async () => {
    const ports = { n1: await freePort() };
    const a = start("n1", ports);
    await a.transport.listen();
    const message = { type: "read", id: "x", bucket: "b", key: undefined };
    a.transport.send("n1", message as unknown as PeerMessage);
    await until(() => a.failed.length === 1, "send-failed");
    expect(a.received).toEqual([]);
  });

  it("reports send-failed when the peer is down, then reaches it once it is up", async () => {
    const ports = { n1: await freePort(), n2: await freePort() };
    const a = start("n1", ports);
    await a.transport.listen();
    a.transport.send("n2", read("lost"));
    await until(() => a.failed.length === 1, "send-failed");
    expect(a.failed[0]).toMatchObject({ to: "n2", message: { id: "lost" } });
    const b = start("n2", ports);
    await b.transport.listen();
    // Keep sending until the backoff expires and a connection is made.
    await until(() => {
      a.transport.send("n2", read("again"));
      return b.received.length > 0;
    }, "delivery after the peer started");
    expect(b.received[0]!.message).toMatchObject({ id: "again" });
  });

  it("closes a connection whose first frame is not a hello from a member, and stays up", async () => {
    const ports = { n1: await freePort(), n2: await freePort() };
    const b = start("n2", ports);
    await b.transport.listen();
    for (const first of [{ type: "hello", from: "stranger" }, read("no-hello"), "garbage"]) {
      const closed = await sendRaw(ports.n2, [encodeFrame(first), encodeFrame(read("after"))]);
      expect(closed).toBe(true);
    }
    const badLength = Buffer.alloc(4);
    badLength.writeUInt32BE(0xffffffff, 0);
    expect(await sendRaw(ports.n2, [encodeFrame({ type: "hello", from: "n1" }), badLength])).toBe(
      true,
    );
    expect(
      await sendRaw(ports.n2, [
        encodeFrame({ type: "hello", from: "n1" }),
        encodeFrame({ type: "nonsense" }),
      ]),
    ).toBe(true);
    expect(b.received).toEqual([]);
    expect(b.logs.filter((event) => event === "peer-frame-rejected").length).toBe(5);
    // The node still serves a well-behaved peer.
    const a = start("n1", ports);
    await a.transport.listen();
    a.transport.send("n2", read("fine"));
    await until(() => b.received.length === 1, "delivery after bad frames");
  });

  it("checks the shape of peer messages", () => {
    expect(peerMessageProblem(read("1"))).toBeUndefined();
    expect(peerMessageProblem({ type: "read-reply", id: "1", object: null })).toBeUndefined();
    expect(peerMessageProblem({ type: "read", id: 1, bucket: "b", key: "k" })).toMatch(/id/);
    expect(
      peerMessageProblem({ type: "replicate", id: "1", bucket: "b", key: "k", object: null }),
    ).toMatch(/object/);
    expect(peerMessageProblem([1])).toMatch(/object/);
    expect(peerMessageProblem({ type: "__proto__" })).toMatch(/unknown/);
  });

  it("refuses a non-loopback peer address", () => {
    expect(
      () =>
        new Transport({
          nodeId: "n1",
          peers: { n1: { host: "127.0.0.1", port: 1 }, n2: { host: "10.0.0.2", port: 2 } },
          listenPort: 0,
          onMessage: () => {},
          onSendFailed: () => {},
          log: () => {},
        }),
    ).toThrow(/loopback/);
  });
});

/** Writes raw bytes to a peer port; resolves true when the node closes the connection. */
function sendRaw(port: number, chunks: Buffer[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 3_000);
    socket.on("error", () => {});
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("messageText", () => {
  it("is JSON.stringify's text, meaning for meaning, whether or not the version is frozen", () => {
    const version = () => ({
      mode: "causal",
      clock: { n1: 2, n2: 1 },
      siblings: [
        { value: { cart: ["a", "é"] }, dot: ["n1", 2], timestampMs: 5 },
        { value: null, dot: ["n2", 1], timestampMs: 4, deleted: true },
      ],
    });
    const messages = [
      {
        type: "replicate",
        id: "n1-7",
        bucket: "b",
        key: 'k\u0000"x',
        object: freezeJson(version()),
      },
      { type: "read-reply", id: "n1-8", object: version() },
      { type: "read-reply", id: "n1-9", object: null },
      { type: "ping" },
      {
        type: "handoff",
        id: "h",
        bucket: "b",
        key: "k",
        object: freezeJson({ ...version(), extra: 1 }),
      },
    ];
    for (const message of messages) {
      const text = messageText(message as unknown as PeerMessage);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(message)));
    }
  });
});
