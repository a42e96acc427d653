// The client API over HTTP/1.1 JSON (lesson 7, "a retry strategy for every interface function",
// and lesson 9, "capacity planning with back pressure"): curl-friendly routes, every input
// checked at this boundary before the node sees it, a limit on everything a client controls
// (body size, name length, header size, how slowly it may send), and an answer for every
// request, even when the node's logic never replies.
//
//   PUT    /kv/:bucket/:key     body = the value as JSON; X-Neverstop-Context; ?n&w&pw&timeout_ms
//   GET    /kv/:bucket/:key     ?n&r&timeout_ms -> { siblings, context } (+ X-Neverstop-Context)
//   DELETE /kv/:bucket/:key     X-Neverstop-Context; ?n&w&pw&timeout_ms -> 204
//   GET    /ring, /ring/keys/:bucket/:key, /health, /metrics, /members, /alarms
//   GET    /debug/kv/:bucket/:key (this node's own replica), /debug/store (store counters)
//   GET|PUT /admin/clock        { "skewMs": 30000 }: the clock nemesis (loopback only)
//   POST   /admin/join          { "node": "n6" }: add a member (lesson 8); answers the new ring
//   POST   /admin/leave         { "node": "n2" }: remove a member; its data moves in the background
//
// Errors are JSON { "error", "detail" }: 400 bad input, 404, 405, 408 too slow, 413 too big,
// 503 unavailable (with `indeterminate` when a write may have landed), 504 timeout.

import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ClientRequest, ClientResponse, JsonValue, NodeId } from "../../core/types.ts";
import { bucketSizeMaxBytes, keySizeMaxBytes, timeoutMsMax } from "../../core/validate.ts";
import type { StoreStats } from "../../storage/store.ts";
import { LoadRegulator, type LoadRegulatorLimits } from "./load-regulator.ts";
import type { NodeMetrics, Operation, Outcome } from "./metrics.ts";

export const contextHeader = "x-neverstop-context";

/** The load regulator's refusal, prepared once (see HttpApi.shed). */
const overloadBody = Buffer.from(
  JSON.stringify({
    error: "overload",
    detail: "The node is saturated (load-regulator.ts); retry after Retry-After seconds",
  }),
);

export interface HttpLimits {
  /** A value larger than this is refused with 413 before it is buffered. */
  bodySizeMaxBytes: number;
  /** After refusing a body, at most this much more is read and thrown away (so the client sees
   * the 413) before the connection is cut. */
  bodyDrainMaxBytes: number;
  /** A client must finish sending its body within this time (slow clients, slowloris). */
  bodyReadTimeoutMs: number;
  headersTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this time. */
  requestTimeoutMs: number;
  headerSizeMaxBytes: number;
  bucketSizeMaxBytes: number;
  keySizeMaxBytes: number;
  contextSizeMaxBytes: number;
  /** Nesting depth of a JSON value: deeper values would blow the stack when re-encoded. */
  valueDepthMax: number;
  /** Largest `timeout_ms` a client may ask for. */
  timeoutMsMax: number;
  /** Client requests in flight at once; more are shed with 503 overload (back pressure). */
  pendingRequestsMax: number;
  /** Beyond the request's own timeout, how long to wait for the node before answering 504. */
  replyGraceMs: number;
  /** Event-loop delay a busy node may carry before it refuses new client requests with 503
   * overload (load-regulator.ts, which also caps the client requests in flight, adapting the
   * cap so that they are answered within about this time); 0, the default, turns this
   * regulation off. Off by default because it trades availability for latency on a shared
   * machine: a test that writes 1,000 keys 32 at a time on a loaded CI box would see 503s it
   * does not retry. bench:overload and lab 09 turn it on (e.g. 4 ms). */
  loopDelayTargetMs: number;
  /** Overrides of the load regulator's other limits (load-regulator.ts), for bench:overload. */
  loadRegulator?: Partial<LoadRegulatorLimits>;
}

