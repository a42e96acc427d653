// The load generator's HTTP client for bench:overload (lesson 9, "capacity planning with back
// pressure"): a fixed pool of keep-alive connections to one node, one request at a time on each,
// requests beyond the pool waiting in a bounded queue. It exists because the benchmark's load
// generator shares two cores with the nodes it measures: Node's http.request costs the generator
// about 0.13 ms of CPU per request (agent bookkeeping, header objects, streams, the garbage they
// leave), so at twice the nodes' capacity the generator saturated its own event loop and measured
// its own queue (profile: 87% busy, 12.6% in GC; every request, accepted or refused, waited
// 700 ms in the agent's queue while the nodes were 25% idle). This client writes a prepared
// request line and reads only what the benchmark needs from the answer (status, Content-Length,
// Retry-After, whether the body says "overload"), so the nodes, not the generator, decide the
// latency. It speaks only the HTTP/1.1 the node's own server writes (always Content-Length,
// never chunked: http.ts `send`), and says so when an answer is anything else.
//
// Worked example: `pool.request("GET", "/kv/b/k1", undefined)` on an idle pool writes
// "GET /kv/b/k1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" on a free connection and resolves
// { status: 200, overloadRefusal: false, retryAfter: false } when the whole body has arrived.

import net from "node:net";

export interface BenchAnswer {
  status: number;
  /** The body names the error "overload" (a 503 refusal by the node or its HTTP layer). */
  overloadRefusal: boolean;
  /** The answer carried a Retry-After header. */
  retryAfter: boolean;
}

interface Waiting {
  bytes: Buffer;
  resolve: (answer: BenchAnswer) => void;
  reject: (error: Error) => void;
}

interface Connection {
  socket: net.Socket;
  current: (Waiting & { startedMs: number }) | undefined;
  /** Bytes of the answer read so far (an answer can arrive in several chunks). */
  buffered: Buffer | undefined;
  idleSinceMs: number;
}

const headerEnd = Buffer.from("\r\n\r\n");
const overloadMarker = Buffer.from('"error":"overload"');
/** Idle time after which a connection is not reused: below the server's keep-alive timeout. */
const idleMsMax = 4_000;

