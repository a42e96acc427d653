// Which Toxiproxy to use (lesson 3, network splits; lesson 5, systems that never stop: the
// same fault vocabulary whether a real Toxiproxy exists or not):
//   1. TOXIPROXY_URL is set           -> that server ("external"), checked once
//   2. `toxiproxy-server` is on PATH  -> spawn it on loopback ("binary")
//   3. otherwise                      -> the embedded server in this process ("embedded")
// The caller gets one URL to hand to toxiproxy-node-client and one `stop()`, and a single
// line says which server it is, so a surprising result is never silent.

import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import net from "node:net";
import path from "node:path";
import { isLoopbackHost } from "./proxy.ts";
import { startToxiproxyServer } from "./server.ts";

export type ToxiproxyKind = "external" | "binary" | "embedded";

export interface LocatedToxiproxy {
  readonly url: string;
  readonly kind: ToxiproxyKind;
  /** Stops a server this call started; leaves an external one running. */
  stop(): Promise<void>;
}

export interface LocateToxiproxyOptions {
  /** Port for a server started here; 0 (default) picks a free one. */
  readonly port?: number;
  /** Environment to read TOXIPROXY_URL and PATH from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the one line about the choice goes; default stderr. */
  readonly log?: (line: string) => void;
}

const readyTimeoutMs = 10_000;
const readyPollIntervalMs = 50;
const probeTimeoutMs = 2_000;
const stopTimeoutMs = 5_000;

export async function locateToxiproxy(
  options: LocateToxiproxyOptions = {},
): Promise<LocatedToxiproxy> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  const port = options.port ?? 0;
  const external = env["TOXIPROXY_URL"];
  let located: LocatedToxiproxy;
  if (external !== undefined && external.length > 0) {
    located = await useExternal(external);
  } else {
    const binary = findOnPath("toxiproxy-server", env["PATH"] ?? "");
    located = binary === undefined ? await startEmbedded(port) : await startBinary(binary, port);
  }
  const description = {
    external: "the Toxiproxy at TOXIPROXY_URL",
    binary: "toxiproxy-server from PATH",
    embedded: "the embedded Toxiproxy-compatible server",
  }[located.kind];
  log(`toxiproxy: using ${description} at ${located.url}`);
  return located;
}

async function useExternal(text: string): Promise<LocatedToxiproxy> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      `Expected TOXIPROXY_URL to be a URL such as http://127.0.0.1:8474, got ${JSON.stringify(text)}`,
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol !== "http:" || !isLoopbackHost(host)) {
    throw new Error(
      `Expected TOXIPROXY_URL to be http:// on loopback (127.0.0.1, localhost, [::1]), got ${text}`,
    );
  }
  const base = url.href.replace(/\/+$/, "");
  if (!(await answersVersion(base))) {
    throw new Error(`TOXIPROXY_URL is set to ${base}, but nothing there answers GET /version`);
  }
  return { url: base, kind: "external", stop: async () => {} };
}

async function startEmbedded(port: number): Promise<LocatedToxiproxy> {
  const server = await startToxiproxyServer({ host: "127.0.0.1", port });
  return { url: server.url, kind: "embedded", stop: () => server.close() };
}

async function startBinary(binary: string, requestedPort: number): Promise<LocatedToxiproxy> {
  const port = requestedPort === 0 ? await freePort() : requestedPort;
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ["-host", "127.0.0.1", "-port", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderrTail = "";
  child.stderr?.on(
    "data",
    (chunk: Buffer) => (stderrTail = (stderrTail + chunk.toString()).slice(-500)),
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", () => {}); // Reported through `exit` below as a failure to start.
  const deadline = performance.now() + readyTimeoutMs;
  while (!(await answersVersion(url))) {
    if (child.exitCode !== null || child.signalCode !== null || performance.now() > deadline) {
      await stopChild(child, exited);
      const tail = stderrTail.trim().split("\n").at(-1) ?? "";
      throw new Error(
        `${binary} did not answer on ${url} within ${readyTimeoutMs} ms${tail ? `: ${tail}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, readyPollIntervalMs));
  }
  return { url, kind: "binary", stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
  await exited;
  clearTimeout(timer);
}

async function answersVersion(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/version`, {
      signal: AbortSignal.timeout(probeTimeoutMs),
    });
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}

/** An executable file called `name` in one of PATH's directories, or undefined. */
export function findOnPath(name: string, searchPath: string): string | undefined {
  for (const directory of searchPath.split(path.delimiter)) {
    if (directory.length === 0) continue;
    const candidate = path.join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return undefined;
}

/** A port free on loopback right now (a binary needs a number; it cannot report back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen({ host: "127.0.0.1", port: 0 }, () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}