export const defaultHttpLimits: HttpLimits = {
  bodySizeMaxBytes: 1024 * 1024,
  bodyDrainMaxBytes: 16 * 1024 * 1024,
  bodyReadTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  headerSizeMaxBytes: 16 * 1024,
  bucketSizeMaxBytes,
  keySizeMaxBytes,
  contextSizeMaxBytes: 16 * 1024,
  valueDepthMax: 64,
  timeoutMsMax,
  pendingRequestsMax: 10_000,
  replyGraceMs: 2_000,
  loopDelayTargetMs: 0,
};

/** What the HTTP layer needs from the node; node-main.ts builds it around a DynamoNode. */
export interface ClientBackend {
  nodeId: NodeId;
  defaultTimeoutMs: number;
  /** What is wrong with the request (N, R, W, ...), or undefined. */
  validate(request: ClientRequest): string | undefined;
  /** Hands the request to the node; its answer comes back through HttpApi.complete. */
  submit(requestId: string, request: ClientRequest): void;
  ring(): unknown;
  /** Adds a member and returns the new ring; throws a RangeError that says why it cannot. */
  join(node: NodeId): unknown;
  /** Removes a member and returns the new ring; throws a RangeError that says why it cannot. */
  leave(node: NodeId): unknown;
  keyPlacement(bucket: string, key: string, replicaCount: number | undefined): unknown;
  inspect(bucket: string, key: string): unknown;
  health(): Record<string, unknown>;
  /** This node's view of every peer (failure detector). */
  members(): unknown;
  /** Alarms in force. */
  alarms(): unknown;
  storeStats(): StoreStats;
  getSkewMs(): number;
  setSkewMs(value: number): void;
}

export interface HttpApiOptions {
  port: number;
  backend: ClientBackend;
  metrics: NodeMetrics;
  logger: Logger;
  limits?: Partial<HttpLimits>;
}

/** An answer the HTTP layer gives on its own, before or instead of the node. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

interface Pending {
  response: ServerResponse;
  operation: Operation;
  startedAt: bigint;
  /** performance.now() past which the HTTP layer answers 504 itself (the node never replied). */
  safetyDeadlineMs: number;
  /** What to tell the client then. */
  safetyTimeoutMs: number;
}

/** How often unanswered requests are checked against their safety deadline: one timer for all
 * of them instead of one per request (a timer per request is measurable at peak load). */
const safetySweepIntervalMs = 100;

export class HttpApi {
  readonly limits: HttpLimits;
  private readonly server: http.Server;
  private readonly pending = new Map<string, Pending>();
  private nextRequestNumber = 1;
  private readonly regulator: LoadRegulator;
  private safetySweep: NodeJS.Timeout | undefined;

