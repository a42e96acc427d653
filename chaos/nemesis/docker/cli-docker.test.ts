// The Docker backend through the command line a learner types (issue 12, "one command surface
// for every backend"; lesson 3 "network splits" and lesson 5 "systems that never stop" on
// containers), on a real Docker engine:
//   npx neverstop up --backend docker --nodes 3 --detach     (node and Toxiproxy containers)
//   write at W=2; partition n1 n2,n3 (n1 alone cannot reach W=2, the majority can); heal
//   kill n3 (its container exits; W=2 still holds); restart n3 (it serves what it had)
//   join n4 (a spare becomes a container and a member); leave n4 (its container goes)
//   npx neverstop test set --backend docker                  (valid, nothing lost at W=2)
//   npx neverstop down                                       (no container of the run is left)
//
// Needs a Docker engine (.ci/docker-setup.sh); without one the file skips with one line, and
// under CI=true it fails (chaos/harness/requirements.ts). The node image is built once per state
// of the sources (node-image.ts) and reused after.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../cluster/runtime/real/test-support.ts";
import { requirePart } from "../../harness/requirements.ts";
import { clusterLabel } from "./backend.ts";
import { connectDocker, whyNoDockerCli, whyNoEngine } from "./engine.ts";
import { ensureNodeImage } from "./node-image.ts";
import type { DockerClusterRecord } from "./stack.ts";

const docker = connectDocker();
const skipDocker = requirePart("Docker engine", (await whyNoEngine(docker)) ?? whyNoDockerCli());
const neverstop = fileURLToPath(new URL("../../../bin/neverstop.js", import.meta.url));
const buildTimeoutMs = 10 * 60_000;
const stepTimeoutMs = 3 * 60_000;
const commandTimeoutMs = 150_000;
const requestTimeoutMs = 10_000;
const keyCount = 10;
/** How long a cluster may take to notice a link is back, or a node gone. */
const settleTimeoutMs = 20_000;

interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `neverstop ...args` in `cwd`, as a learner's terminal would. */
function run(cwd: string, ...args: string[]): Promise<CommandResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [neverstop, ...args], {
      cwd,
      env: { ...process.env, CI: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), commandTimeoutMs);
    child.once("error", reject);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolveRun({ status, stdout, stderr });
    });
  });
}

