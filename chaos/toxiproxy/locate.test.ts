// Choosing a Toxiproxy, and the `neverstop toxiproxy` command (lesson 3, network splits: the
// lab must say which fault injector it talks to, and start one when none exists).

import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { findOnPath, locateToxiproxy } from "./locate.ts";
import { startToxiproxyServer } from "./server.ts";

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const serverModule = path.join(repositoryRoot, "chaos/toxiproxy/server.ts");
const commandModule = path.join(repositoryRoot, "cli/toxiproxy-command.ts");
const temporary = mkdtempSync(path.join(tmpdir(), "neverstop-locate-"));

afterAll(() => rmSync(temporary, { recursive: true, force: true }));

async function version(url: string): Promise<number> {
  return (await fetch(`${url}/version`)).status;
}

/** A stand-in `toxiproxy-server` that takes upstream's -host/-port flags. */
function writeFakeBinary(directory: string): void {
  const script = [
    "const flag = (name) => process.argv[process.argv.indexOf(name) + 1];",
    `const { startToxiproxyServer } = await import(${JSON.stringify(serverModule)});`,
    "await startToxiproxyServer({ host: flag('-host'), port: Number(flag('-port')) });",
  ].join(" ");
  const file = path.join(directory, "toxiproxy-server");
  const body = `#!/bin/sh\ncd ${JSON.stringify(repositoryRoot)} && exec ${JSON.stringify(process.execPath)} --import tsx --input-type=module -e ${JSON.stringify(script)} -- "$@"\n`;
  writeFileSync(file, body);
  chmodSync(file, 0o755);
}

describe("locateToxiproxy", () => {
  it("uses the embedded server when there is no TOXIPROXY_URL and no binary, and says so", async () => {
    const lines: string[] = [];
    const located = await locateToxiproxy({ env: { PATH: "" }, log: (line) => lines.push(line) });
    try {
      expect(located.kind).toBe("embedded");
      expect(await version(located.url)).toBe(200);
      expect(lines).toEqual([
        `toxiproxy: using the embedded Toxiproxy-compatible server at ${located.url}`,
      ]);
    } finally {
      await located.stop();
    }
    await expect(fetch(`${located.url}/version`)).rejects.toThrow();
  });

  it("uses TOXIPROXY_URL when set, and leaves that server running on stop", async () => {
    const external = await startToxiproxyServer({ port: 0 });
    try {
      const located = await locateToxiproxy({
        env: { TOXIPROXY_URL: `${external.url}/` },
        log: () => {},
      });
      expect(located).toMatchObject({ kind: "external", url: external.url });
      await located.stop();
      expect(await version(external.url)).toBe(200);
    } finally {
      await external.close();
    }
  });

  it("refuses a TOXIPROXY_URL off loopback or with nothing behind it, in one line", async () => {
    await expect(
      locateToxiproxy({ env: { TOXIPROXY_URL: "http://10.1.2.3:8474" }, log: () => {} }),
    ).rejects.toThrow(/loopback/);
    await expect(
      locateToxiproxy({ env: { TOXIPROXY_URL: "not a url" }, log: () => {} }),
    ).rejects.toThrow(/URL/);
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(
      locateToxiproxy({ env: { TOXIPROXY_URL: `http://127.0.0.1:${port}` }, log: () => {} }),
    ).rejects.toThrow(/GET \/version/);
  });

  it("spawns toxiproxy-server from PATH on loopback and stops it", async () => {
    const directory = mkdtempSync(path.join(temporary, "bin-"));
    writeFakeBinary(directory);
    expect(findOnPath("toxiproxy-server", `/nonexistent${path.delimiter}${directory}`)).toBe(
      path.join(directory, "toxiproxy-server"),
    );
    const located = await locateToxiproxy({ env: { PATH: directory }, log: () => {} });
    expect(located.kind).toBe("binary");
    expect(located.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await version(located.url)).toBe(200);
    await located.stop();
    await expect(fetch(`${located.url}/version`)).rejects.toThrow();
  });
});

/** Runs `neverstop toxiproxy ARGS` through commander in a child process. */
function runCommand(args: string[]): {
  exit: Promise<number | null>;
  firstLine: Promise<string>;
  stderr: () => string;
  kill: () => void;
} {
  const script = [
    "const { Command } = await import('commander');",
    `const { registerToxiproxyCommand } = await import(${JSON.stringify(commandModule)});`,
    "const program = new Command('neverstop');",
    "registerToxiproxyCommand(program);",
    `await program.parseAsync(${JSON.stringify(args)}, { from: 'user' });`,
  ].join(" ");
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: repositoryRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const firstLine = new Promise<string>((resolve) => {
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("\n")) resolve(stdout.split("\n")[0]!);
    });
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { exit, firstLine, stderr: () => stderr, kill: () => child.kill("SIGTERM") };
}

describe("neverstop toxiproxy", () => {
  it("prints its URL on one line, serves the API, and stops cleanly on SIGTERM", async () => {
    const run = runCommand(["toxiproxy", "--port", "0"]);
    const line = await run.firstLine;
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
    expect(url, line).toBeDefined();
    expect(await version(url!)).toBe(200);
    run.kill();
    expect(await run.exit).toBe(0);
  });

  it("proxies to remote upstreams only with --allow-remote-upstreams", async () => {
    const createFar = (url: string) =>
      fetch(`${url}/proxies`, {
        method: "POST",
        body: JSON.stringify({ name: "far", listen: "127.0.0.1:0", upstream: "somehost:12345" }),
      });
    for (const [flags, status] of [
      [["--allow-remote-upstreams"], 201],
      [[], 400],
    ] as const) {
      const run = runCommand(["toxiproxy", "--port", "0", ...flags]);
      const line = await run.firstLine;
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      expect(url, line).toBeDefined();
      expect((await createFar(url!)).status).toBe(status);
      run.kill();
      expect(await run.exit).toBe(0);
    }
  });

  it("exits 1 with one line when the port is in use", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = runCommand(["toxiproxy", "--port", String(port)]);
      expect(await run.exit).toBe(1);
      expect(run.stderr().trim().split("\n")).toHaveLength(1);
      expect(run.stderr()).toContain("in use");
    } finally {
      blocker.close();
    }
  });

  it("rejects a bad port", async () => {
    const run = runCommand(["toxiproxy", "--port", "http"]);
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toContain("Expected a port");
  });
});