  constructor(private readonly options: HttpApiOptions) {
    this.limits = { ...defaultHttpLimits, ...options.limits };
    this.regulator = new LoadRegulator({
      ...this.limits.loadRegulator,
      delayTargetMs: this.limits.loopDelayTargetMs,
    });
    this.server = http.createServer(
      {
        maxHeaderSize: this.limits.headerSizeMaxBytes,
        headersTimeout: this.limits.headersTimeoutMs,
        requestTimeout: this.limits.requestTimeoutMs,
        // How often Node checks the two timeouts above (its default is 30 s).
        connectionsCheckingInterval: Math.min(1_000, this.limits.headersTimeoutMs),
        keepAliveTimeout: 5_000,
      },
      (request, response) => this.route(request, response),
    );
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      // Malformed HTTP (bad request line, oversized headers): answer if the socket still can.
      if (socket.writable && !socket.destroyed) {
        const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
        const body = JSON.stringify({
          error: "bad_request",
          detail: `Malformed HTTP request (${error.code ?? "parse error"})`,
        });
        socket.end(
          `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      } else {
        socket.destroy();
      }
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, "127.0.0.1", () => {
        this.server.off("error", reject);
        this.server.on("error", (error) =>
          this.options.logger.error({ event: "http-error", error: `${error}` }),
        );
        this.regulator.start();
        this.safetySweep = setInterval(() => this.answerOverdue(), safetySweepIntervalMs);
        this.safetySweep.unref();
        resolve();
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : this.options.port;
  }

  async close(): Promise<void> {
    this.regulator.stop();
    clearInterval(this.safetySweep);
    for (const [requestId, pending] of this.pending) {
      this.pending.delete(requestId);
      this.send(pending.response, 503, {
        error: "unavailable",
        detail: "The node is shutting down",
      });
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    setTimeout(() => this.server.closeAllConnections(), 1_000).unref();
    await closed;
  }

  /** The node's answer to `requestId` (Environment.reply). Late answers are dropped. */
  complete(requestId: string, answer: ClientResponse): void {
    const pending = this.pending.get(requestId);
    if (pending === undefined) return;
    this.pending.delete(requestId);
    const outcome = outcomeOf(answer);
    const seconds = Number(process.hrtime.bigint() - pending.startedAt) / 1e9;
    this.options.metrics.observeRequest(pending.operation, outcome, seconds);
    // The core's own refusals take no time and would teach the regulator a false baseline.
    if (outcome !== "overload") this.regulator.answered(seconds * 1000);
    if (answer.status === 200) {
      if ("siblings" in answer.body)
        this.options.metrics.observeSiblings(answer.body.siblings.length);
      this.send(pending.response, 200, answer.body, { [contextHeader]: answer.body.context });
    } else if (answer.status === 204) {
      this.send(pending.response, 204, undefined, { [contextHeader]: answer.context });
    } else {
      if (answer.status >= 500) {
        // A failed quorum is a notable event (a node down, a partition): one line each.
        const { error, detail, indeterminate } = answer.body;
        this.options.logger.warn({
          event: "request-failed",
          requestId,
          operation: pending.operation,
          status: answer.status,
          error,
          detail,
          indeterminate,
        });
      }
      const headers: Record<string, string> = {};
      if (answer.body.context !== undefined) headers[contextHeader] = answer.body.context;
      if (answer.body.error === "overload") {
        // Retry-After is whole seconds; the core says when in milliseconds.
        headers["retry-after"] = String(
          Math.max(1, Math.ceil((answer.body.retryAfterMs ?? 1000) / 1000)),
        );
      }
      this.send(pending.response, answer.status, answer.body, headers);
    }
  }

  private route(request: IncomingMessage, response: ServerResponse): void {
    if (this.regulator.enabled && this.shed(request, response)) return;
    this.handle(request, response).catch((error: unknown) => {
      if (error instanceof HttpError) {
        if (error.status === 400 || error.status === 413) {
          const operation = operationOf(request.method);
          if (operation !== undefined && isKvPath(request.url)) {
            this.options.metrics.observeRequest(operation, "bad_request", 0);
          }
        }
        this.send(
          response,
          error.status,
          { error: error.kind, detail: error.message },
          error.headers,
        );
        return;
      }
      this.options.logger.error({
        event: "http-handler-failed",
        error: `${error}`,
        stack: (error as Error)?.stack,
      });
      this.send(response, 500, {
        error: "internal",
        detail: "The node failed to handle this request",
      });
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { segments, query } = parseTarget(request.url ?? "");
    const method = request.method ?? "GET";
    const [first, second] = segments;
    if (first === "kv" && segments.length === 3) {
      const bucket = this.name(segments[1]!, "bucket", this.limits.bucketSizeMaxBytes);
      const key = this.name(segments[2]!, "key", this.limits.keySizeMaxBytes);
      allowMethods(method, ["GET", "PUT", "DELETE"]);
      if (
        request.headers["content-encoding"] !== undefined &&
        request.headers["content-encoding"] !== "identity"
      ) {
        throw new HttpError(
          415,
          "bad_request",
          "Compressed bodies are not accepted; send plain JSON",
        );
      }
      const clientRequest = await this.clientRequest(method, bucket, key, query, request);
      this.submit(clientRequest, response);
      return;
    }
    if (first === "crdt" && segments.length === 4) {
      // Data types (lesson 6): POST /crdt/counter/:bucket/:key {"increment": n},
      // POST /crdt/set/:bucket/:key {"add": [...], "remove": [...]}, GET either for its value.
      const kind = segments[1];
      if (kind !== "counter" && kind !== "set") {
        throw new HttpError(
          404,
          "not_found",
          `No data type ${String(kind).slice(0, 40)}; use counter or set`,
        );
      }
      const crdt = kind === "counter" ? "pn-counter" : "or-set";
      const bucket = this.name(segments[2]!, "bucket", this.limits.bucketSizeMaxBytes);
      const key = this.name(segments[3]!, "key", this.limits.keySizeMaxBytes);
      allowMethods(method, ["GET", "POST"]);
      const timeoutMsMax = this.limits.timeoutMsMax;
      if (method === "GET") {
        const { n, r, timeout_ms } = integerParameters(
          query,
          ["n", "r", "timeout_ms"],
          timeoutMsMax,
        );
        this.submit({ op: "crdt-get", bucket, key, crdt, n, r, timeoutMs: timeout_ms }, response);
        return;
      }
      const { n, w, timeout_ms } = integerParameters(query, ["n", "w", "timeout_ms"], timeoutMsMax);
      const body = parseValue(await this.readBody(request), this.limits.valueDepthMax);
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new HttpError(
          400,
          "bad_request",
          'Expected a JSON object such as {"increment": 1} or {"add": ["x"]}',
        );
      }
      const contextValue = request.headers[contextHeader];
      const context = typeof contextValue === "string" ? contextValue : undefined;
      const operation = { type: crdt, ...body };
      this.submit(
        { op: "crdt-update", bucket, key, crdt, operation, context, n, w, timeoutMs: timeout_ms },
        response,
      );
      return;
    }
    if (first === "ring" && segments.length === 1) {
      allowMethods(method, ["GET"]);
      onlyParameters(query, []);
      this.send(response, 200, this.options.backend.ring());
      return;
    }
    if (first === "ring" && second === "keys" && segments.length === 4) {
      allowMethods(method, ["GET"]);
      const bucket = this.name(segments[2]!, "bucket", this.limits.bucketSizeMaxBytes);
      const key = this.name(segments[3]!, "key", this.limits.keySizeMaxBytes);
      const { n } = integerParameters(query, ["n"], this.limits.timeoutMsMax);
      this.send(response, 200, this.options.backend.keyPlacement(bucket, key, n));
      return;
    }
    if (first === "health" && segments.length === 1) {
      allowMethods(method, ["GET"]);
      this.send(response, 200, {
        status: "ok",
        ...this.options.backend.health(),
        pendingRequests: this.pending.size,
        loopDelayMs: Math.round(this.regulator.delayMs * 10) / 10,
        loopUtilization: Math.round(this.regulator.utilization * 100) / 100,
        loadRegulatorRefusals: this.regulator.refusals,
        loadRegulatorCapRefusals: this.regulator.capRefusals,
        concurrencyLimit: Math.round(this.regulator.concurrencyLimit * 10) / 10,
        loopCoreWait: Math.round(this.regulator.coreWait * 100) / 100,
      });
      return;
    }
    if ((first === "members" || first === "alarms") && segments.length === 1) {
      allowMethods(method, ["GET"]);
      onlyParameters(query, []);
      const backend = this.options.backend;
      const body = first === "members" ? backend.members() : backend.alarms();
      this.send(response, 200, { node: backend.nodeId, [first]: body });
      return;
    }
    if (first === "metrics" && segments.length === 1) {
      allowMethods(method, ["GET"]);
      const text = await this.options.metrics.text();
      response.writeHead(200, { "content-type": this.options.metrics.registry.contentType });
      response.end(text);
      return;
    }
    if (first === "debug" && second === "kv" && segments.length === 4) {
      allowMethods(method, ["GET"]);
      const bucket = this.name(segments[2]!, "bucket", this.limits.bucketSizeMaxBytes);
      const key = this.name(segments[3]!, "key", this.limits.keySizeMaxBytes);
      const replica = this.options.backend.inspect(bucket, key);
      if (replica === null || replica === undefined) {
        throw new HttpError(404, "not_found", `This node holds no replica of ${bucket}/${key}`);
      }
      this.send(response, 200, { node: this.options.backend.nodeId, replica });
      return;
    }
    if (first === "debug" && second === "store" && segments.length === 2) {
      allowMethods(method, ["GET"]);
      this.send(response, 200, this.options.backend.storeStats());
      return;
    }
    if (first === "admin" && second === "clock" && segments.length === 2) {
      allowMethods(method, ["GET", "PUT"]);
      if (method === "PUT") await this.setClock(request);
      this.send(response, 200, {
        node: this.options.backend.nodeId,
        skewMs: this.options.backend.getSkewMs(),
      });
      return;
    }
    if (first === "admin" && (second === "join" || second === "leave") && segments.length === 2) {
      allowMethods(method, ["POST"]);
      onlyParameters(query, []);
      const node = await this.memberName(request);
      const backend = this.options.backend;
      let ring: unknown;
      try {
        ring = second === "join" ? backend.join(node) : backend.leave(node);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        throw new HttpError(400, "bad_request", error.message);
      }
      this.options.logger.info({ event: `admin-${second}`, member: node });
      this.send(response, 200, ring);
      return;
    }
    throw new HttpError(
      404,
      "not_found",
      `No route ${method} ${(request.url ?? "").slice(0, 200)}; routes: /kv/:bucket/:key, /crdt/counter|set/:bucket/:key, /ring, /ring/keys/:bucket/:key, /health, /metrics, /members, /alarms, /debug/kv/:bucket/:key, /debug/store, /admin/clock, /admin/join, /admin/leave`,
    );
  }

  private async clientRequest(
    method: string,
    bucket: string,
    key: string,
    query: URLSearchParams,
    request: IncomingMessage,
  ): Promise<ClientRequest> {
    const timeoutMsMax = this.limits.timeoutMsMax;
    if (method === "GET") {
      const { n, r, timeout_ms } = integerParameters(query, ["n", "r", "timeout_ms"], timeoutMsMax);
      return { op: "get", bucket, key, n, r, timeoutMs: timeout_ms };
    }
    const { n, w, pw, timeout_ms } = integerParameters(
      query,
      ["n", "w", "pw", "timeout_ms"],
      timeoutMsMax,
    );
    const context = this.context(request);
    if (method === "DELETE") {
      return { op: "delete", bucket, key, context, n, w, pw, timeoutMs: timeout_ms };
    }
    const body = await this.readBody(request);
    const value = parseValue(body, this.limits.valueDepthMax);
    return { op: "put", bucket, key, value, context, n, w, pw, timeoutMs: timeout_ms };
  }

  /** Refuses a client data request (/kv, /crdt) while the node is saturated (load-regulator.ts),
   * before anything else is done with it: no URL parsing, no body read, no JSON, a prepared
   * answer. Under overload a refusal must cost the node far less than the work it avoids, or
   * refusing becomes the queue (HttpApi's full path cost 0.06-0.09 ms per refusal, a bare
   * canned 503 0.02-0.03 ms). So while it refuses, the node does not judge requests: a bad one
   * is answered 503 too, and gets its 4xx when it comes back after Retry-After. True when the
   * request was answered here. */
  private shed(request: IncomingMessage, response: ServerResponse): boolean {
    const url = request.url ?? "";
    const crdt = url.startsWith("/crdt/");
    if (!(crdt || url.startsWith("/kv/"))) return false;
    if (this.regulator.admit(this.pending.size)) return false;
    const method = request.method;
    const operation = crdt ? (method === "GET" ? "crdt-get" : "crdt-update") : operationOf(method);
    if (operation !== undefined) this.options.metrics.observeRequest(operation, "overload", 0);
    const retryAfterSeconds = Math.max(1, Math.ceil(this.regulator.retryAfterMs / 1000));
    response.writeHead(503, {
      "content-type": "application/json",
      "content-length": overloadBody.length,
      "retry-after": String(retryAfterSeconds),
    });
    response.end(overloadBody);
    return true;
  }

  private submit(request: ClientRequest, response: ServerResponse): void {
    const problem = this.options.backend.validate(request);
    if (problem !== undefined) throw new HttpError(400, "bad_request", problem);
    if (this.pending.size >= this.limits.pendingRequestsMax) {
      this.options.metrics.observeRequest(request.op, "overload", 0);
      throw new HttpError(
        503,
        "overload",
        `More than ${this.limits.pendingRequestsMax} requests in flight; retry later`,
        {
          "retry-after": "1",
        },
      );
    }
    const requestId = `${this.options.backend.nodeId}-${this.nextRequestNumber++}`;
    const timeoutMs = request.timeoutMs ?? this.options.backend.defaultTimeoutMs;
    this.pending.set(requestId, {
      response,
      operation: request.op,
      startedAt: process.hrtime.bigint(),
      safetyDeadlineMs: performance.now() + timeoutMs + this.limits.replyGraceMs,
      safetyTimeoutMs: timeoutMs,
    });
    response.once("close", () => {
      const pending = this.pending.get(requestId);
      if (pending === undefined || pending.response !== response) return;
      // The client went away: the operation still runs to its end; its answer is dropped.
      this.pending.delete(requestId);
    });
    this.options.backend.submit(requestId, request);
  }

  /** The node owes every request an answer by its timeout; if one never comes, the client
   * still gets one (504, indeterminate for writes). */
  private answerOverdue(): void {
    const nowMs = performance.now();
    for (const [requestId, pending] of this.pending) {
      if (pending.safetyDeadlineMs > nowMs) continue;
      this.options.logger.warn({ event: "reply-missing", requestId, op: pending.operation });
      this.complete(requestId, {
        status: 504,
        body: {
          error: "timeout",
          detail: `No answer within ${pending.safetyTimeoutMs} ms`,
          indeterminate: pending.operation !== "get",
        },
      });
    }
  }

  private name(segment: string, what: "bucket" | "key", sizeMaxBytes: number): string {
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      throw new HttpError(
        400,
        "bad_request",
        `Expected \`${what}\` to be valid percent-encoded UTF-8`,
      );
    }
    const problem = nameProblem(name, what, sizeMaxBytes);
    if (problem !== undefined) throw new HttpError(400, "bad_request", problem);
    return name;
  }

