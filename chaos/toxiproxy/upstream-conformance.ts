// `npm run conformance:toxiproxy-client`: toxiproxy-node-client's own test suite, unchanged,
// against the embedded server (lesson 3, network splits: the faults are injected through the
// same API the field's clients speak, so what a learner does here works on real Toxiproxy).
//
// The suite (chaos/toxiproxy/upstream-tests, vendored with its licence) expects a Toxiproxy
// at http://localhost:8474, hard-coded, with no variable to move it, and creates proxies on
// fixed ports 9987 and 9988 with upstreams localhost:6379 and "somehost:12345". 8474 is every
// Toxiproxy's default port and other clusters on this machine may use it, so:
//   1. The script re-runs itself inside a private network namespace (`unshare --user
//      --map-root-user --net`, loopback brought up with `ip`): there 8474 and the fixed ports
//      are this run's alone, and nothing of it is reachable from outside.
//   2. Where namespaces are not allowed, it runs on the machine's loopback only when every
//      port the suite needs is free, says so in one line, and otherwise stops with the port
//      that is taken (exit 1).
// Inside, it starts the embedded server on 127.0.0.1:8474 with remote upstreams allowed (the
// suite points a proxy at somehost:12345) and an echo server on 127.0.0.1:6379 as upstream,
// then runs the suite with vitest (upstream-tests/vitest.config.ts says how jest's globals are
// provided). It passes only when all 18 tests ran and passed: a file that fails to load, or a
// test that is skipped, fails the run. Exit 0 pass, 1 fail.

import { spawnSync, spawn } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startToxiproxyServer } from "./server.ts";

/** The tests in toxiproxy-node-client's src/tests: Proxy 3, Toxic 2, ToxicTypes 7, Toxiproxy 6. */
export const upstreamTestCount = 18;
const toxiproxyPort = 8474;
const echoPort = 6379;
/** Ports the suite binds or dials on loopback: the API, the echo upstream, two fixed proxies. */
const suitePorts = [toxiproxyPort, echoPort, 9987, 9988];
const insideNamespaceVariable = "NEVERSTOP_UPSTREAM_TESTS_NAMESPACE";

const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));
const suiteConfig = fileURLToPath(new URL("./upstream-tests/vitest.config.ts", import.meta.url));
const thisScript = fileURLToPath(import.meta.url);

function say(line: string): void {
  process.stdout.write(`conformance:toxiproxy-client: ${line}\n`);
}

/** Re-runs this script in a private network namespace; undefined if namespaces are refused. */
function runInPrivateNamespace(): number | undefined {
  const probe = spawnSync(
    "unshare",
    ["--user", "--map-root-user", "--net", "ip", "link", "set", "lo", "up"],
    {
      stdio: "ignore",
    },
  );
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  const command = `ip link set lo up && exec "$0" "$@"`;
  const child = spawnSync(
    "unshare",
    [
      "--user",
      "--map-root-user",
      "--net",
      "sh",
      "-c",
      command,
      process.execPath,
      join(repositoryRoot, "bin/run-ts.js"),
      thisScript,
    ],
    { stdio: "inherit", env: { ...process.env, [insideNamespaceVariable]: "1" } },
  );
  return child.status ?? 1;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ host: "127.0.0.1", port }, () => probe.close(() => resolve(true)));
  });
}

async function startEchoServer(): Promise<net.Server> {
  const echo = net.createServer((socket) => {
    socket.on("error", () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    echo.once("error", reject);
    echo.listen({ host: "127.0.0.1", port: echoPort }, resolve);
  });
  return echo;
}

interface SuiteReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: Array<{ name: string; status: string; message?: string }>;
}

/** Runs vitest on the vendored suite in a child process; returns its JSON report. */
async function runSuite(): Promise<SuiteReport | undefined> {
  const folder = mkdtempSync(join(tmpdir(), "neverstop-upstream-tests-"));
  const reportFile = join(folder, "report.json");
  try {
    const vitest = join(repositoryRoot, "node_modules/vitest/vitest.mjs");
    const child = spawn(
      process.execPath,
      [
        vitest,
        "run",
        "--config",
        suiteConfig,
        "--reporter=default",
        "--reporter=json",
        `--outputFile.json=${reportFile}`,
      ],
      { cwd: repositoryRoot, stdio: "inherit", env: { ...process.env, FORCE_COLOR: "0" } },
    );
    await new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      return JSON.parse(readFileSync(reportFile, "utf8")) as SuiteReport;
    } catch {
      return undefined;
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function runHere(): Promise<number> {
  for (const port of suitePorts) {
    if (!(await portIsFree(port))) {
      say(
        `port ${port} on 127.0.0.1 is taken; the suite needs ${suitePorts.join(", ")} (its URL and ports are fixed)`,
      );
      return 1;
    }
  }
  const echo = await startEchoServer();
  const server = await startToxiproxyServer({
    host: "127.0.0.1",
    port: toxiproxyPort,
    allowRemoteUpstreams: true,
  });
  try {
    const report = await runSuite();
    if (report === undefined) {
      say("FAIL: vitest wrote no report (the suite did not run)");
      return 1;
    }
    const passed = report.numPassedTests;
    const line =
      `${passed} of ${upstreamTestCount} toxiproxy-node-client tests passed ` +
      `(${report.numTotalTests} ran, ${report.numFailedTests} failed, ` +
      `${report.numPendingTests} skipped)`;
    const ok = passed === upstreamTestCount && report.numTotalTests === upstreamTestCount;
    say(`${ok ? "PASS" : "FAIL"}: ${line}`);
    return ok ? 0 : 1;
  } finally {
    await server.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
}

async function main(): Promise<number> {
  if (process.env[insideNamespaceVariable] === "1") {
    say(
      "in a private network namespace: Toxiproxy on 127.0.0.1:8474, echo upstream on 127.0.0.1:6379",
    );
    return runHere();
  }
  const status = runInPrivateNamespace();
  if (status !== undefined) return status;
  say(
    "network namespaces are not available here: running on this machine's loopback, ports " +
      suitePorts.join(", "),
  );
  return runHere();
}

process.exitCode = await main();