async function put(url: string, key: string, value: string): Promise<number> {
  const response = await fetch(`${url}/kv/cli/${key}?w=2`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(value),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  await response.arrayBuffer();
  return response.status;
}

async function read(url: string, key: string): Promise<unknown[]> {
  const response = await fetch(`${url}/kv/cli/${key}?r=2`, {
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  if (response.status !== 200) return [`HTTP ${response.status}`];
  return ((await response.json()) as { siblings: unknown[] }).siblings;
}

async function containerStates(runId: string): Promise<Map<string, string>> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${clusterLabel}=${runId}`] },
  });
  return new Map(containers.map((each) => [each.Names[0]!.replace(/^\//, ""), each.State]));
}

describe.skipIf(skipDocker)("npx neverstop up --backend docker, faults, test, down", () => {
  const folder = mkdtempSync(join(tmpdir(), "neverstop-cli-docker-"));
  const dataDir = join(folder, "cluster");
  mkdirSync(dataDir);
  let record: DockerClusterRecord | undefined;

  beforeAll(async () => {
    const started = Date.now();
    const image = await ensureNodeImage(docker);
    console.log(
      `node image ${image.tag}: base ${image.baseBuildMs} ms, node ${image.nodeBuildMs} ms (0 = reused), ready after ${Date.now() - started} ms`,
    );
  }, buildTimeoutMs);

  afterAll(async () => {
    // A failed step must not leave containers behind either.
    if (record !== undefined) {
      for (const [name] of await containerStates(record.docker.runId)) {
        await docker
          .getContainer(name)
          .remove({ force: true })
          .catch(() => {});
      }
    }
    rmSync(folder, { recursive: true, force: true });
  }, stepTimeoutMs);

  it(
    "up --detach starts the node and Toxiproxy containers and records them",
    async () => {
      await run(folder, "up", "--help"); // warm the compile cache: later timings are the work
      const up = await run(
        folder,
        ...["up", "--backend", "docker", "--nodes", "3", "--spare-nodes", "1", "--detach"],
        ...["--data-dir", "cluster"],
      );
      expect(up.status, up.stderr).toBe(0);
      record = JSON.parse(
        readFileSync(join(dataDir, "cluster.json"), "utf8"),
      ) as DockerClusterRecord;
      expect(record.backend).toBe("docker");
      expect(record.nodes.map((node) => node.id)).toEqual(["n1", "n2", "n3"]);
      const states = await containerStates(record.docker.runId);
      expect([...states.values()]).toEqual(["running", "running", "running", "running"]);
      expect(states.has(record.docker.toxiproxyContainer)).toBe(true);
      const status = await run(folder, "status", "--data-dir", "cluster");
      expect(status.status).toBe(0);
      expect(status.stdout.match(/ healthy$/gm)).toHaveLength(3);
    },
    stepTimeoutMs,
  );

  it(
    "writes at W=2; partition n1 | n2,n3 fails W=2 on n1 only; heal brings it back",
    async () => {
      const [n1, n2] = record!.nodes.map((node) => node.clientUrl!);
      // Peer connections come up, and come back after a heal, on their own time: wait for the
      // first success, then demand the rest at once (a lost write is then a failure).
      const settle = (what: string, node: string, key: string, status: number) =>
        eventually(what, settleTimeoutMs, async () =>
          (await put(node, key, what)) === status ? true : undefined,
        );
      await settle("a first W=2 write", n1!, "first", 204);
      for (let index = 0; index < keyCount; index++) {
        expect(await put(n1!, `before-${index}`, `value-${index}`)).toBe(204);
      }
      const split = await run(folder, "partition", "n1", "n2,n3", "--data-dir", "cluster");
      expect(split.stdout).toContain("partition split n1 | n2,n3 (refuse): 4 link(s) cut");
      await settle("the minority to refuse W=2", n1!, "during", 503);
      expect(await put(n1!, "during", "minority")).toBe(503);
      await settle("the majority to take W=2", n2!, "during", 204);
      expect(await put(n2!, "during", "majority")).toBe(204);
      const heal = await run(folder, "heal", "--data-dir", "cluster");
      expect(heal.status, heal.stderr).toBe(0);
      await settle("n1 to take W=2 after the heal", n1!, "after-heal", 204);
    },
    stepTimeoutMs,
  );

  it(
    "kill n3 stops its container; W=2 holds on n1, n2; restart n3 serves what it had",
    async () => {
      const n3 = record!.nodes[2]!;
      const containerOfN3 = record!.docker.nodes[2]!.containerName;
      const kill = await run(folder, "kill", "n3", "--data-dir", "cluster");
      expect(kill.stdout).toContain("killed n3 (docker kill -s KILL)");
      expect((await containerStates(record!.docker.runId)).get(containerOfN3)).toBe("exited");
      const n1 = record!.nodes[0]!.clientUrl!;
      await eventually("W=2 without n3", settleTimeoutMs, async () =>
        (await put(n1, "n3-down", "still-w2")) === 204 ? true : undefined,
      );
      const restart = await run(folder, "restart", "n3", "--data-dir", "cluster");
      expect(restart.stdout).toContain("restarted n3 (its container)");
      expect((await containerStates(record!.docker.runId)).get(containerOfN3)).toBe("running");
      for (let index = 0; index < keyCount; index++) {
        expect(await read(n3.httpUrl, `before-${index}`)).toEqual([`value-${index}`]);
      }
    },
    stepTimeoutMs,
  );

  it(
    "join n4 starts the spare's container and adds it to the ring; leave n4 removes it",
    async () => {
      const join = await run(folder, "join", "n4", "--data-dir", "cluster");
      expect(join.status, join.stderr).toBe(0);
      expect(join.stdout).toContain("members n1, n2, n3, n4");
      const containerOfN4 = record!.docker.nodes[3]!.containerName;
      expect((await containerStates(record!.docker.runId)).get(containerOfN4)).toBe("running");
      const leave = await run(folder, "leave", "n4", "--data-dir", "cluster");
      expect(leave.status, leave.stderr).toBe(0);
      expect(leave.stdout).toContain("members n1, n2, n3");
      expect((await containerStates(record!.docker.runId)).has(containerOfN4)).toBe(false);
    },
    stepTimeoutMs,
  );

  it(
    "test set --backend docker: a checked run under partitions and crashes, nothing lost at W=2",
    async () => {
      const test = await run(
        folder,
        ...["test", "set", "--backend", "docker", "--nodes", "3", "--w", "2", "--seed", "7"],
        ...["--time", "9s", "--faults", "partition,crash", "--interval", "3s"],
        ...["--fault-duration", "2s"],
      );
      expect(test.stdout).toContain("verdict     valid");
      expect(test.status, test.stderr).toBe(0);
      const runs = join(folder, "store", "set");
      const [runFolder] = readdirSync(runs);
      const results = JSON.parse(readFileSync(join(runs, runFolder!, "results.json"), "utf8")) as {
        summary: { backend: string; faultCount: number };
        results: { set: { valid: boolean; lostCount: number; acknowledgedCount: number } };
      };
      expect(results.summary.backend).toBe("docker");
      expect(results.summary.faultCount).toBeGreaterThan(0);
      expect(results.results.set.valid).toBe(true);
      expect(results.results.set.lostCount).toBe(0);
      expect(results.results.set.acknowledgedCount).toBeGreaterThan(0);
      // The run's own containers are gone; the `up` cluster's four are still there.
      const left = await docker.listContainers({
        all: true,
        filters: { name: ["neverstop-run-"] },
      });
      expect(left).toEqual([]);
    },
    stepTimeoutMs,
  );

  it(
    "down removes every container of the run",
    async () => {
      const down = await run(folder, "down", "--data-dir", "cluster");
      expect(down.stdout).toContain("removed 4 container(s)");
      expect(down.status).toBe(0);
      expect([...(await containerStates(record!.docker.runId)).keys()]).toEqual([]);
      const status = await run(folder, "status", "--data-dir", "cluster");
      expect(status.status).toBe(1);
      expect(status.stderr).toContain("no cluster is running");
    },
    stepTimeoutMs,
  );
});