  private context(request: IncomingMessage): string | undefined {
    const header = request.headers[contextHeader];
    if (header === undefined || header === "") return undefined;
    if (typeof header !== "string")
      throw new HttpError(400, "bad_request", "Expected one X-Neverstop-Context header");
    if (header.length > this.limits.contextSizeMaxBytes) {
      throw new HttpError(
        400,
        "bad_request",
        `Expected X-Neverstop-Context of at most ${this.limits.contextSizeMaxBytes} bytes, got ${header.length}`,
      );
    }
    if (!/^[A-Za-z0-9+/=_.:~-]+$/.test(header)) {
      throw new HttpError(
        400,
        "bad_request",
        "Expected X-Neverstop-Context to be the opaque context from a get, unchanged",
      );
    }
    return header;
  }

  private async setClock(request: IncomingMessage): Promise<void> {
    const body = await this.readBody(request);
    const value = parseValue(body, 2) as { skewMs?: unknown } | null;
    const skewMs = typeof value === "object" && value !== null ? value.skewMs : undefined;
    if (typeof skewMs !== "number" || !Number.isInteger(skewMs)) {
      throw new HttpError(400, "bad_request", 'Expected a body like {"skewMs": 30000}');
    }
    try {
      this.options.backend.setSkewMs(skewMs);
    } catch (error) {
      throw new HttpError(400, "bad_request", error instanceof Error ? error.message : `${error}`);
    }
  }

