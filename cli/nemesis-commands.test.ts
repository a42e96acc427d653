// The fault commands as a learner types them (lesson 3, "network splits"): `up --detach` leaves
// the nodes and a detached Toxiproxy running, `partition` and `heal` go through the real binary
// against that cluster, `down` stops the Toxiproxy too; and every mistake (an unknown node, a
// bad duration, no cluster at all) is one line on stderr and a non-zero exit.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freeBasePort } from "../chaos/nemesis/test-support.ts";
import { processExists } from "../chaos/nemesis/toxiproxy-process.ts";
import type { ClusterRecord } from "./local-cluster.ts";

const cli = new URL("../bin/neverstop.js", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "neverstop-faults-cli-"));

function neverstop(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

afterAll(async () => {
  await neverstop("down", "--data-dir", dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

describe("neverstop partition | heal against a detached cluster", () => {
  it("up --detach keeps Toxiproxy running, the faults reach it, down stops it", async () => {
    const base = await freeBasePort(3);
    const up = await neverstop(
      "up",
      "--nodes",
      "3",
      "--base-port",
      String(base),
      "--sync",
      "never",
      "--detach",
      "--data-dir",
      dataDir,
    );
    expect(up.stderr.split("\n").filter((line) => line.startsWith("neverstop:"))).toEqual([]);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`toxiproxy  http://127.0.0.1:${base + 394}  (embedded)`);
    expect(up.stdout).toContain(
      `n3  http://127.0.0.1:${base + 3}  via proxy http://127.0.0.1:${base + 2003}`,
    );
    const record = JSON.parse(readFileSync(join(dataDir, "cluster.json"), "utf8")) as ClusterRecord;
    const toxiproxyPid = record.toxiproxy!.pid!;
    expect(processExists(toxiproxyPid)).toBe(true);
    const proxies = (await (await fetch(`${record.toxiproxy!.url}/proxies`)).json()) as Record<
      string,
      { listen: string; upstream: string }
    >;
    expect(proxies["n1->n3"]).toMatchObject({
      listen: `127.0.0.1:${base + 3000 + 103}`,
      upstream: `127.0.0.1:${base + 1003}`,
    });
    expect(proxies["client->n2"]).toMatchObject({
      listen: `127.0.0.1:${base + 2002}`,
      upstream: `127.0.0.1:${base + 2}`,
    });

    const split = await neverstop("partition", "n1", "n2,n3", "--data-dir", dataDir);
    expect(split.stderr).toBe("");
    expect(split.stdout.trim()).toBe("partition split n1 | n2,n3 (refuse): 4 link(s) cut");
    const cut = (await (await fetch(`${record.toxiproxy!.url}/proxies/n2->n1`)).json()) as {
      enabled: boolean;
    };
    expect(cut.enabled).toBe(false);
    const heal = await neverstop("heal", "--data-dir", dataDir);
    expect(heal.code).toBe(0);
    const healed = (await (await fetch(`${record.toxiproxy!.url}/proxies/n2->n1`)).json()) as {
      enabled: boolean;
    };
    expect(healed.enabled).toBe(true);

    const skew = await neverstop("skew", "n2", "-500ms", "--data-dir", dataDir);
    expect(skew.stdout.trim()).toBe("skew n2 -500 ms");

    const down = await neverstop("down", "--data-dir", dataDir);
    expect(down.stdout.trim()).toBe("stopped 3 process(es) and its Toxiproxy");
    expect(processExists(toxiproxyPid)).toBe(false);
  });

  it("mistakes are one line and exit 1", async () => {
    const nowhere = join(dataDir, "nowhere");
    for (const args of [
      ["kill", "n3"],
      ["partition", "n1,n2", "n3"],
      ["latency", "n1->n2", "200ms"],
      ["reset"],
    ]) {
      const run = await neverstop(...args, "--data-dir", nowhere);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr.trim()).toBe(
        `neverstop: no cluster is running from ${nowhere} (start one with \`npx neverstop up --detach\`)`,
      );
    }
    const missing = await neverstop("latency", "n1->n2", "--data-dir", nowhere);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")[0]).toMatch(/missing required argument 'latency'/);
  });
});
