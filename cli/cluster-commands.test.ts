// The cluster lifecycle from the command line (lesson 5): `up --detach`, `status --json` and
// `down` work on real processes, and the failures a learner meets first (a port in use, a missing
// data folder, a corrupt data file) each give one line and a non-zero exit, never a stack trace.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freeBasePort } from "../chaos/nemesis/test-support.ts";

const cli = new URL("../bin/neverstop.js", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "neverstop-cli-"));

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

describe("neverstop up, status, down", () => {
  it("starts a detached cluster, reports it, refuses a corrupt data file and stops it", async () => {
    const base = await freeBasePort(2);
    const up = await neverstop(
      "up",
      "--nodes",
      "2",
      "--base-port",
      String(base),
      "--detach",
      "--data-dir",
      dataDir,
    );
    expect(up.stderr.split("\n").filter((line) => line.startsWith("neverstop:"))).toEqual([]);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`http://127.0.0.1:${base + 1}`);
    expect(up.stdout).toContain(`http://127.0.0.1:${base + 2}`);

    const status = await neverstop("status", "--json", "--data-dir", dataDir);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as {
      nodes: { id: string; httpUrl: string; pid: number; healthy: boolean }[];
    };
    expect(report.nodes.map((node) => [node.id, node.httpUrl, node.healthy])).toEqual([
      ["n1", `http://127.0.0.1:${base + 1}`, true],
      ["n2", `http://127.0.0.1:${base + 2}`, true],
    ]);
    for (let index = 0; index < 10; index++) {
      const put = await fetch(`http://127.0.0.1:${base + 1}/kv/cli/k${index}`, {
        method: "PUT",
        body: '"v"',
      });
      expect(put.status).toBe(204);
    }

    const again = await neverstop(
      "up",
      "--nodes",
      "2",
      "--base-port",
      String(base),
      "--detach",
      "--data-dir",
      dataDir,
    );
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split("\n").at(-1)).toMatch(
      /^neverstop: a cluster is already running/,
    );

    const down = await neverstop("down", "--data-dir", dataDir);
    expect(down.code).toBe(0);
    for (const node of report.nodes) expect(() => process.kill(node.pid, 0)).toThrow();
    const after = await neverstop("status", "--data-dir", dataDir);
    expect(after.code).toBe(1);

    // Damage the first record's key in n2's data file (later records follow it, so this is not a
    // torn tail): the node must refuse to start, in one line.
    const folder = join(dataDir, "n2", "data");
    const file = join(
      folder,
      readdirSync(folder).find((name) => name.endsWith(".data"))!,
    );
    const bytes = readFileSync(file);
    bytes[14] = bytes[14]! ^ 0xff;
    writeFileSync(file, bytes);
    const corrupt = await neverstop(
      "up",
      "--nodes",
      "2",
      "--base-port",
      String(base),
      "--detach",
      "--data-dir",
      dataDir,
    );
    expect(corrupt.code).toBe(1);
    const lines = corrupt.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^neverstop: node n2: cannot open the store .*Corrupt data file/);
    expect(corrupt.stderr).not.toMatch(/^\s+at /m);
  });

  it("says in one line that a port is in use or the data folder is missing", async () => {
    const base = await freeBasePort(2);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(base + 1002, "127.0.0.1", resolve));
    try {
      const busy = await neverstop(
        "up",
        "--nodes",
        "2",
        "--base-port",
        String(base),
        "--data-dir",
        dataDir,
      );
      expect(busy.code).toBe(1);
      expect(busy.stderr.trim()).toBe(
        `neverstop: port ${base + 1002} (peer of n2) on 127.0.0.1 is already in use: stop what uses it or pick another --base-port`,
      );
    } finally {
      blocker.close();
    }
    const missing = await neverstop("up", "--data-dir", join(dataDir, "does-not-exist"));
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(
      /^neverstop: the data folder .*does-not-exist does not exist/,
    );
    const usage = await neverstop("up", "--nodes", "many");
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/Expected an integer/);
  });
});