  /** The `node` of a body like {"node": "n6"}: a short name of letters, digits, `-` and `_`. */
  private async memberName(request: IncomingMessage): Promise<NodeId> {
    const value = parseValue(await this.readBody(request), 2) as { node?: unknown } | null;
    const node = typeof value === "object" && value !== null ? value.node : undefined;
    if (typeof node !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(node)) {
      throw new HttpError(400, "bad_request", 'Expected a body like {"node": "n6"}');
    }
    return node;
  }

  /** Reads at most `bodySizeMaxBytes` within `bodyReadTimeoutMs`; a body over the limit is
   * never buffered: the rest is drained (bounded) so the client can read the 413. */
  private readBody(request: IncomingMessage): Promise<Buffer> {
    const { bodySizeMaxBytes, bodyDrainMaxBytes, bodyReadTimeoutMs } = this.limits;
    const declared = Number(request.headers["content-length"] ?? "0");
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let receivedBytes = 0;
      let refused: HttpError | undefined;
      const refuse = (error: HttpError) => {
        if (refused !== undefined) return;
        refused = error;
        reject(error);
      };
      const timer = setTimeout(() => {
        // The 408 goes out with `Connection: close`, which also ends the slow connection.
        refuse(
          new HttpError(
            408,
            "bad_request",
            `The body did not arrive within ${bodyReadTimeoutMs} ms`,
            { connection: "close" },
          ),
        );
      }, bodyReadTimeoutMs);
      if (declared > bodySizeMaxBytes) {
        refuse(tooLarge(bodySizeMaxBytes, declared, declared > bodyDrainMaxBytes));
      }
      request.on("data", (chunk: Buffer) => {
        receivedBytes += chunk.length;
        if (receivedBytes > bodySizeMaxBytes) {
          refuse(tooLarge(bodySizeMaxBytes, receivedBytes, false));
          if (receivedBytes > bodyDrainMaxBytes) request.destroy();
          return;
        }
        if (refused === undefined) chunks.push(chunk);
      });
      request.once("end", () => {
        clearTimeout(timer);
        if (refused === undefined) resolve(Buffer.concat(chunks));
      });
      request.once("error", () => {
        clearTimeout(timer);
        refuse(new HttpError(400, "bad_request", "The request body was cut off"));
      });
      request.once("close", () => clearTimeout(timer));
    });
  }

  /**
   * One system call per answer either way (strace of a node under load, and of a bare
   * node:http server, issue 13): an answer without a body (a put's 204) leaves in one write()
   * of its header, since Node's end() corks the socket only when it has a chunk to add; an
   * answer with a body leaves in one writev() of header-and-body plus the empty chunk end()
   * appends. A CPU profile that shows both writeLatin1String and writev is showing these two
   * kinds of answer, not two writes of one; their large shares there are mostly time the node
   * waited for a core after waking its client (V8 samples wall time), not CPU.
   */
  private send(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (response.headersSent || response.destroyed) return;
    if (body === undefined) {
      response.writeHead(status, headers);
      response.end();
      return;
    }
    const text = JSON.stringify(body);
    response.writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    response.end(text);
  }
}

