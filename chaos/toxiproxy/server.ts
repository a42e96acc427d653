// The embedded Toxiproxy server: Toxiproxy 2.x's HTTP API over node:http, so that
// toxiproxy-node-client and the real `toxiproxy-cli` drive it unchanged (lesson 3, network
// splits: the nemeses cut links through this API; lesson 5, systems that never stop: faults
// are injected into a running system, not a restarted one).
//
// Routes, status codes, bodies and error texts follow upstream's api.go:
//   GET  /version                         200 {"version": "..."}
//   POST /reset                           204  every proxy enabled, every toxic removed
//   GET  /proxies                         200 {name: proxy}
//   POST /proxies                         201 proxy | 400 | 409 name taken
//   POST /populate                        201 {proxies: [...]}  create, or replace if changed
//   GET  /proxies/{p}                     200 proxy | 404
//   POST|PATCH /proxies/{p}               200 proxy  (listen, upstream, enabled)
//   DELETE /proxies/{p}                   204
//   GET  /proxies/{p}/toxics              200 [toxic]
//   POST /proxies/{p}/toxics              200 toxic | 400 | 409
//   GET  /proxies/{p}/toxics/{t}          200 toxic | 404
//   POST|PATCH /proxies/{p}/toxics/{t}    200 toxic  (attributes merged, toxicity)
//   DELETE /proxies/{p}/toxics/{t}        204
// Errors are {"error": "...", "status": N}. Every mutation runs alone, in arrival order, so a
// test that disables a proxy and then adds a toxic sees them happen in that order.
//
// Addresses: the API and every proxy listen on loopback only (`allowNonLoopback` lifts that,
// for tests of the check itself). A proxy's upstream is loopback too unless the server was
// started with `allowRemoteUpstreams` (`neverstop toxiproxy --allow-remote-upstreams`): an
// upstream is only dialled when a client connects through the proxy, which itself listens on
// loopback, so allowing it opens nothing to the network. README "Toxiproxy differences" lists
// every place this server is stricter than upstream, and why.

import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  Proxy,
  ProxyListenError,
  formatAddress,
  isLoopbackHost,
  parseAddress,
  toxicJson,
  type ToxicDefinition,
} from "./proxy.ts";
import {
  ToxicAttributeError,
  parseAttributes,
  streamDirections,
  toxicKinds,
  type StreamDirection,
} from "./toxics.ts";

/** The Toxiproxy release whose API this server speaks. */
export const toxiproxyVersion = "2.12.0";
export const defaultToxiproxyPort = 8474;

const requestBodyBytesMax = 1_048_576;
const proxyCountMax = 1024;
const toxicCountMax = 64;
const nameLengthMax = 256;
const requestTimeoutMs = 15_000;

export interface ToxiproxyServerOptions {
  /** Address of the HTTP API; loopback unless `allowNonLoopback`. */
  readonly host?: string;
  /** Port of the HTTP API; 0 picks a free one. Default 8474, as upstream. */
  readonly port?: number;
  /** Lets the API and proxies bind, and proxies connect, beyond 127.0.0.0/8 and ::1. */
  readonly allowNonLoopback?: boolean;
  /** Lets proxies connect to any upstream (they still listen on loopback). Default false. */
  readonly allowRemoteUpstreams?: boolean;
}

export interface RunningToxiproxyServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** An error with its HTTP status, rendered as upstream's {"error", "status"} body. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const badRequestBody = (detail: string) => new ApiError(400, `bad request body: ${detail}`);
const proxyNotFound = () => new ApiError(404, "proxy not found");
const toxicNotFound = () => new ApiError(404, "toxic not found");

type JsonObject = Record<string, unknown>;

/** The proxies and the operations of the API, without HTTP. */
class ProxyCollection {
  readonly proxies = new Map<string, Proxy>();

  constructor(
    private readonly allowNonLoopback: boolean,
    private readonly allowRemoteUpstreams: boolean,
  ) {}

