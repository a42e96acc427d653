// A real 5-node cluster broken from the command line's own functions (lesson 3, "network
// splits"; lesson 5, "systems that never stop"): the cluster starts the way `neverstop up`
// starts it (the embedded Toxiproxy, a proxy on every link, cluster.json), and every fault goes
// through the function its CLI command calls. Under `partition n1,n2 n3,n4,n5` the minority
// cannot reach three replicas (W=3 through client->n1 answers 503) while the majority still
// writes at W=2 (through client->n3); after `heal`, W=3 succeeds again. Then kill and restart,
// pause and resume, a 200 ms latency toxic, a clock skew, and `reset`.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecord, startCluster, type StartedCluster } from "../../cli/local-cluster.ts";
import { eventually } from "../../cluster/runtime/real/test-support.ts";
import { faultWindows } from "../checkers/history-view.ts";
import type { Operation } from "../harness/history.ts";
import {
  healCommand,
  killCommand,
  latencyCommand,
  nemesisHistoryName,
  openCluster,
  partitionCommand,
  pauseCommand,
  resetCommand,
  restartCommand,
  resumeCommand,
  skewCommand,
} from "../../cli/nemesis-commands.ts";
import { processExists } from "./toxiproxy-process.ts";

let dataDir: string;
let started: StartedCluster;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "neverstop-nemesis-"));
  started = await startCluster({
    nodes: 5,
    sync: "never",
    dataDir,
    detach: false,
    toxiproxy: true,
    toxiproxyPort: 0,
    cluster: { defaults: { timeoutMs: 2_000 } },
    log: () => {},
  });
}, 90_000);

