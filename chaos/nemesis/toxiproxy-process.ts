// The Toxiproxy that comes with every local cluster (lesson 3, "network splits": a cluster you
// cannot break teaches nothing about splits). Which one, as in chaos/toxiproxy/locate.ts:
// TOXIPROXY_URL if set, else a `toxiproxy-server` on PATH, else the embedded server. A cluster
// in the foreground keeps the embedded server in its own process; a detached cluster
// (`up --detach`) needs one that outlives `up`, so it gets its own detached process
// (`neverstop toxiproxy --port N`, or the binary), whose pid goes into cluster.json for `down`.

import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findOnPath, freePort, locateToxiproxy, type ToxiproxyKind } from "../toxiproxy/locate.ts";

const readyTimeoutMs = 20_000;
const readyPollMs = 100;
const stopGraceMs = 5_000;
export const reapWaitMs = 10_000;
const cliPath = fileURLToPath(new URL("../../bin/neverstop.js", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));
export const toxiproxyLogName = "toxiproxy.log";

export interface ClusterToxiproxy {
  url: string;
  kind: ToxiproxyKind;
  /** A detached server's process (recorded so that `down` can stop it). */
  pid?: number;
  /** Stops a server started for this cluster; an external one keeps running. */
  stop(): Promise<void>;
}

export interface ClusterToxiproxyOptions {
  /** The API port for a server started here (0: any free port). */
  port: number;
  /** A server that outlives this process. */
  detach: boolean;
  /** Where a detached server's output goes (toxiproxy.log). */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export async function startClusterToxiproxy(
  options: ClusterToxiproxyOptions,
): Promise<ClusterToxiproxy> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  const external = env["TOXIPROXY_URL"];
  if (!options.detach || (external !== undefined && external.length > 0)) {
    const located = await locateToxiproxy({ port: options.port, env, log });
    return { url: located.url, kind: located.kind, stop: () => located.stop() };
  }
  const port = options.port === 0 ? await freePort() : options.port;
  const url = `http://127.0.0.1:${port}`;
  const binary = findOnPath("toxiproxy-server", env["PATH"] ?? "");
  const [command, args]: [string, string[]] =
    binary === undefined
      ? [process.execPath, [cliPath, "toxiproxy", "--port", String(port)]]
      : [binary, ["-host", "127.0.0.1", "-port", String(port)]];
  const logPath = join(options.dataDir, toxiproxyLogName);
  const logFd = openSync(logPath, "a");
  const child = spawn(command, args, {
    cwd: repositoryRoot,
    detached: true,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  child.once("error", () => {}); // seen below as a server that never answers
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${command}`);
  const stop = () => stopProcess(pid);
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await answersVersion(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      const tail = lastLine(logPath);
      throw new Error(
        `the Toxiproxy server did not answer on ${url} within ${readyTimeoutMs} ms${tail === "" ? "" : `: ${tail}`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, readyPollMs));
  }
  const kind: ToxiproxyKind = binary === undefined ? "embedded" : "binary";
  log(
    `toxiproxy: using ${binary === undefined ? "the embedded Toxiproxy-compatible server" : `${binary}`} at ${url} (detached, pid ${pid})`,
  );
  return { url, kind, pid, stop };
}

/** Whether `pid` is a Toxiproxy server this project started (a recorded pid may be reused). */
export function isToxiproxyProcess(pid: number): boolean {
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return commandLine.includes("toxiproxy");
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
export async function stopProcess(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal("SIGCONT");
  signal("SIGTERM");
  const deadline = Date.now() + stopGraceMs;
  while (processExists(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (processExists(pid)) signal("SIGKILL");
  await waitUntilReaped(pid, reapWaitMs);
}

/**
 * Waits until no process has this id any more (at most `timeoutMs`). A killed process lingers
 * as a zombie until its parent reaps it, and a zombie still answers signal 0: a restarted node
 * that checks its data folder's lock that way would take it for the old one, still running.
 */
export async function waitUntilReaped(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH") return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Alive and not a zombie waiting for its parent (a zombie cannot be signalled usefully). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true; // no /proc: signal 0 is all there is
  }
}

async function answersVersion(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/version`, { signal: AbortSignal.timeout(1_000) });
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}

function lastLine(path: string): string {
  try {
    const lines = readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("    at "));
    return lines.at(-1) ?? "";
  } catch {
    return "";
  }
}
