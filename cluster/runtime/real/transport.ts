// Node-to-node messaging over TCP (lesson 1, "the world is concurrent", and lesson 3, "network
// splits"): each node keeps one outbound connection per peer and one listener for inbound
// connections. Every peer is addressed by host:port from the configuration, so a Toxiproxy proxy
// can sit on each directed link (`n1->n2`) and the node never knows.
//
// Delivery is at most once. A message handed to a connected socket may still be lost (the link
// can die with it in flight): the coordinator's timeout covers that. A message that certainly
// did not leave (the peer refused the connection, the queue was full) comes back to the node as
// a `send-failed` event so that a coordinator stops waiting for that replica at once: that is how
// a minority side of a partition answers 503 quickly instead of timing out.

import net from "node:net";
import { freezeJson } from "../../core/immutable.ts";
import type { NodeId, PeerMessage } from "../../core/types.ts";
import { encodeVersion, type VersionedObject } from "../../core/versions.ts";
import {
  encodeFrame,
  encodeFrames,
  FrameDecoder,
  FrameError,
  frameSizeMaxBytes,
} from "./framing.ts";

export interface PeerAddress {
  host: string;
  port: number;
}

export interface TransportOptions {
  nodeId: NodeId;
  /** Every member's address as this node should dial it (a proxy's address when one sits on the
   * link). The node's own entry is not dialled: messages to self are delivered in memory. Nodes
   * that may join later (lesson 8) are listed here too: only listed nodes may say hello. */
  peers: Record<NodeId, PeerAddress>;
  /** Where this node listens for its peers; always 127.0.0.1. */
  listenPort: number;
  onMessage(from: NodeId, message: PeerMessage): void;
  onSendFailed(to: NodeId, message: PeerMessage, reason: string): void;
  log(event: string, fields?: Record<string, unknown>): void;
  limits?: Partial<TransportLimits>;
}

export interface TransportLimits {
  /** Messages waiting for a connection to a peer; more are dropped with send-failed. */
  queueLengthMax: number;
  /** Bytes written to a connected socket but not yet taken by the kernel (a slow or stalled
   * link); past this, new messages are dropped with send-failed instead of piling up. */
  socketBacklogBytesMax: number;
  connectTimeoutMs: number;
  reconnectBackoffMinMs: number;
  reconnectBackoffMaxMs: number;
  /** An inbound connection must name its sender within this time. */
  helloTimeoutMs: number;
  /** Inbound connections accepted at once. */
  inboundConnectionsMax: number;
}

export const defaultTransportLimits: TransportLimits = {
  queueLengthMax: 4096,
  socketBacklogBytesMax: 32 * 1024 * 1024,
  connectTimeoutMs: 2_000,
  reconnectBackoffMinMs: 50,
  reconnectBackoffMaxMs: 2_000,
  helloTimeoutMs: 5_000,
  inboundConnectionsMax: 256,
};

/** The first frame on every connection. */
interface Hello {
  type: "hello";
  from: NodeId;
}

type OutboundState =
  | { kind: "idle" }
  | { kind: "connecting"; socket: net.Socket; queue: PeerMessage[] }
  | { kind: "connected"; socket: net.Socket }
  /** A connection attempt failed: sends fail at once until `retryAtMs`, then we dial again. */
  | { kind: "backoff"; retryAtMs: number };

interface Outbound {
  peer: NodeId;
  address: PeerAddress;
  state: OutboundState;
  backoffMs: number;
}

export class Transport {
  private readonly limits: TransportLimits;
  private readonly outbound = new Map<NodeId, Outbound>();
  private readonly inbound = new Set<net.Socket>();
  /** Messages sent during this turn of the event loop, already JSON, per socket: each socket's
   * leave in one write when the turn's I/O callbacks are done (see flush). */
  private readonly batches = new Map<net.Socket, string[]>();
  private flushScheduled = false;
  /** Messages to this node itself, delivered together after this turn's I/O (see send). */
  private selfQueue: PeerMessage[] = [];
  private server: net.Server | undefined;
  private closed = false;

