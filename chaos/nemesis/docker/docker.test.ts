// The Docker test (lesson 5, "systems that never stop"): a 3-node cluster in containers on the
// host network, built offline (docker-base + the Dockerfile), keeps serving writes and reads at
// W=2 / R=2 after one container is killed with SIGKILL through dockerode; pause freezes a node
// and unpause thaws it; a killed node restarts from its own data.
//
// Needs a Docker engine and the docker command line (.ci/docker-setup.sh starts one as root).
// Without them the whole file skips with one line saying why; under CI=true it fails instead
// (chaos/harness/requirements.ts). The first run builds the images
// (minutes on the vfs storage driver); later runs reuse them while the sources are unchanged.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchHealth } from "../../../cluster/runtime/real/cluster.ts";
import { requirePart } from "../../harness/requirements.ts";
import { removeStaleDockerClusters, startDockerCluster, type DockerCluster } from "./backend.ts";
import { connectDocker, whyNoDockerCli, whyNoEngine } from "./engine.ts";
import { ensureNodeImage } from "./node-image.ts";

const docker = connectDocker();
const skipDocker = requirePart("Docker engine", (await whyNoEngine(docker)) ?? whyNoDockerCli());

const buildTimeoutMs = 20 * 60_000;
const clusterTestTimeoutMs = 5 * 60_000;
const keyCount = 20;
const namePrefix = "neverstop-test";
const requestTimeoutMs = 10_000;

async function put(url: string, key: string, value: string): Promise<number> {
  const response = await fetch(`${url}/kv/docker/${key}?w=2`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(value),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  await response.arrayBuffer();
  return response.status;
}

async function get(url: string, key: string): Promise<{ status: number; siblings: unknown[] }> {
  const response = await fetch(`${url}/kv/docker/${key}?r=2`, {
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  if (response.status !== 200) {
    await response.arrayBuffer();
    return { status: response.status, siblings: [] };
  }
  const body = (await response.json()) as { siblings: unknown[] };
  return { status: 200, siblings: body.siblings };
}

describe.skipIf(skipDocker)("docker backend: a 3-node cluster in containers", () => {
  let cluster: DockerCluster | undefined;

  beforeAll(async () => {
    // Containers a crashed earlier run left behind (a run lasts well under an hour).
    await removeStaleDockerClusters(docker, namePrefix, 60 * 60_000);
    const started = Date.now();
    const image = await ensureNodeImage(docker);
    console.log(
      `docker test image ${image.tag}: base ${image.baseBuildMs} ms, node image ${image.nodeBuildMs} ms (0 = reused); ready after ${Date.now() - started} ms`,
    );
    const clusterStarted = Date.now();
    cluster = await startDockerCluster({
      nodes: 3,
      image: image.tag,
      namePrefix,
    });
    console.log(
      `docker cluster of 3 containers answered /health in ${Date.now() - clusterStarted} ms`,
    );
  }, buildTimeoutMs);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it(
    "keeps serving W=2 writes and R=2 reads after a container is killed with SIGKILL",
    async () => {
      const running = cluster!;
      const [n1, n2, n3] = running.nodes;
      for (let index = 0; index < keyCount; index++) {
        const node = running.nodes[index % 3]!;
        expect(await put(node.httpUrl, `before-${index}`, `value-${index}`)).toBe(204);
      }

      await running.kill(n3!.id);
      expect(await running.state(n3!.id)).toBe("exited");
      expect(await fetchHealth(n3!.httpUrl, 1_000)).toBeUndefined();

      for (let index = 0; index < keyCount; index++) {
        const node = index % 2 === 0 ? n1! : n2!;
        expect(await put(node.httpUrl, `after-${index}`, `value-${index}`)).toBe(204);
      }
      for (let index = 0; index < keyCount; index++) {
        const node = index % 2 === 0 ? n2! : n1!;
        for (const phase of ["before", "after"]) {
          const read = await get(node.httpUrl, `${phase}-${index}`);
          expect(read.status).toBe(200);
          expect(read.siblings).toEqual([`value-${index}`]);
        }
      }

      // The killed node comes back from its own folder and serves quorum reads again.
      await running.restart(n3!.id);
      expect(await running.state(n3!.id)).toBe("running");
      const read = await get(n3!.httpUrl, "before-2");
      expect(read.siblings).toEqual(["value-2"]);
    },
    clusterTestTimeoutMs,
  );

  it(
    "pause freezes a node's container and unpause thaws it",
    async () => {
      const running = cluster!;
      const n2 = running.node("n2");
      await running.pause(n2.id);
      expect(await running.state(n2.id)).toBe("paused");
      expect(await fetchHealth(n2.httpUrl, 1_000)).toBeUndefined();
      await running.unpause(n2.id);
      expect(await running.state(n2.id)).toBe("running");
      const health = await fetchHealth(n2.httpUrl, requestTimeoutMs);
      expect(health?.["node"]).toBe("n2");
    },
    clusterTestTimeoutMs,
  );

  it(
    "logs return the node's own structured start line",
    async () => {
      const running = cluster!;
      const n1 = running.node("n1");
      const lines = (await running.logs(n1.id, 1_000)).split("\n");
      const started = lines
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry["event"] === "node-started");
      expect(started?.["httpPort"]).toBe(n1.httpPort);
      expect(started?.["node"]).toBe("n1");
    },
    clusterTestTimeoutMs,
  );

  it(
    "remove deletes one node's container for good and the others keep serving W=2",
    async () => {
      const running = cluster!;
      await running.remove("n3");
      expect(await running.state("n3")).toBe("missing");
      expect(await put(running.node("n1").httpUrl, "after-remove", "gone-n3")).toBe(204);
      expect((await get(running.node("n2").httpUrl, "after-remove")).siblings).toEqual(["gone-n3"]);
    },
    clusterTestTimeoutMs,
  );
});

describe.skipIf(skipDocker)("docker backend: a lab's policies file", () => {
  const policiesFile = fileURLToPath(
    new URL("../../../cluster/runtime/real/test-data/one-owner-policies.ts", import.meta.url),
  );
  // The lab kit's shape: a module in a temporary folder that imports the learner's file by its
  // absolute path (the repository is then mounted too).
  const outside = mkdtempSync(join(tmpdir(), "neverstop-docker-policies-"));
  const outsideFile = join(outside, "policies.ts");
  writeFileSync(outsideFile, `export { policies } from ${JSON.stringify(policiesFile)};\n`);
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  it.each([
    ["inside the repository", policiesFile],
    ["outside it, importing a repository file by absolute path", outsideFile],
  ])(
    "a file %s is mounted into every container and loaded by every node (its claim: every partition on n1)",
    async (_where, file) => {
      const image = await ensureNodeImage(docker);
      const cluster = await startDockerCluster({
        nodes: 2,
        image: image.tag,
        namePrefix,
        policies: file,
      });
      try {
        const response = await fetch(`${cluster.node("n2").httpUrl}/ring`, {
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        const ring = (await response.json()) as { ownership: Record<string, number> };
        expect(ring.ownership).toEqual({ n1: 64 });
      } finally {
        await cluster.stop();
      }
    },
    buildTimeoutMs,
  );
});
