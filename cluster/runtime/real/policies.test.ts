// A lab's policies file runs everywhere (every lab; cluster/core/policies.ts): the same file
// replaces the claim in the simulator and in real node processes (every partition on one node,
// visible in GET /ring), a policy that throws fails one request with a 500 and the node keeps
// serving, and a broken file stops a node at start with one line naming the file and the
// function, exit status 1.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { DynamoNode } from "../../core/node.ts";
import { Simulation } from "../sim/simulator.ts";
import { clusterConfig, sequentialClient } from "../sim/testing.ts";
import { ClusterStartError, startLocalCluster, type LocalCluster } from "./cluster.ts";
import { loadPoliciesFile } from "./load-policies.ts";
import { httpCall, keyPath } from "./test-support.ts";

const oneOwnerFile = fileURLToPath(new URL("./test-data/one-owner-policies.ts", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "neverstop-policies-"));
let cluster: LocalCluster | undefined;

afterAll(async () => {
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("one policies file, two runtimes", () => {
  it("the simulator runs the file's claim: every partition on n1", async () => {
    const policies = await loadPoliciesFile(oneOwnerFile);
    const sim = new Simulation({ config: clusterConfig(3), seed: 1, policies });
    const exchanges = sequentialClient(sim, {
      startMs: 10,
      pickNode: () => "n2",
      next: (previous) =>
        previous === undefined
          ? { op: "put", bucket: "boom", key: "k", value: 1, w: 1 }
          : previous.request.op === "put"
            ? { op: "get", bucket: "boom", key: "k", r: 1 }
            : undefined,
    });
    sim.run(5_000);
    const ring = (sim.node("n3") as DynamoNode).ring;
    expect(new Set(ring.owners)).toEqual(new Set(["n1"]));
    // The write lands on n1, the one replica; the read of "boom" fails alone, with a 500.
    expect(exchanges.map((exchange) => exchange.outcome)).toMatchObject([
      { kind: "response", response: { status: 204 } },
      { kind: "response", response: { status: 500, body: { error: "policy_failed" } } },
    ]);
    expect((sim.node("n1") as DynamoNode).inspect("boom", "k")).not.toBeNull();
    expect((sim.node("n2") as DynamoNode).stats().requests.get.policy_failed).toBe(1);
    // Without the file, the reference claim spreads partitions over all three.
    const reference = new Simulation({ config: clusterConfig(3), seed: 1 });
    expect(new Set((reference.node("n3") as DynamoNode).ring.owners).size).toBe(3);
  });

  it("real node processes load the same file: GET /ring shows one owner, a throwing policy costs one request", async () => {
    cluster = await startLocalCluster({
      nodes: 3,
      policies: oneOwnerFile,
      timing: { antiEntropyIntervalMs: 0 },
    });
    const port = cluster.node("n2").httpPort;
    const ring = JSON.parse((await httpCall(port, { path: "/ring" })).body) as {
      ownership: Record<string, number>;
    };
    expect(ring.ownership).toEqual({ n1: 64 });
    const write = (bucket: string) =>
      httpCall(port, { method: "PUT", path: keyPath(bucket, "k", "w=1"), body: '"v"' });
    expect((await write("b")).status).toBe(204);
    expect((await write("boom")).status).toBe(204);
    const boom = await httpCall(port, { path: keyPath("boom", "k", "r=1") });
    expect(boom.status).toBe(500);
    expect(JSON.parse(boom.body)).toMatchObject({
      error: "policy_failed",
      detail: "policy `resolveSiblings.causal` threw: the boom bucket refuses to be read",
    });
    // The node is still there and serves the next request.
    const fine = await httpCall(port, { path: keyPath("b", "k", "r=1") });
    expect(fine.status).toBe(200);
    expect(JSON.parse(fine.body)).toMatchObject({ siblings: ["v"] });
  }, 90_000);
});

describe("a broken policies file", () => {
  const brokenFiles: Array<[string, string, RegExp]> = [
    ["syntax.ts", "export const policies = {", /syntax\.ts: cannot load the policies module: /],
    [
      "throws.ts",
      'function readLabSettings(): never { throw new Error("no settings for this lab"); }\nreadLabSettings();\nexport const policies = {};\n',
      /throws\.ts: cannot load the policies module: no settings for this lab \(thrown in `readLabSettings`\)$/,
    ],
    [
      "shape.ts",
      "export const policies = { claim: 42 };\n",
      /shape\.ts: expected `claim` to be a function, got number 42$/,
    ],
    ["missing.ts", "", /missing\.ts: cannot load the policies module: /],
  ];

  it.each(brokenFiles)(
    "%s: a node refuses to start with one line",
    (name, text, message) => {
      const file = join(scratch, name);
      if (text !== "") writeFileSync(file, text);
      const config = {
        nodeId: "n1",
        cluster: clusterConfig(1),
        peers: { n1: { host: "127.0.0.1", port: 0 } },
        httpPort: 0,
        peerPort: 0,
        dataDir: join(scratch, `data-${name}`),
        sync: "always",
        logToStderr: true,
        policies: file,
      };
      const started = spawnSync(
        process.execPath,
        [
          join(repositoryRoot, "bin/run-ts.js"),
          join(repositoryRoot, "cluster/runtime/real/node-main.ts"),
          "--config-json",
          JSON.stringify(config),
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
      expect(started.status).toBe(1);
      const lines = started.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^neverstop node n1: /);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toMatch(message);
    },
    60_000,
  );

  it("startLocalCluster reports the node's line", async () => {
    const file = join(scratch, "cluster-shape.ts");
    writeFileSync(file, "export default [];\n");
    const started = startLocalCluster({ nodes: 1, policies: file });
    await expect(started).rejects.toThrow(ClusterStartError);
    await expect(started).rejects.toThrow(
      `${file}: expected an exported \`policies\` object (or a default export), got an array`,
    );
  }, 60_000);
});
