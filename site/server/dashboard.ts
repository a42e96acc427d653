// The live dashboard's server (lesson 10, monitoring for five nines; lesson 3, network splits):
// under `npm start` the course site is served on 127.0.0.1 with a small local API beside it,
// in the same process as the cluster. The dashboard page (site/src/dashboard.ts) shows the
// running cluster's ring, its members and each node's view of them, metrics and alarms over
// time, and buttons that inject the nemeses, through the very functions `npx neverstop
// partition|heal|kill|...` call, so the cluster's .neverstop/nemesis.jsonl records each one.
//
//   GET  /api/cluster   the nodes and whether links can be cut (Toxiproxy)
//   GET  /api/ring      the ring, as the first node that answers sees it
//   GET  /api/members   each node's view of its peers (failure detection is local)
//   GET  /api/series    samples every second: per node up, keys, requests ok/failed, hints, alarms
//   GET  /api/nemesis   what was injected (nemesis.jsonl), newest last
//   POST /api/nemesis   { "action": "partition", "groups": "n1,n2|n3,n4,n5" } | heal | kill |
//                       restart | pause | resume { "node" } | latency { "link", "ms" } |
//                       skew { "node", "offset": "+30s" } | reset
//
// Loopback only: the server listens on 127.0.0.1, answers only requests whose Host is its own
// address (no DNS rebinding), and the API refuses any request whose Origin is not the
// dashboard's own (a page elsewhere cannot break the cluster), POSTs without an Origin too.

import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readSiteFile } from "./static-files.ts";

/** What the dashboard needs of a running cluster; cli/dashboard.ts gives the local one. */
export interface DashboardCluster {
  /** The cluster's nodes now, or undefined when none is running. */
  nodes(): { id: string; httpUrl: string; clientUrl?: string }[] | undefined;
  /** Whether links can be cut (a Toxiproxy sits on them). */
  canCutLinks(): boolean;
  /** Runs one nemesis action (the CLI's own command) and returns its one line. */
  act(action: NemesisAction): Promise<string>;
  /** What was injected, oldest first (nemesis.jsonl). */
  nemesisLog(): unknown[];
}

export type NemesisAction =
  | { action: "partition"; groups: string[] }
  | { action: "heal" | "reset" }
  | { action: "kill" | "restart" | "pause" | "resume"; node: string }
  | { action: "latency"; link: string; latency: string }
  | { action: "skew"; node: string; offset: string };

export interface DashboardOptions {
  cluster: DashboardCluster;
  /** 0 picks a free port. */
  port?: number;
  /** The built site (site/dist); the API works without it. */
  siteDirectory?: string;
  /** How often the server samples every node. */
  sampleIntervalMs?: number;
}

export interface Dashboard {
  /** The dashboard page's address, e.g. http://127.0.0.1:39123/dashboard.html */
  url: string;
  origin: string;
  stop(): Promise<void>;
}

export const sampleCountMax = 600;
const nodeRequestTimeoutMs = 1_000;
const bodySizeMaxBytes = 16 * 1024;
const nemesisLinesMax = 500;
export const defaultSiteDirectory = fileURLToPath(new URL("../dist", import.meta.url));

/** One node in one of the dashboard's once-a-second samples (GET /api/series). */
export interface NodeSample {
  id: string;
  up: boolean;
  keys: number;
  requestsOk: number;
  requestsFailed: number;
  hintsPending: number;
  alarms: string[];
}