  constructor(private readonly options: TransportOptions) {
    this.limits = { ...defaultTransportLimits, ...options.limits };
    for (const [peer, address] of Object.entries(options.peers)) {
      assertLoopback(address.host, `the address of peer ${peer}`);
      if (peer === options.nodeId) continue;
      this.outbound.set(peer, { peer, address, state: { kind: "idle" }, backoffMs: 0 });
    }
  }

  /** Starts the listener; rejects with the listen error (EADDRINUSE) for the caller to report. */
  listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.limits.inboundConnectionsMax;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listenPort, "127.0.0.1", () => {
        server.off("error", reject);
        server.on("error", (error) =>
          this.options.log("peer-listener-error", { error: `${error}` }),
        );
        resolve();
      });
    });
  }

  get listenPort(): number {
    const address = this.server?.address();
    return typeof address === "object" && address !== null ? address.port : this.options.listenPort;
  }

  send(to: NodeId, message: PeerMessage): void {
    if (this.closed) return;
    if (to === this.options.nodeId) {
      // The receiver must never share mutable objects with the sender. Rather than a copy
      // through JSON, the message is frozen all the way down and shared, as the simulator does
      // (core/immutable.ts); freezeJson refuses what JSON would have changed. Delivered later,
      // never from inside the sender's own event.
      try {
        freezeJson(message);
      } catch (error) {
        this.fail(to, message, `${error instanceof Error ? error.message : error}`);
        return;
      }
      this.selfQueue.push(message);
      if (this.selfQueue.length === 1) setImmediate(() => this.deliverToSelf());
      return;
    }
    const outbound = this.outbound.get(to);
    if (outbound === undefined) {
      this.fail(to, message, "unknown peer");
      return;
    }
    const state = outbound.state;
    switch (state.kind) {
      case "connected":
        this.write(outbound, state.socket, message);
        return;
      case "connecting":
        if (state.queue.length >= this.limits.queueLengthMax) {
          this.fail(to, message, "send queue full");
        } else {
          state.queue.push(message);
        }
        return;
      case "backoff":
        if (Date.now() < state.retryAtMs) {
          this.fail(to, message, "peer unreachable");
          return;
        }
        this.connect(outbound, [message]);
        return;
      case "idle":
        this.connect(outbound, [message]);
        return;
    }
  }

  /** Closes every connection and the listener. Queued messages are dropped silently: the node
   * is going away with them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const outbound of this.outbound.values()) {
      const state = outbound.state;
      if (state.kind === "connected" || state.kind === "connecting") state.socket.destroy();
      outbound.state = { kind: "idle" };
    }
    for (const socket of this.inbound) socket.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connect(outbound: Outbound, queue: PeerMessage[]): void {
    const socket = net.connect({ host: outbound.address.host, port: outbound.address.port });
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.connectTimeoutMs);
    outbound.state = { kind: "connecting", socket, queue };
    socket.once("timeout", () => socket.destroy(new Error("connect timeout")));
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.removeAllListeners("timeout");
      const state = outbound.state;
      if (state.kind !== "connecting" || state.socket !== socket) return;
      outbound.state = { kind: "connected", socket };
      outbound.backoffMs = 0;
      this.options.log("peer-connected", { peer: outbound.peer });
      const hello: Hello = { type: "hello", from: this.options.nodeId };
      socket.write(encodeFrame(hello));
      for (const message of state.queue) this.write(outbound, socket, message);
    });
    // Peers never send on our outbound connection; reading keeps the socket from stalling.
    socket.on("data", () => {});
    socket.on("error", () => {}); // the close handler decides; the error says nothing more useful
    socket.once("close", () => this.lost(outbound, socket));
  }

  /** A peer just dialled us, so it is up (it may have restarted): stop backing off from it, or
   * our replies to its first requests would fail for up to `reconnectBackoffMaxMs`. */
  private peerIsBack(peer: NodeId): void {
    const outbound = this.outbound.get(peer);
    if (outbound === undefined || outbound.state.kind !== "backoff") return;
    outbound.state = { kind: "idle" };
    outbound.backoffMs = 0;
  }

  private lost(outbound: Outbound, socket: net.Socket): void {
    const state = outbound.state;
    if (state.kind === "connecting" && state.socket === socket) {
      outbound.backoffMs = Math.min(
        this.limits.reconnectBackoffMaxMs,
        Math.max(this.limits.reconnectBackoffMinMs, outbound.backoffMs * 2),
      );
      outbound.state = { kind: "backoff", retryAtMs: Date.now() + outbound.backoffMs };
      for (const message of state.queue) this.fail(outbound.peer, message, "connection refused");
      return;
    }
    if (state.kind === "connected" && state.socket === socket) {
      // Messages already written may or may not have arrived: only the coordinator's timeout can
      // tell. The next send dials again at once (the peer may simply have restarted).
      outbound.state = { kind: "idle" };
      if (!this.closed) this.options.log("peer-disconnected", { peer: outbound.peer });
    }
  }

  private write(outbound: Outbound, socket: net.Socket, message: PeerMessage): void {
    if (socket.writableLength > this.limits.socketBacklogBytesMax) {
      this.fail(outbound.peer, message, "socket backlog full");
      return;
    }
    // Each message is stringified once, here; its frame is built when the batch leaves.
    let text: string;
    try {
      text = messageText(message);
    } catch (error) {
      this.fail(outbound.peer, message, `${error instanceof Error ? error.message : error}`);
      return;
    }
    // A UTF-8 byte is at most 3 per UTF-16 unit: count bytes only when it could matter.
    if (text.length * 3 > frameSizeMaxBytes && Buffer.byteLength(text) > frameSizeMaxBytes) {
      this.fail(outbound.peer, message, `a frame of more than ${frameSizeMaxBytes} bytes`);
      return;
    }
    let batch = this.batches.get(socket);
    if (batch === undefined) {
      batch = [];
      this.batches.set(socket, batch);
    }
    batch.push(text);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Writes every batch, one buffer and one system call per socket. It runs in the loop's check
   * phase, after the poll phase has handled every input that was ready: so a node that read ten
   * client requests and three peer frames in one turn sends each peer one write, not thirteen.
   * A write costs a system call on each side and wakes the peer's loop; at peak load this was
   * the largest native cost in a node's profile (issue 13). The delay it adds is the rest of
   * the current turn, well under a millisecond.
   */
  private flush(): void {
    this.flushScheduled = false;
    for (const [socket, texts] of this.batches) {
      // A socket closed meanwhile takes the batch with it: delivery is at most once.
      if (!socket.destroyed) socket.write(encodeFrames(texts));
    }
    this.batches.clear();
  }

  private deliverToSelf(): void {
    const messages = this.selfQueue;
    this.selfQueue = [];
    for (const message of messages) {
      if (this.closed) return;
      this.options.onMessage(this.options.nodeId, message);
    }
  }

  private fail(to: NodeId, message: PeerMessage, reason: string): void {
    // Never call back into the node from inside its own send(): the node handles one event at a
    // time, so the failure arrives as a later event.
    setImmediate(() => {
      if (!this.closed) this.options.onSendFailed(to, message, reason);
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    let from: NodeId | undefined;
    const helloTimer = setTimeout(() => {
      this.options.log("peer-frame-rejected", { reason: "no hello in time" });
      socket.destroy();
    }, this.limits.helloTimeoutMs);
    socket.on("data", (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = decoder.push(chunk);
      } catch (error) {
        const reason = error instanceof FrameError ? error.message : `${error}`;
        this.options.log("peer-frame-rejected", { from, reason });
        socket.destroy();
        return;
      }
      for (const value of values) {
        if (from === undefined) {
          from = this.checkHello(value);
          if (from === undefined) {
            socket.destroy();
            return;
          }
          clearTimeout(helloTimer);
          this.peerIsBack(from);
          continue;
        }
        const problem = peerMessageProblem(value);
        if (problem !== undefined) {
          this.options.log("peer-frame-rejected", { from, reason: problem });
          socket.destroy();
          return;
        }
        this.options.onMessage(from, value as PeerMessage);
      }
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      clearTimeout(helloTimer);
      this.inbound.delete(socket);
    });
  }

  private checkHello(value: unknown): NodeId | undefined {
    const hello = value as Partial<Hello> | null;
    const known = typeof hello?.from === "string" && hello.from in this.options.peers;
    if (typeof hello !== "object" || hello === null || hello.type !== "hello" || !known) {
      this.options.log("peer-frame-rejected", {
        reason: "the first frame must be a hello from a cluster member",
      });
      return undefined;
    }
    return hello.from;
  }
}

/** Refuses anything but loopback: neverstop's tests and labs must never reach another machine. */
export function assertLoopback(host: string, what: string): void {
  if (host !== "localhost" && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new Error(`Expected ${what} to be a loopback address (127.0.0.0/8), got ${host}`);
  }
}

type FieldKind = "string" | "number" | "object" | "array" | "any";

/** The fields each message type must carry, and their JSON kinds. */
const requiredFields: Record<PeerMessage["type"], Record<string, FieldKind>> = {
  mint: { id: "string", bucket: "string", key: "string", context: "object" },
  "mint-ok": { id: "string", object: "object" },
  "mint-refused": { id: "string", detail: "string" },
  replicate: { id: "string", bucket: "string", key: "string", object: "object" },
  "replicate-ok": { id: "string" },
  read: { id: "string", bucket: "string", key: "string" },
  "read-reply": { id: "string", object: "any" },
  repair: { bucket: "string", key: "string", object: "object" },
  reap: { bucket: "string", key: "string", clock: "object" },
  ping: {},
  ring: { ring: "object" },
  "join-request": {},
  pong: {},
  handoff: { id: "string", bucket: "string", key: "string", object: "object" },
  "handoff-ok": { id: "string" },
  transfer: { id: "string", bucket: "string", key: "string", object: "object" },
  "transfer-ok": { id: "string" },
  "aae-root": { partition: "number", root: "string" },
  "aae-segments": { partition: "number", segments: "array" },
  "aae-keys": { partition: "number", segment: "number", keys: "object" },
  "aae-want": { storageKeys: "array" },
};

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case "any":
      return value !== undefined;
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    default:
      return typeof value === kind;
  }
}

