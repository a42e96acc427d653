// Tests of the dashboard's server (lesson 10): on a real local cluster (real processes, a real
// Toxiproxy, free ports), the API shows the cluster, refuses requests from any other origin or
// host, and a partition and a heal posted from the dashboard's own origin go through the CLI's
// nemesis functions into the cluster's nemesis.jsonl.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordedCluster } from "../../cli/dashboard.ts";
import { startCluster, type StartedCluster } from "../../cli/local-cluster.ts";
import { startDashboard, sumMetric, type Dashboard } from "./dashboard.ts";

let dataDir: string;
let started: StartedCluster;
let dashboard: Dashboard;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "neverstop-dashboard-"));
  const site = join(dataDir, "site");
  mkdirSync(site);
  writeFileSync(join(site, "dashboard.html"), "<!doctype html><title>dashboard</title>");
  started = await startCluster({
    nodes: 3,
    sync: "never",
    dataDir,
    detach: false,
    toxiproxy: true,
    toxiproxyPort: 0,
    log: () => {},
  });
  dashboard = await startDashboard({
    cluster: recordedCluster(dataDir),
    siteDirectory: site,
    sampleIntervalMs: 200,
  });
}, 90_000);

afterAll(async () => {
  await dashboard?.stop();
  await started?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const nemesisLog = () => readFileSync(join(dataDir, "nemesis.jsonl"), "utf8");

function post(body: unknown, origin: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (origin !== undefined) headers["origin"] = origin;
  return fetch(`${dashboard.origin}/api/nemesis`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
}

describe("the dashboard's server", () => {
  it("listens on 127.0.0.1, serves the page and shows the cluster and its ring", async () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard\.html$/);
    expect(await (await fetch(dashboard.url)).text()).toContain("<title>dashboard</title>");
    const cluster = (await (await fetch(`${dashboard.origin}/api/cluster`)).json()) as {
      nodes: { id: string }[];
      toxiproxy: boolean;
    };
    expect(cluster.nodes.map((node) => node.id)).toEqual(["n1", "n2", "n3"]);
    expect(cluster.toxiproxy).toBe(true);
    const ring = (await (await fetch(`${dashboard.origin}/api/ring`)).json()) as {
      owners: string[];
    };
    expect(new Set(ring.owners)).toEqual(new Set(["n1", "n2", "n3"]));
  });

  it("refuses another origin, a POST without an origin, and another Host", async () => {
    const before = (() => {
      try {
        return nemesisLog();
      } catch {
        return "";
      }
    })();
    const foreign = await post({ action: "heal" }, "http://evil.example");
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { detail: string }).detail).toContain(
      "is not the dashboard's own",
    );
    expect(
      (
        await fetch(`${dashboard.origin}/api/cluster`, {
          headers: { origin: "http://evil.example" },
        })
      ).status,
    ).toBe(403);
    expect((await post({ action: "heal" }, undefined)).status).toBe(403);
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host.
    const { request } = await import("node:http");
    const status = await new Promise<number>((done) => {
      const port = new URL(dashboard.origin).port;
      request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/cluster",
          headers: { host: `attacker.example:${port}` },
        },
        (response) => {
          response.resume();
          done(response.statusCode ?? 0);
        },
      ).end();
    });
    expect(status).toBe(421);
    const after = (() => {
      try {
        return nemesisLog();
      } catch {
        return "";
      }
    })();
    expect(after).toBe(before);
  });

  it("injects and heals a partition from its own origin, recorded in the cluster's nemesis log", async () => {
    const cut = await post({ action: "partition", groups: "n1|n2,n3" }, dashboard.origin);
    expect(cut.status).toBe(200);
    expect(((await cut.json()) as { line: string }).line).toMatch(/link\(s\) cut/);
    const healed = await post({ action: "heal" }, dashboard.origin);
    expect(healed.status).toBe(200);
    const entries = nemesisLog()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { f: string; type: string });
    const fs = entries.map((entry) => entry.f);
    expect(fs).toContain("start-partition");
    expect(fs.indexOf("stop-partition")).toBeGreaterThan(fs.indexOf("start-partition"));
    const history = (await (await fetch(`${dashboard.origin}/api/nemesis`)).json()) as {
      f: string;
    }[];
    expect(history.map((entry) => entry.f)).toEqual(fs);
    const bad = await post({ action: "explode" }, dashboard.origin);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toContain("Expected `action` among");
  });

  it("samples each node's requests and alarms over time", async () => {
    await fetch(`${started.record.nodes[0]!.httpUrl}/kv/dashboard/one`, {
      method: "PUT",
      body: '"x"',
    });
    // Samples come once a second: poll (bounded) until one shows the write, instead of guessing
    // how long a loaded machine takes.
    type Sample = { nodes: { id: string; up: boolean; requestsOk: number }[] };
    let samples: Sample[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      samples = (await (await fetch(`${dashboard.origin}/api/series`)).json()) as Sample[];
      const last = samples.at(-1);
      if (samples.length > 1 && last !== undefined && last.nodes[0]!.requestsOk > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(samples.length).toBeGreaterThan(1);
    const last = samples.at(-1)!;
    expect(last.nodes.map((node) => node.up)).toEqual([true, true, true]);
    expect(last.nodes[0]!.requestsOk).toBeGreaterThan(0);
    expect(
      sumMetric('a_total{x="1"} 2\na_total{x="2"} 3\nab_total 9\n', "a_total", () => true),
    ).toBe(5);
  });
});