  get(name: string): Proxy {
    const proxy = this.proxies.get(name);
    if (proxy === undefined) throw proxyNotFound();
    return proxy;
  }

  /** Checks an address field; only loopback unless the server was started to allow more. */
  checkAddress(text: string, field: string): void {
    const address = parseAddress(text, field);
    if (typeof address === "string") throw badRequestBody(address);
    if (this.allowNonLoopback || isLoopbackHost(address.host)) return;
    if (field === "upstream" && this.allowRemoteUpstreams) return;
    const remedy =
      field === "upstream"
        ? "start the server with --allow-remote-upstreams to proxy to other hosts"
        : "proxies listen on loopback only";
    throw badRequestBody(
      `Expected \`${field}\` to be a loopback address (127.0.0.1, localhost or [::1]), got ` +
        `${JSON.stringify(text)}; ${remedy}`,
    );
  }

  async create(body: unknown): Promise<Proxy> {
    const input = readProxyInput(body, "");
    if (this.proxies.has(input.name)) throw new ApiError(409, "proxy already exists");
    if (this.proxies.size >= proxyCountMax)
      throw badRequestBody(`Expected at most ${proxyCountMax} proxies`);
    this.checkAddress(input.listen, "listen");
    this.checkAddress(input.upstream, "upstream");
    const proxy = new Proxy(input.name, input.listen, input.upstream);
    if (input.enabled) await startOrThrow(proxy);
    this.proxies.set(proxy.name, proxy);
    return proxy;
  }

  /** Upstream's Proxy.Update: a new address restarts the proxy; `enabled` starts or stops it. */
  async update(proxy: Proxy, body: unknown): Promise<void> {
    const input = requireObject(body);
    const listen = optionalField(input, "listen", "string") ?? proxy.listen;
    const upstream = optionalField(input, "upstream", "string") ?? proxy.upstream;
    const enabled = optionalField(input, "enabled", "boolean") ?? proxy.enabled;
    this.checkAddress(listen, "listen");
    this.checkAddress(upstream, "upstream");
    if (listen !== proxy.listen || upstream !== proxy.upstream) {
      await proxy.stop();
      proxy.listen = listen;
      proxy.upstream = upstream;
    }
    if (enabled) await startOrThrow(proxy);
    else await proxy.stop();
  }

  async remove(name: string): Promise<void> {
    const proxy = this.get(name);
    this.proxies.delete(name);
    await proxy.stop();
    proxy.removeAllToxics();
  }

  /** Validates the whole list first, then creates each proxy or replaces a changed one. */
  async populate(body: unknown): Promise<Proxy[]> {
    if (!Array.isArray(body)) throw badRequestBody("Expected an array of proxies");
    const inputs = body.map((item, index) => readProxyInput(item, ` at proxy ${index + 1}`));
    const names = new Set<string>();
    for (const input of inputs) {
      if (names.has(input.name))
        throw badRequestBody(`duplicate proxy name ${JSON.stringify(input.name)}`);
      names.add(input.name);
      this.checkAddress(input.listen, "listen");
      this.checkAddress(input.upstream, "upstream");
    }
    const fresh = inputs.filter((input) => !this.proxies.has(input.name)).length;
    if (this.proxies.size + fresh > proxyCountMax)
      throw badRequestBody(`Expected at most ${proxyCountMax} proxies`);
    const result: Proxy[] = [];
    for (const input of inputs) {
      const existing = this.proxies.get(input.name);
      if (
        existing !== undefined &&
        existing.listen === input.listen &&
        existing.upstream === input.upstream
      ) {
        result.push(existing); // Unchanged: keep it, its toxics and its connections.
        continue;
      }
      if (existing !== undefined) await this.remove(existing.name);
      const proxy = new Proxy(input.name, input.listen, input.upstream);
      if (input.enabled) await startOrThrow(proxy);
      this.proxies.set(proxy.name, proxy);
      result.push(proxy);
    }
    return result;
  }

