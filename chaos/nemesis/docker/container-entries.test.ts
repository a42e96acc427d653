// Tests of the compose services' entries without Docker (lesson 3, "network splits"): the
// populate step creates the layout's proxies on neverstop's embedded Toxiproxy (the same API the
// real image speaks), and a compose node started from flags serves clients through its
// `client->n1` proxy; bad flags are one line and exit status 1.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchHealth } from "../../../cluster/runtime/real/cluster.ts";
import { startToxiproxyServer, type RunningToxiproxyServer } from "../../toxiproxy/server.ts";

const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));
const runTs = join(repositoryRoot, "bin", "run-ts.js");
const populate = join(repositoryRoot, "chaos/nemesis/docker/toxiproxy-populate.ts");
const containerNode = join(repositoryRoot, "chaos/nemesis/docker/container-node.ts");
// Bases away from the compose defaults (a developer's cluster may hold those), below 32768.
const base = 21_000 + 1_000 * Math.floor(Math.random() * 5);
const ports = { node: base, link: base + 2_000, client: base + 800 };

function run(
  file: string,
  args: string[],
): { done: Promise<{ status: number | null; stdout: string; stderr: string }>; kill(): void } {
  const child = spawn(process.execPath, [runTs, file, ...args], { cwd: repositoryRoot });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("exit", (status) => resolve({ status, stdout, stderr })),
  );
  return { done, kill: () => child.kill("SIGTERM") };
}

describe("compose service entries", () => {
  let toxiproxy: RunningToxiproxyServer;
  const dataDir = mkdtempSync(join(tmpdir(), "neverstop-entries-"));

  beforeAll(async () => {
    toxiproxy = await startToxiproxyServer({ port: 0 });
  });
  afterAll(async () => {
    await toxiproxy.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("populates every proxy of a 2-node layout and a node answers through client->n1", async () => {
    const layoutFlags = ["--node-base-port", String(ports.node)];
    layoutFlags.push("--link-proxy-base-port", String(ports.link));
    const populated = await run(populate, [
      "--api",
      toxiproxy.url,
      "--nodes",
      "2",
      "--client-base-port",
      String(ports.client),
      ...layoutFlags,
    ]).done;
    expect(populated.stderr).toBe("");
    expect(populated.status).toBe(0);
    const proxies = (await (await fetch(`${toxiproxy.url}/proxies`)).json()) as Record<
      string,
      { listen: string; upstream: string }
    >;
    expect(Object.keys(proxies).sort()).toEqual(["client->n1", "client->n2", "n1->n2", "n2->n1"]);
    expect(proxies["n1->n2"]?.upstream).toBe(`127.0.0.1:${ports.node + 1002}`);

    const node = run(containerNode, [
      "--node",
      "n1",
      "--nodes",
      "1",
      "--data-dir",
      join(dataDir, "n1"),
      ...layoutFlags,
    ]);
    try {
      let health: Record<string, unknown> | undefined;
      for (let attempt = 0; attempt < 150 && health === undefined; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        health = await fetchHealth(`http://127.0.0.1:${ports.client + 1}`, 1_000);
      }
      expect(health?.["node"]).toBe("n1");
    } finally {
      node.kill();
      await node.done;
    }
  });

  it("answers bad flags with one line and exit status 1", async () => {
    const badNode = await run(containerNode, ["--node", "n9", "--nodes", "5"]).done;
    expect(badNode.status).toBe(1);
    expect(badNode.stderr).toBe(
      "neverstop container-node: Expected a node id from n1 to n5, got n9\n",
    );
    const badPopulate = await run(populate, ["--api", "http://10.0.0.1:8474"]).done;
    expect(badPopulate.status).toBe(1);
    expect(badPopulate.stderr).toBe(
      "neverstop toxiproxy-populate: Expected --api on a loopback address, got http://10.0.0.1:8474\n",
    );
  });
});