/** A 413 normally keeps the connection: the rest of the body is drained (up to
 * bodyDrainMaxBytes) rather than left unread, because closing a socket with unread input sends a
 * reset that can destroy the answer before the client reads it. Past the drain limit, it closes. */
function tooLarge(sizeMaxBytes: number, sizeBytes: number, close: boolean): HttpError {
  return new HttpError(
    413,
    "bad_request",
    `Expected a body of at most ${sizeMaxBytes} bytes, got ${sizeBytes} or more`,
    close ? { connection: "close" } : {},
  );
}

/** Splits a request target into raw path segments and query. The path is NOT normalized: `..`
 * stays a segment of its own (and matches no route), `%2F` stays inside a segment. */
export function parseTarget(target: string): { segments: string[]; query: URLSearchParams } {
  if (!target.startsWith("/")) {
    throw new HttpError(400, "bad_request", "Expected a request target that starts with /");
  }
  const questionMark = target.indexOf("?");
  const path = questionMark === -1 ? target : target.slice(0, questionMark);
  const query = new URLSearchParams(questionMark === -1 ? "" : target.slice(questionMark + 1));
  return { segments: path.slice(1).split("/"), query };
}

/** What is wrong with a bucket or key name, or undefined. */
export function nameProblem(name: string, what: string, sizeMaxBytes: number): string | undefined {
  if (name.length === 0) return `Expected \`${what}\` to be non-empty`;
  const sizeBytes = Buffer.byteLength(name, "utf8");
  if (sizeBytes > sizeMaxBytes) {
    return `Expected \`${what}\` to be at most ${sizeMaxBytes} bytes of UTF-8, got ${sizeBytes}`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name))
    return `Expected \`${what}\` to hold no control characters (NUL, newline, ...)`;
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name))
    return `Expected \`${what}\` to be well-formed Unicode`;
  return undefined;
}