  async reset(): Promise<void> {
    for (const proxy of this.proxies.values()) {
      await startOrThrow(proxy);
      proxy.removeAllToxics();
    }
  }

  addToxic(proxy: Proxy, body: unknown): ToxicDefinition {
    const input = requireObject(body);
    // The Go client sends "" for a stream or name left out: both mean the default, as upstream.
    const streamText = optionalField(input, "stream", "string") || "downstream";
    if (!streamDirections.includes(streamText as StreamDirection)) {
      throw new ApiError(400, "stream was invalid, can be either upstream or downstream");
    }
    const stream = streamText as StreamDirection;
    const type = optionalField(input, "type", "string") ?? "";
    const name = optionalField(input, "name", "string") || `${type}_${stream}`;
    checkName(name, "name");
    const kind = toxicKinds.get(type);
    if (kind === undefined) {
      throw new ApiError(
        400,
        `invalid toxic type: ${JSON.stringify(type)}; known: ${[...toxicKinds.keys()].join(", ")}`,
      );
    }
    if (proxy.findToxic(name) !== undefined) throw new ApiError(409, "toxic already exists");
    if (proxy.allToxics().length >= toxicCountMax)
      throw badRequestBody(`Expected at most ${toxicCountMax} toxics on a proxy`);
    const toxicity = readToxicity(input, 1);
    const attributes = parseToxicAttributes(kind, input["attributes"], undefined);
    const definition: ToxicDefinition = { name, kind, stream, toxicity, attributes };
    proxy.addToxic(definition);
    return definition;
  }

  updateToxic(proxy: Proxy, name: string, body: unknown): ToxicDefinition {
    const toxic = proxy.findToxic(name);
    if (toxic === undefined) throw toxicNotFound();
    const input = requireObject(body);
    const toxicity = readToxicity(input, toxic.toxicity);
    toxic.attributes = parseToxicAttributes(toxic.kind, input["attributes"], toxic.attributes);
    toxic.toxicity = toxicity;
    proxy.updateToxic(toxic);
    return toxic;
  }

  removeToxic(proxy: Proxy, name: string): void {
    const toxic = proxy.findToxic(name);
    if (toxic === undefined) throw toxicNotFound();
    proxy.removeToxic(toxic);
  }

  async closeAll(): Promise<void> {
    for (const name of [...this.proxies.keys()]) await this.remove(name);
  }
}

interface ProxyInput {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

function readProxyInput(body: unknown, where: string): ProxyInput {
  const input = requireObject(body);
  const name = optionalField(input, "name", "string") ?? "";
  const upstream = optionalField(input, "upstream", "string") ?? "";
  if (name.length === 0) throw new ApiError(400, `missing required field: name${where}`);
  if (upstream.length === 0) throw new ApiError(400, `missing required field: upstream${where}`);
  checkName(name, "name");
  return {
    name,
    upstream,
    // Upstream listens on every interface for an empty listen; here, on loopback only.
    listen: optionalField(input, "listen", "string") || "127.0.0.1:0",
    enabled: optionalField(input, "enabled", "boolean") ?? true,
  };
}

function requireObject(body: unknown): JsonObject {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequestBody(
      `Expected a JSON object, got ${body === undefined ? "an empty body" : JSON.stringify(body)}`,
    );
  }
  return body as JsonObject;
}

function optionalField(input: JsonObject, field: string, type: "string"): string | undefined;
function optionalField(input: JsonObject, field: string, type: "boolean"): boolean | undefined;
function optionalField(input: JsonObject, field: string, type: "string" | "boolean"): unknown {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type)
    throw badRequestBody(`Expected \`${field}\` to be a ${type}, got ${JSON.stringify(value)}`);
  return value;
}

function checkName(name: string, field: string): void {
  if (name.length > nameLengthMax || name.includes("/")) {
    throw badRequestBody(
      `Expected \`${field}\` to have at most ${nameLengthMax} characters and no "/", got ${JSON.stringify(name)}`,
    );
  }
}