/** A shallow check of a peer message's shape, so that a garbled or foreign frame closes the
 * connection instead of reaching the node's logic. Returns what is wrong, or undefined. */
export function peerMessageProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "a peer message must be a JSON object";
  }
  const record = value as Record<string, unknown>;
  const type = record["type"];
  if (typeof type !== "string" || !Object.hasOwn(requiredFields, type)) {
    return `unknown peer message type ${JSON.stringify(type)}`;
  }
  for (const [field, kind] of requiredFieldLists.get(type)!) {
    if (!hasKind(record[field], kind)) return `peer message ${type} needs ${kind} field ${field}`;
  }
  return undefined;
}

/**
 * JSON.stringify(message), reusing the text of a version the node has already encoded. Most of
 * a replicate, read-reply, handoff or transfer is its version, and the node encoded that very
 * version (frozen, so it cannot have changed) when it stored or loaded it: versions.ts remembers
 * that text. Worked example: {type: "replicate", id: "n1-7", bucket: "b", key: "k", object: v}
 * -> '{"type":"replicate","id":"n1-7","bucket":"b","key":"k"' + ',"object":' + encodeVersion(v)
 * + '}'. A version with other fields than mode, clock and siblings is stringified as usual.
 */
export function messageText(message: PeerMessage): string {
  const object = (message as { object?: unknown }).object;
  if (!isFrozenVersion(object)) return JSON.stringify(message);
  const head = JSON.stringify({ ...message, object: undefined }); // undefined: left out
  return `${head.slice(0, -1)},"object":${encodeVersion(object)}}`;
}

function isFrozenVersion(value: unknown): value is VersionedObject {
  if (typeof value !== "object" || value === null || !Object.isFrozen(value)) return false;
  let fields = 0;
  for (const field in value) {
    if (field !== "mode" && field !== "clock" && field !== "siblings") return false;
    fields += 1;
  }
  return fields === 3;
}

/** requiredFields as lists, made once: every inbound message is checked against its type's. */
const requiredFieldLists = new Map(
  Object.entries(requiredFields).map(([type, fields]) => [type, Object.entries(fields)]),
);