export interface Sample {
  timeMs: number;
  nodes: NodeSample[];
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function nodeJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(nodeRequestTimeoutMs) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function nodeText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(nodeRequestTimeoutMs) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

/** Sums a Prometheus counter's samples whose labels match `labelFilter`. */
export function sumMetric(
  text: string,
  name: string,
  labelFilter: (labels: string) => boolean,
): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+([-+\d.eE]+|NaN)/.exec(line);
    if (match === null || match[1] !== name || !labelFilter(match[3] ?? "")) continue;
    const value = Number(match[4]);
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

async function sampleNode(node: { id: string; httpUrl: string }): Promise<NodeSample> {
  try {
    const [health, metrics, alarms] = await Promise.all([
      nodeJson(`${node.httpUrl}/health`) as Promise<{ keys?: number }>,
      nodeText(`${node.httpUrl}/metrics`),
      nodeJson(`${node.httpUrl}/alarms`),
    ]);
    const alarmList = Array.isArray(alarms)
      ? alarms
      : ((alarms as { alarms?: unknown[] }).alarms ?? []);
    return {
      id: node.id,
      up: true,
      keys: typeof health.keys === "number" ? health.keys : 0,
      requestsOk: sumMetric(metrics, "neverstop_requests_total", (labels) =>
        labels.includes('outcome="ok"'),
      ),
      requestsFailed: sumMetric(
        metrics,
        "neverstop_requests_total",
        (labels) => !labels.includes('outcome="ok"'),
      ),
      hintsPending: sumMetric(metrics, "neverstop_node_stat", (labels) =>
        labels.includes('stat="hintsPending"'),
      ),
      alarms: alarmList.map((alarm) => String((alarm as { name?: unknown }).name ?? alarm)),
    };
  } catch {
    return {
      id: node.id,
      up: false,
      keys: 0,
      requestsOk: 0,
      requestsFailed: 0,
      hintsPending: 0,
      alarms: [],
    };
  }
}

function text(value: unknown, name: string): string {
  if (typeof value !== "string" || value.trim() === "" || value.length > 200) {
    throw new HttpProblem(400, `Expected \`${name}\` to be a short string`);
  }
  return value.trim();
}

/** Checks a posted action; every mistake is a 400 with one line. */
export function parseAction(body: Record<string, unknown>): NemesisAction {
  const action = body["action"];
  switch (action) {
    case "partition":
      return {
        action,
        groups: text(body["groups"], "groups")
          .split(/\s*\|\s*|\s+/)
          .filter((group) => group !== ""),
      };
    case "heal":
    case "reset":
      return { action };
    case "kill":
    case "restart":
    case "pause":
    case "resume":
      return { action, node: text(body["node"], "node") };
    case "latency": {
      const ms = Number(body["ms"] ?? 200);
      if (!Number.isSafeInteger(ms) || ms < 0 || ms > 60_000)
        throw new HttpProblem(
          400,
          `Expected \`ms\` to be an integer from 0 to 60000, got ${String(body["ms"])}`,
        );
      return { action, link: text(body["link"], "link"), latency: `${ms}ms` };
    }
    case "skew":
      return { action, node: text(body["node"], "node"), offset: text(body["offset"], "offset") };
    default:
      throw new HttpProblem(
        400,
        `Expected \`action\` among partition, heal, kill, restart, pause, resume, latency, skew, reset, got ${JSON.stringify(action)}`,
      );
  }
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > bodySizeMaxBytes)
      throw new HttpProblem(413, `Expected a body of at most ${bodySizeMaxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch {
    throw new HttpProblem(400, "Expected a JSON object");
  }
}

/**
 * Builds the course site into `siteDirectory` when it has no dashboard page yet (a fresh clone
 * running `npm start`): Vite is a development dependency, so without it this says what to run
 * and the API still works. Returns a line to print, or undefined when nothing was needed.
 */
export async function ensureSiteBuilt(
  siteDirectory: string = defaultSiteDirectory,
): Promise<string | undefined> {
  if (existsSync(join(siteDirectory, "dashboard.html"))) return undefined;
  try {
    const { build } = await import("vite");
    await build({
      configFile: fileURLToPath(new URL("../vite.config.ts", import.meta.url)),
      logLevel: "error", // a learner starting the cluster needs no chunking advice
      build: { outDir: siteDirectory, emptyOutDir: true },
    });
    return `built the course site into ${siteDirectory}`;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return `the dashboard page is missing (run npm run site:build): ${reason}`;
  }
}

/** Starts the dashboard on 127.0.0.1; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const cluster = options.cluster;
  const siteDirectory = resolve(options.siteDirectory ?? defaultSiteDirectory);
  const samples: Sample[] = [];
  let origin = "";
  let origins = new Set<string>();
  let hosts = new Set<string>();

  const nodes = () => {
    const found = cluster.nodes();
    if (found === undefined) throw new HttpProblem(503, "No cluster is running");
    return found;
  };

  const sample = async () => {
    const found = cluster.nodes();
    if (found === undefined) return;
    samples.push({ timeMs: Date.now(), nodes: await Promise.all(found.map(sampleNode)) });
    if (samples.length > sampleCountMax) samples.splice(0, samples.length - sampleCountMax);
  };

  const api = async (request: IncomingMessage, path: string): Promise<unknown> => {
    const requestOrigin = request.headers.origin;
    if (requestOrigin !== undefined && !origins.has(requestOrigin)) {
      throw new HttpProblem(
        403,
        `Refused: Origin ${requestOrigin.slice(0, 100)} is not the dashboard's own (${origin})`,
      );
    }
    if (request.method === "POST" && path === "/api/nemesis") {
      if (requestOrigin === undefined)
        throw new HttpProblem(403, "Refused: a POST must come from the dashboard page (no Origin)");
      if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
        throw new HttpProblem(415, "Expected Content-Type: application/json");
      }
      const line = await cluster.act(parseAction(await readBody(request)));
      return { line, nemesis: cluster.nemesisLog().slice(-50) };
    }
    if (request.method !== "GET") throw new HttpProblem(405, "Expected GET (or POST /api/nemesis)");
    switch (path) {
      case "/api/cluster":
        return { toxiproxy: cluster.canCutLinks(), nodes: nodes() };
      case "/api/ring": {
        for (const node of nodes()) {
          try {
            return await nodeJson(`${node.httpUrl}/ring`);
          } catch {
            // That node is down; ask the next.
          }
        }
        throw new HttpProblem(503, "No node answered /ring");
      }
      case "/api/members":
        return Promise.all(
          nodes().map(async (node) => {
            try {
              const answer = (await nodeJson(`${node.httpUrl}/members`)) as { members?: unknown };
              return {
                id: node.id,
                up: true,
                view: Array.isArray(answer.members) ? answer.members : [],
              };
            } catch (error) {
              return {
                id: node.id,
                up: false,
                error: error instanceof Error ? error.message : String(error),
              };
            }
          }),
        );
      case "/api/series":
        return samples;
      case "/api/nemesis":
        return cluster.nemesisLog().slice(-nemesisLinesMax);
      default:
        throw new HttpProblem(404, `No API ${path.slice(0, 100)}`);
    }
  };

  const serveFile = async (path: string, response: ServerResponse) => {
    const found = await readSiteFile(siteDirectory, path, "dashboard.html");
    if (found === undefined) {
      throw new HttpProblem(
        404,
        existsSync(siteDirectory) ? "Not found" : `The site is not built: run npm run site:build`,
      );
    }
    response
      .writeHead(200, { "content-type": found.contentType, "cache-control": "no-store" })
      .end(found.body);
  };

  const server: Server = createServer((request, response) => {
    const handle = async () => {
      if (!hosts.has(request.headers.host ?? ""))
        throw new HttpProblem(421, "Refused: unknown Host");
      const path = decodeURIComponent(new URL(request.url ?? "/", origin).pathname);
      if (path.startsWith("/api/")) {
        const result = await api(request, path);
        response
          .writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
          .end(JSON.stringify(result));
        return;
      }
      if (request.method !== "GET" && request.method !== "HEAD")
        throw new HttpProblem(405, "Expected GET");
      await serveFile(path, response);
    };
    handle().catch((error: unknown) => {
      const status = error instanceof HttpProblem ? error.status : 400;
      const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
      if (!response.headersSent) response.writeHead(status, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ error: status === 400 ? "bad_request" : "refused", detail: message }),
      );
    });
  });
  await new Promise<void>((listening, failed) => {
    server.once("error", failed);
    server.listen(options.port ?? 0, "127.0.0.1", () => listening());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  origins = new Set([...hosts].map((host) => `http://${host}`));
  const timer = setInterval(() => void sample(), options.sampleIntervalMs ?? 1_000);
  timer.unref();
  void sample();
  return {
    url: `${origin}/dashboard.html`,
    origin,
    stop: () =>
      new Promise<void>((closed) => {
        clearInterval(timer);
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}