export class BenchConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Waiting[] = [];
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly port: number,
    private readonly connectionsMax: number,
    private readonly requestTimeoutMs: number,
    /** Requests that may wait for a free connection; past it a request fails at once. */
    private readonly queueLengthMax: number,
  ) {
    this.sweep = setInterval(() => this.expire(), 100);
    this.sweep.unref();
  }

  /** Sends one request; rejects on a broken connection, a timeout or an answer it cannot read. */
  request(method: "GET" | "PUT", path: string, body: string | undefined): Promise<BenchAnswer> {
    const head =
      body === undefined
        ? `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
        : `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => {
      const waiting = { bytes: Buffer.from(head, "latin1"), resolve, reject };
      const connection = this.takeIdle() ?? this.open();
      if (connection !== undefined) this.start(connection, waiting);
      else if (this.queue.length < this.queueLengthMax) this.queue.push(waiting);
      else reject(new Error("the client's queue is full"));
    });
  }

  /** Opens every connection of the pool now, as a fleet of clients holding keep-alive
   * connections would have them open before a burst arrives. */
  async connect(): Promise<void> {
    const opened: Promise<void>[] = [];
    while (this.all.size < this.connectionsMax) {
      const connection = this.open()!;
      this.idle.push(connection);
      opened.push(
        new Promise((resolve, reject) => {
          connection.socket.once("connect", () => resolve());
          connection.socket.once("close", () => reject(new Error("could not connect")));
        }),
      );
    }
    await Promise.all(opened);
  }

  /** Connections open, busy, idle, and requests waiting: for a report when something hangs. */
  state(): { connections: number; busy: number; idle: number; queued: number } {
    let busy = 0;
    for (const connection of this.all) if (connection.current !== undefined) busy += 1;
    return { connections: this.all.size, busy, idle: this.idle.length, queued: this.queue.length };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    for (const connection of this.all) connection.socket.destroy();
    for (const waiting of this.queue.splice(0)) waiting.reject(new Error("pool closed"));
  }

  private open(): Connection | undefined {
    if (this.all.size >= this.connectionsMax || this.closed) return undefined;
    const socket = net.connect({ host: "127.0.0.1", port: this.port, noDelay: true });
    const connection: Connection = {
      socket,
      current: undefined,
      buffered: undefined,
      idleSinceMs: performance.now(),
    };
    this.all.add(connection);
    socket.on("data", (chunk: Buffer) => this.receive(connection, chunk));
    socket.on("error", () => {}); // "close" follows and fails the request in flight.
    socket.on("close", () => this.fail(connection, new Error("connection closed")));
    return connection;
  }

  private start(connection: Connection, waiting: Waiting): void {
    if (connection.current !== undefined) throw new Error("a connection carries one request");
    connection.current = { ...waiting, startedMs: performance.now() };
    connection.socket.write(waiting.bytes);
  }

  private receive(connection: Connection, chunk: Buffer): void {
    if (connection.current === undefined) {
      // An answer nobody asked for (the server timed the connection out, say): drop it.
      connection.socket.destroy(new Error("an answer without a request"));
      return;
    }
    const data =
      connection.buffered === undefined ? chunk : Buffer.concat([connection.buffered, chunk]);
    const end = data.indexOf(headerEnd);
    if (end < 0) {
      connection.buffered = data;
      return;
    }
    const head = data.toString("latin1", 0, end).toLowerCase();
    const lengthMatch = /\r\ncontent-length: *(\d+)/.exec(head);
    const status = Number(head.slice(9, 12));
    const bodyLength = lengthMatch === null ? 0 : Number(lengthMatch[1]);
    if (lengthMatch === null && status !== 204 && status !== 304) {
      connection.socket.destroy(new Error("an answer without Content-Length"));
      return;
    }
    const total = end + headerEnd.length + bodyLength;
    if (data.length < total) {
      connection.buffered = data;
      return;
    }
    if (data.length > total) {
      connection.socket.destroy(new Error("more bytes than one answer (no pipelining here)"));
      return;
    }
    connection.buffered = undefined;
    const waiting = connection.current;
    connection.current = undefined;
    if (head.includes("\r\nconnection: close")) this.retire(connection);
    else this.release(connection);
    waiting?.resolve({
      status,
      overloadRefusal: status === 503 && data.includes(overloadMarker, end),
      retryAfter: head.includes("\r\nretry-after:"),
    });
  }

  /** A free connection takes the oldest waiting request, or goes back to the idle list. */
  private release(connection: Connection): void {
    const next = this.queue.shift();
    if (next !== undefined) this.start(connection, next);
    else {
      connection.idleSinceMs = performance.now();
      this.idle.push(connection);
    }
  }

  /** The most recently used idle connection; one idle longer than the server keeps it (its
   * keepAliveTimeout, 5 s in http.ts) is closed instead, as HTTP clients do, so that a request
   * never goes out on a connection the server is closing. */
  private takeIdle(): Connection | undefined {
    const nowMs = performance.now();
    for (;;) {
      const connection = this.idle.pop();
      if (connection === undefined) return undefined;
      if (nowMs - connection.idleSinceMs < idleMsMax) return connection;
      this.all.delete(connection);
      connection.socket.removeAllListeners("close");
      connection.socket.destroy();
    }
  }

  private retire(connection: Connection): void {
    this.all.delete(connection);
    connection.socket.removeAllListeners("close");
    connection.socket.destroy();
    const next = this.queue.shift();
    if (next === undefined) return;
    const replacement = this.open();
    if (replacement === undefined) this.queue.unshift(next);
    else this.start(replacement, next);
  }

  private fail(connection: Connection, error: Error): void {
    this.all.delete(connection);
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    const waiting = connection.current;
    connection.current = undefined;
    waiting?.reject(error);
    if (!this.closed && this.queue.length > 0) {
      const replacement = this.open();
      if (replacement !== undefined) this.start(replacement, this.queue.shift()!);
    }
  }

  /** A request unanswered past its timeout fails, and its connection with it (a late answer
   * would otherwise be read as the next request's). */
  private expire(): void {
    const nowMs = performance.now();
    for (const connection of this.all) {
      const current = connection.current;
      if (current !== undefined && nowMs - current.startedMs > this.requestTimeoutMs) {
        connection.socket.destroy(new Error("timed out"));
      }
    }
  }
}
