// The client port over HTTP (lesson 7, "a retry strategy for every interface function"): the
// same KvPort the simulated clients use, for real node processes on 127.0.0.1. Real timers and
// real sockets: the order of events here is the machine's, not a seed's.
//
// Data types go to /crdt/counter/:bucket/:key (GET reads, POST {"increment": d} adds); puts and
// deletes carry `pw` when the client asks for a strict quorum. A 503 overload's Retry-After
// (header, seconds) or `retryAfterMs` (body) becomes the response's `retryAfterMs`.
//
// What the network can do to a request, and what the client makes of it (client.ts):
//   connection refused (the node is down)          -> "refused": it never reached a node
//   no answer in time, or the connection reset     -> "timeout": it may have happened
//   an answer                                      -> the node's status and body

import type { ClientRequest, ClientResponse, ErrorKind, NodeId } from "../../cluster/core/types.ts";
import type { ClientOutcome, KvPort } from "./port.ts";

export const contextHeader = "x-neverstop-context";

/** A port to nodes at `httpUrls` (node id -> http://127.0.0.1:port). */
export function httpPort(httpUrls: Readonly<Record<NodeId, string>>): KvPort {
  const startedMs = performance.now();
  return {
    nodes: Object.keys(httpUrls),
    request(nodeId, request, timeoutMs, done) {
      const url = httpUrls[nodeId];
      if (url === undefined) throw new RangeError(`Unknown node ${nodeId}`);
      void send(url, request, timeoutMs).then(done);
    },
    now: () => Math.round((performance.now() - startedMs) * 1_000_000),
    after(delayMs, action) {
      setTimeout(action, delayMs);
    },
  };
}

async function send(
  baseUrl: string,
  request: ClientRequest,
  timeoutMs: number,
): Promise<ClientOutcome> {
  const { url, init } = httpRequestOf(baseUrl, request);
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return { kind: "response", response: await clientResponse(response) };
  } catch (error) {
    return refused(error) ? { kind: "refused" } : { kind: "timeout" };
  }
}

/** The URL and method of a request: /kv/... for values, /crdt/counter/... for a PN-counter
 * (an increment is a POST: nothing makes it idempotent, see client.ts). */
export function httpRequestOf(
  baseUrl: string,
  request: ClientRequest,
): { url: string; init: { method: string; headers: Record<string, string>; body?: string } } {
  const query = new URLSearchParams();
  if (request.n !== undefined) query.set("n", String(request.n));
  if ((request.op === "get" || request.op === "crdt-get") && request.r !== undefined)
    query.set("r", String(request.r));
  if (request.op !== "get" && request.op !== "crdt-get" && request.w !== undefined)
    query.set("w", String(request.w));
  if ((request.op === "put" || request.op === "delete") && request.pw !== undefined)
    query.set("pw", String(request.pw));
  if (request.timeoutMs !== undefined) query.set("timeout_ms", String(request.timeoutMs));
  const names = `${encodeURIComponent(request.bucket)}/${encodeURIComponent(request.key)}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  const suffix = query.size > 0 ? `?${query}` : "";
  if (request.op === "crdt-get" || request.op === "crdt-update") {
    const kind = request.crdt === "pn-counter" ? "counter" : "set";
    const url = `${baseUrl}/crdt/${kind}/${names}${suffix}`;
    if (request.op === "crdt-get") return { url, init: { method: "GET", headers } };
    if (request.context !== undefined) headers[contextHeader] = request.context;
    const { type: _type, ...operation } = request.operation as Record<string, unknown>;
    return { url, init: { method: "POST", headers, body: JSON.stringify(operation) } };
  }
  if (request.op !== "get" && request.context !== undefined)
    headers[contextHeader] = request.context;
  const method = request.op === "get" ? "GET" : request.op === "put" ? "PUT" : "DELETE";
  const url = `${baseUrl}/kv/${names}${suffix}`;
  if (request.op !== "put") return { url, init: { method, headers } };
  return { url, init: { method, headers, body: JSON.stringify(request.value) } };
}

function refused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code === "ECONNREFUSED";
}

interface ErrorBody {
  error: ErrorKind;
  detail: string;
  indeterminate?: boolean;
  context?: string;
  retryAfterMs?: number;
}

/** Retry-After in whole seconds (RFC 9110 also allows a date; the nodes never send one). */
export function retryAfterHeaderMs(value: string | null): number | undefined {
  if (value === null || !/^[0-9]{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1_000;
}

async function clientResponse(response: Response): Promise<ClientResponse> {
  const text = await response.text();
  const context = response.headers.get(contextHeader) ?? "";
  if (response.status === 204) return { status: 204, context };
  const body = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (response.status === 200)
    return { status: 200, body: body as { siblings: never[]; context: string } };
  const error: ErrorBody = {
    error: body.error as ErrorKind,
    detail: String(body.detail ?? response.statusText),
  };
  if (body.indeterminate === true) error.indeterminate = true;
  if (typeof body.context === "string") error.context = body.context;
  // The body's milliseconds are finer than the header's seconds; either will do.
  const retryAfterMs =
    typeof body.retryAfterMs === "number" && body.retryAfterMs >= 0
      ? body.retryAfterMs
      : retryAfterHeaderMs(response.headers.get("retry-after"));
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  if (response.status === 404 || response.status === 503 || response.status === 504) {
    return { status: response.status, body: error };
  }
  // 5xx the core never sends (a crashed handler): the outcome is unknown, like a timeout.
  if (response.status >= 500) return { status: 504, body: { ...error, error: "timeout" } };
  return { status: 400, body: { ...error, error: "bad_request" } };
}