/** Parses the allowed integer query parameters; anything else in the query is an error (a typo
 * such as `?W=3` must not silently fall back to the default quorum). */
export function integerParameters<Name extends string>(
  query: URLSearchParams,
  allowed: readonly Name[],
  timeoutMsMax: number,
): Record<Name, number | undefined> {
  onlyParameters(query, allowed);
  const result = {} as Record<Name, number | undefined>;
  for (const name of allowed) {
    const values = query.getAll(name);
    if (values.length > 1)
      throw new HttpError(400, "bad_request", `Expected \`${name}\` at most once`);
    const text = values[0];
    if (text === undefined) {
      result[name] = undefined;
      continue;
    }
    const maximum = name === "timeout_ms" ? timeoutMsMax : 64;
    const value = /^[0-9]{1,6}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isInteger(value) || value < 1 || value > maximum) {
      throw new HttpError(
        400,
        "bad_request",
        `Expected \`${name}\` to be an integer from 1 to ${maximum}, got ${JSON.stringify(text.slice(0, 40))}`,
      );
    }
    result[name] = value;
  }
  return result;
}

function onlyParameters(query: URLSearchParams, allowed: readonly string[]): void {
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      const expected = allowed.length === 0 ? "none" : allowed.join(", ");
      throw new HttpError(
        400,
        "bad_request",
        `Unknown query parameter ${JSON.stringify(name.slice(0, 40))}; expected ${expected}`,
      );
    }
  }
}

