// The load generator's HTTP client for bench:overload and bench:cluster (lesson 9, "capacity planning with back
// pressure"): a fixed pool of keep-alive connections to one node, one request at a time on each,
// requests beyond the pool waiting in a bounded queue. The benchmark's generator shares two
// cores with the nodes it measures, so its client must be cheap: Node's http.request costs
// about 0.13 ms of CPU per request (agent bookkeeping, header objects, streams and the garbage
// they leave), and at twice the nodes' capacity the generator saturated its own event loop and
// measured its own queue (profile: 87% busy, 12.6% in GC; requests waited 700 ms in the agent's
// queue while the nodes were 25% idle). undici's Pool, the HTTP/1.1 client Node's own fetch is
// built on, costs about 0.04 ms per request on this machine through pool.request, and less
// through its dispatch callbacks, which this client uses (no promise per stage, no body stream,
// raw headers): 23-31 us of CPU per refused request against 34-47 us, alternated runs at load 4.
// At twice capacity every refusal costs the shared cores twice, once here and once in the node.
//
// Worked example: `pool.request("GET", "/kv/b/k1", undefined)` sends the request on a free
// connection (or queues it) and resolves { status: 200, overloadRefusal: false, retryAfter:
// false } once the whole answer has arrived; a 503 whose body names the error "overload" and
// carries Retry-After resolves { status: 503, overloadRefusal: true, retryAfter: true }.

import { Pool } from "undici";

export interface BenchAnswer {
  status: number;
  /** The body names the error "overload" (a 503 refusal by the node or its HTTP layer). */
  overloadRefusal: boolean;
  /** The answer carried a Retry-After header. */
  retryAfter: boolean;
  /** Its X-Neverstop-Context header, which a client sends back with its next write of the key
   * (bench:cluster's clients do, so that puts supersede and do not pile up siblings). */
  context?: string | undefined;
}

/** Idle time after which a connection is not reused: below the node's keep-alive timeout (5 s in
 * http.ts), as HTTP clients do, so that a request never lands on a socket the server closes. */
const idleMsMax = 4_000;

const jsonContentType = { "content-type": "application/json" };
const noHeaders: Record<string, string> = {};
const overloadMarker = Buffer.from('"error":"overload"');

/** One answer read through undici's dispatch callbacks (its cheapest interface: no promise per
 * stage, no body stream, headers left raw). A body is only kept for a 503, the one answer whose
 * body the benchmark reads (does it name the error "overload"?). */
class AnswerHandler {
  private status = 0;
  private retryAfter = false;
  private context: string | undefined;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly resolve: (answer: BenchAnswer) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onConnect(): void {}

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.status = status;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index]!;
      // Compared by length first: most headers are neither, and are not decoded.
      if (name.length === 11 && name.toString("latin1").toLowerCase() === "retry-after") {
        this.retryAfter = true;
      } else if (
        name.length === 19 &&
        name.toString("latin1").toLowerCase() === "x-neverstop-context"
      ) {
        this.context = rawHeaders[index + 1]!.toString("latin1");
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.status === 503) this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const overloadRefusal =
      this.status === 503 && Buffer.concat(this.chunks).includes(overloadMarker);
    this.resolve({
      status: this.status,
      overloadRefusal,
      retryAfter: this.retryAfter,
      context: this.context,
    });
  }

  onError(error: Error): void {
    this.reject(error);
  }
}

export class BenchConnectionPool {
  private readonly pool: Pool;
  private outstanding = 0;

  constructor(
    port: number,
    private readonly connectionsMax: number,
    requestTimeoutMs: number,
    /** Requests that may wait for a free connection; past it a request fails at once. */
    private readonly queueLengthMax: number,
  ) {
    this.pool = new Pool(`http://127.0.0.1:${port}`, {
      connections: connectionsMax,
      pipelining: 1,
      keepAliveTimeout: idleMsMax,
      headersTimeout: requestTimeoutMs,
      bodyTimeout: requestTimeoutMs,
    });
  }

  /** Sends one request; rejects on a broken connection, a timeout or a full queue. */
  async request(
    method: "GET" | "PUT",
    path: string,
    body: string | undefined,
    headers: Record<string, string> = noHeaders,
  ): Promise<BenchAnswer> {
    if (this.outstanding >= this.connectionsMax + this.queueLengthMax) {
      throw new Error("the client's queue is full");
    }
    this.outstanding += 1;
    try {
      return await new Promise<BenchAnswer>((resolve, reject) => {
        this.pool.dispatch(
          body === undefined
            ? { method, path, headers }
            : {
                method,
                path,
                body,
                // bench:overload's requests share one header object: no copy per request.
                headers:
                  headers === noHeaders ? jsonContentType : { ...jsonContentType, ...headers },
              },
          new AnswerHandler(resolve, reject),
        );
      });
    } finally {
      this.outstanding -= 1;
    }
  }

  /** Opens every connection of the pool now, as a fleet of clients holding keep-alive
   * connections would have them open before a burst arrives. */
  async connect(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.connectionsMax }, async () => {
        const answer = await this.pool.request({ method: "GET", path: "/health" });
        await answer.body.dump();
      }),
    );
  }

  /** Connections open, busy, and requests waiting: for a report when something hangs. */
  state(): { connections: number; busy: number; queued: number } {
    const stats = this.pool.stats;
    return { connections: stats.connected, busy: stats.running, queued: stats.pending };
  }

  close(): void {
    void this.pool.destroy();
  }
}