function readToxicity(input: JsonObject, fallback: number): number {
  const value = input["toxicity"];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw badRequestBody(
      `Expected \`toxicity\` to be a number from 0 to 1, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function parseToxicAttributes(
  ...args: Parameters<typeof parseAttributes>
): ReturnType<typeof parseAttributes> {
  try {
    return parseAttributes(...args);
  } catch (error) {
    if (error instanceof ToxicAttributeError) throw badRequestBody(error.message);
    throw error;
  }
}

async function startOrThrow(proxy: Proxy): Promise<void> {
  try {
    await proxy.start();
  } catch (error) {
    // Upstream answers 500 when the listener cannot be opened (address in use).
    if (error instanceof ProxyListenError) throw new ApiError(500, error.message);
    throw error;
  }
}

/** Reads the body, at most `requestBodyBytesMax`, and parses it as JSON (undefined if empty). */
async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  // An oversized body is read to its end and dropped, not cut off: a client still sending
  // would see a reset instead of the 400. The request timeout bounds how long that takes.
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes <= requestBodyBytesMax) chunks.push(chunk);
  }
  if (bytes > requestBodyBytesMax) throw badRequestBody(`larger than ${requestBodyBytesMax} bytes`);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim().length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequestBody(`invalid JSON (${(error as Error).message})`);
  }
}

type Handler = (request: IncomingMessage, parts: string[]) => Promise<[number, unknown]>;

/** The HTTP surface over a ProxyCollection. */
class ToxiproxyApi {
  private mutations: Promise<unknown> = Promise.resolve();

  constructor(readonly collection: ProxyCollection) {}

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      // Upstream refuses browsers, so that no web page can reconfigure a tester's network.
      if ((request.headers["user-agent"] ?? "").startsWith("Mozilla/"))
        throw new ApiError(403, "User agent not allowed");
      const url = new URL(request.url ?? "/", "http://toxiproxy");
      const parts = url.pathname.split("/").slice(1).map(decodePart);
      const handler = this.route(request.method ?? "GET", parts);
      const [status, body] =
        request.method === "GET"
          ? await handler(request, parts)
          : await this.serialize(() => handler(request, parts));
      send(response, status, body);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, `internal error: ${(error as Error).message}`);
      send(response, apiError.status, { error: apiError.message, status: apiError.status });
    }
  }

  /** One mutation at a time: proxies start and stop asynchronously. */
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const result = this.mutations.then(work);
    this.mutations = result.catch(() => undefined);
    return result;
  }

  private route(method: string, parts: string[]): Handler {
    const [first, name, third, toxic] = parts;
    const methods: Record<string, Handler> | undefined =
      parts.length === 1 && first === "version"
        ? { GET: async () => [200, { version: toxiproxyVersion }] }
        : parts.length === 1 && first === "reset"
          ? { POST: () => this.reset() }
          : parts.length === 1 && first === "populate"
            ? { POST: (request) => this.populate(request) }
            : parts.length === 1 && first === "proxies"
              ? {
                  GET: async () => [200, this.proxyIndex()],
                  POST: (request) => this.createProxy(request),
                }
              : parts.length === 2 && first === "proxies"
                ? this.proxyRoutes(name!)
                : parts.length === 3 && first === "proxies" && third === "toxics"
                  ? this.toxicIndexRoutes(name!)
                  : parts.length === 4 && first === "proxies" && third === "toxics"
                    ? this.toxicRoutes(name!, toxic!)
                    : undefined;
    if (methods === undefined)
      throw new ApiError(404, `no route for ${method} /${parts.join("/")}`);
    const handler = methods[method];
    if (handler === undefined)
      throw new ApiError(
        405,
        `method ${method} not allowed; allowed: ${Object.keys(methods).join(", ")}`,
      );
    return handler;
  }

  private proxyIndex(): Record<string, unknown> {
    const names = [...this.collection.proxies.keys()].sort();
    return Object.fromEntries(
      names.map((name) => [name, this.collection.proxies.get(name)!.toJSON()]),
    );
  }

  private async reset(): Promise<[number, unknown]> {
    await this.collection.reset();
    return [204, undefined];
  }

  private async populate(request: IncomingMessage): Promise<[number, unknown]> {
    const proxies = await this.collection.populate(await readJsonBody(request));
    return [201, { proxies: proxies.map((proxy) => proxy.toJSON()) }];
  }

  private async createProxy(request: IncomingMessage): Promise<[number, unknown]> {
    const proxy = await this.collection.create(await readJsonBody(request));
    return [201, proxy.toJSON()];
  }

  private proxyRoutes(name: string): Record<string, Handler> {
    const update: Handler = async (request) => {
      const proxy = this.collection.get(name);
      await this.collection.update(proxy, await readJsonBody(request));
      return [200, proxy.toJSON()];
    };
    return {
      GET: async () => [200, this.collection.get(name).toJSON()],
      POST: update,
      PATCH: update,
      DELETE: async () => {
        await this.collection.remove(name);
        return [204, undefined];
      },
    };
  }

  private toxicIndexRoutes(name: string): Record<string, Handler> {
    return {
      GET: async () => [200, this.collection.get(name).allToxics().map(toxicJson)],
      POST: async (request) => {
        const proxy = this.collection.get(name);
        return [200, toxicJson(this.collection.addToxic(proxy, await readJsonBody(request)))];
      },
    };
  }

  private toxicRoutes(name: string, toxicName: string): Record<string, Handler> {
    const update: Handler = async (request) => {
      const proxy = this.collection.get(name);
      return [
        200,
        toxicJson(this.collection.updateToxic(proxy, toxicName, await readJsonBody(request))),
      ];
    };
    return {
      GET: async () => {
        const toxic = this.collection.get(name).findToxic(toxicName);
        if (toxic === undefined) throw toxicNotFound();
        return [200, toxicJson(toxic)];
      },
      POST: update,
      PATCH: update,
      DELETE: async () => {
        this.collection.removeToxic(this.collection.get(name), toxicName);
        return [204, undefined];
      },
    };
  }
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ApiError(400, `bad request path: cannot decode ${JSON.stringify(part)}`);
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  if (status === 204 || body === undefined) {
    response.writeHead(status).end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * Starts the embedded server. Rejects with a one-line message if the address is not loopback
 * (unless allowed) or the port is taken.
 */
export async function startToxiproxyServer(
  options: ToxiproxyServerOptions = {},
): Promise<RunningToxiproxyServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? defaultToxiproxyPort;
  const allowNonLoopback = options.allowNonLoopback ?? false;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`Expected \`port\` to be an integer from 0 to 65535, got ${port}`);
  }
  if (!allowNonLoopback && !isLoopbackHost(host)) {
    throw new Error(
      `Expected \`host\` to be a loopback address (127.0.0.1, localhost or ::1), got ${JSON.stringify(host)}`,
    );
  }
  const collection = new ProxyCollection(allowNonLoopback, options.allowRemoteUpstreams ?? false);
  const api = new ToxiproxyApi(collection);
  const server = http.createServer((request, response) => void api.handle(request, response));
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = requestTimeoutMs;
  const bindHost = host === "localhost" ? "127.0.0.1" : host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === "EADDRINUSE" ? "the port is in use" : (error.code ?? error.message);
      reject(
        new Error(
          `Toxiproxy server cannot listen on ${formatAddress({ host: bindHost, port })}: ${reason}`,
        ),
      );
    });
    server.listen({ host: bindHost, port }, resolve);
  });
  const bound = server.address();
  if (bound === null || typeof bound === "string")
    throw new Error("An HTTP server on TCP has a host and port");
  let closing: Promise<void> | undefined;
  return {
    url: `http://${formatAddress({ host: bound.address, port: bound.port })}`,
    port: bound.port,
    close: () => {
      closing ??= (async () => {
        await collection.closeAll();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