function allowMethods(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(
      405,
      "method_not_allowed",
      `Expected one of ${allowed.join(", ")}, got ${method.slice(0, 20)}`,
      {
        allow: allowed.join(", "),
      },
    );
  }
}

/** Invalid UTF-8 becomes U+FFFD rather than an error (JSON.parse then judges the text); one
 * decoder for every request, since a non-streaming decode keeps no state between calls. */
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** The body as one JSON value, no deeper than `depthMax`. */
export function parseValue(body: Buffer, depthMax: number): JsonValue {
  if (body.length === 0)
    throw new HttpError(400, "bad_request", "Expected a JSON value as the body, got an empty body");
  const text = utf8Decoder.decode(body);
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new HttpError(
      400,
      "bad_request",
      `Expected a JSON value as the body: ${error instanceof Error ? error.message.slice(0, 120) : "invalid JSON"}`,
    );
  }
  const depth = jsonDepth(value, depthMax);
  if (depth > depthMax)
    throw new HttpError(
      400,
      "bad_request",
      `Expected a JSON value nested at most ${depthMax} deep`,
    );
  return value;
}

/** Nesting depth, computed without recursion and cut off just past `depthMax`. */
export function jsonDepth(value: JsonValue, depthMax: number): number {
  let deepest = 0;
  const stack: [JsonValue, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    deepest = Math.max(deepest, depth);
    if (deepest > depthMax) return deepest;
    if (typeof item === "object" && item !== null) {
      for (const child of Array.isArray(item) ? item : Object.values(item)) {
        if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
      }
    }
  }
  return deepest;
}

function outcomeOf(answer: ClientResponse): Outcome {
  if (answer.status === 200 || answer.status === 204) return "ok";
  switch (answer.body.error) {
    case "bad_request":
    case "not_found":
    case "unavailable":
    case "timeout":
    case "overload":
      return answer.body.error;
  }
  return "error";
}

function operationOf(method: string | undefined): Operation | undefined {
  if (method === "GET") return "get";
  if (method === "PUT") return "put";
  if (method === "DELETE") return "delete";
  return undefined;
}

function isKvPath(url: string | undefined): boolean {
  return url?.startsWith("/kv/") ?? false;
}