afterAll(async () => {
  await started?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const clientUrl = (node: string) =>
  started.record.nodes.find((entry) => entry.id === node)!.clientUrl!;
const directUrl = (node: string) =>
  started.record.nodes.find((entry) => entry.id === node)!.httpUrl;

let keyCounter = 0;
/** A write through the node's client proxy; the status, or 0 when no answer came in time. */
async function put(node: string, w: number): Promise<number> {
  keyCounter += 1;
  try {
    const response = await fetch(`${clientUrl(node)}/kv/nemesis/key-${keyCounter}?w=${w}`, {
      method: "PUT",
      body: '"v"',
      signal: AbortSignal.timeout(10_000),
    });
    await response.text();
    return response.status;
  } catch {
    return 0;
  }
}

async function timedGet(url: string, timeoutMs = 10_000): Promise<{ status: number; ms: number }> {
  const startedMs = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.text();
    return { status: response.status, ms: performance.now() - startedMs };
  } catch {
    return { status: 0, ms: performance.now() - startedMs };
  }
}

describe("a real 5-node local cluster through the embedded Toxiproxy", () => {
  it("has a proxy on every directed link and every client link", async () => {
    const links = await (await openCluster(dataDir)).backend.links.describe();
    expect(links.map((link) => link.name)).toHaveLength(20 + 5);
    expect(links.every((link) => link.enabled && link.toxics.length === 0)).toBe(true);
    await eventually("W=3 writes through client->n1", 20_000, async () =>
      (await put("n1", 3)) === 204 ? true : undefined,
    );
  });

  it("partition n1,n2 n3,n4,n5: the minority fails W=3 with 503, the majority serves W=2, heal restores W=3", async () => {
    const said = await partitionCommand(dataDir, ["n1,n2", "n3,n4,n5"]);
    expect(said).toBe("partition split n1,n2 | n3,n4,n5 (refuse): 12 link(s) cut");
    const links = await (await openCluster(dataDir)).backend.links.describe();
    expect(links.filter((link) => !link.enabled).map((link) => link.name)).toEqual([
      "n1->n3",
      "n1->n4",
      "n1->n5",
      "n2->n3",
      "n2->n4",
      "n2->n5",
      "n3->n1",
      "n3->n2",
      "n4->n1",
      "n4->n2",
      "n5->n1",
      "n5->n2",
    ]);

    await eventually("the minority to refuse a W=3 write", 10_000, async () =>
      (await put("n1", 3)) === 503 ? true : undefined,
    );
    for (let attempt = 0; attempt < 5; attempt++) expect(await put("n1", 3)).toBe(503);
    for (let attempt = 0; attempt < 5; attempt++) expect(await put("n2", 3)).toBe(503);
    await eventually("the majority to take a W=2 write", 10_000, async () =>
      (await put("n3", 2)) === 204 ? true : undefined,
    );
    for (let attempt = 0; attempt < 5; attempt++) expect(await put("n3", 2)).toBe(204);

    expect(await healCommand(dataDir)).toMatch(/^healed/);
    await eventually("W=3 writes through client->n1 after the heal", 20_000, async () =>
      (await put("n1", 3)) === 204 ? true : undefined,
    );

    const history = readFileSync(join(dataDir, nemesisHistoryName), "utf8")
      .trim()
      .split("\n")
      .map((line, index) => ({ index, ...(JSON.parse(line) as Omit<Operation, "index">) }));
    const windows = faultWindows(history);
    expect(windows.map((window) => window.name)).toEqual(["partition"]);
    expect(windows[0]!.endNs).toBeGreaterThan(windows[0]!.startNs);
  });

  it("kill -9 takes n3's process away, the cluster still writes at W=2, restart brings n3 back", async () => {
    const before = readRecord(dataDir)!.nodes.find((node) => node.id === "n3")!.pid!;
    await killCommand(dataDir, "n3");
    expect(processExists(before)).toBe(false);
    expect((await timedGet(`${directUrl("n3")}/health`, 2_000)).status).toBe(0);
    await eventually("W=2 writes through client->n1 with n3 down", 10_000, async () =>
      (await put("n1", 2)) === 204 ? true : undefined,
    );
    expect(await restartCommand(dataDir, "n3")).toMatch(/^restarted n3 \(pid \d+\)/);
    const after = readRecord(dataDir)!.nodes.find((node) => node.id === "n3")!.pid!;
    expect(after).not.toBe(before);
    expect((await timedGet(`${directUrl("n3")}/health`)).status).toBe(200);
  });

  it("pause freezes n2 (no answer), resume thaws it", async () => {
    await pauseCommand(dataDir, "n2");
    expect((await timedGet(`${directUrl("n2")}/health`, 1_500)).status).toBe(0);
    await resumeCommand(dataDir, "n2");
    expect((await timedGet(`${directUrl("n2")}/health`)).status).toBe(200);
  });

  it("a 200 ms latency toxic on client->n2 makes a request through it slower", async () => {
    const health = `${clientUrl("n2")}/health`;
    await timedGet(health); // a warm connection pool, so the next ones measure the link
    expect(await latencyCommand(dataDir, "client->n2", "200ms")).toBe(
      "latency 200 ms +/- 0 ms on client->n2",
    );
    const slowed = await timedGet(health);
    expect(slowed.status).toBe(200);
    expect(slowed.ms).toBeGreaterThanOrEqual(190);
    expect(await latencyCommand(dataDir, "client->n2", "0")).toBe(
      "latency removed from client->n2",
    );
    const links = await (await openCluster(dataDir)).backend.links.describe();
    expect(links.find((link) => link.name === "client->n2")!.toxics).toEqual([]);
  });

  it("skew moves n4's clock through its admin route, and reset puts everything back", async () => {
    const clock = async () =>
      ((await (await fetch(`${directUrl("n4")}/admin/clock`)).json()) as { skewMs: number }).skewMs;
    expect(await skewCommand(dataDir, "n4", "+30s")).toBe("skew n4 +30000 ms");
    expect(await clock()).toBe(30_000);
    await latencyCommand(dataDir, "n1->n2", "100ms", { jitter: "10ms" });
    await partitionCommand(dataDir, [], { shape: "isolate:n5" });
    await pauseCommand(dataDir, "n1");

    expect(await resetCommand(dataDir)).toMatch(/^reset: /);
    expect(await clock()).toBe(0);
    const links = await (await openCluster(dataDir)).backend.links.describe();
    expect(links.every((link) => link.enabled && link.toxics.length === 0)).toBe(true);
    expect((await timedGet(`${directUrl("n1")}/health`)).status).toBe(200);
  });

  it("bad input and unknown names are one line each", async () => {
    await expect(killCommand(dataDir, "n9")).rejects.toThrow(
      'Expected a node among n1, n2, n3, n4, n5, got "n9"',
    );
    await expect(latencyCommand(dataDir, "n1->n7", "1ms")).rejects.toThrow(/got "n1->n7"/);
    await expect(latencyCommand(dataDir, "n1->n2", "fast")).rejects.toThrow(
      /Expected `latency` to be a duration/,
    );
    await expect(skewCommand(dataDir, "n4", "soon")).rejects.toThrow(/duration/);
    await expect(partitionCommand(dataDir, [], { shape: "isolate:n8" })).rejects.toThrow(/n8/);
    await expect(killCommand(join(dataDir, "nowhere"), "n1")).rejects.toThrow(
      /^no cluster is running from/,
    );
  });
});
