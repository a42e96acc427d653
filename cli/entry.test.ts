// The command line's entry (issue 9, "fast start"): bin/neverstop.js runs the compiled bundle
// that scripts/build.js makes, its stack traces still name the .ts files, it falls back to the
// sources when the build is missing or stale, and a module that fails to load stops the
// command line with its own error instead of becoming a placeholder command.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { chooseEntry, staleBecause } from "../bin/entry.js";

const repositoryRoot = fileURLToPath(new URL("../", import.meta.url));
const cli = join(repositoryRoot, "bin", "neverstop.js");
const temporary = mkdtempSync(join(tmpdir(), "neverstop-entry-"));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  // Build only when needed: other test files may be running the current build right now.
  if (staleBecause() !== undefined)
    execFileSync(process.execPath, [join(repositoryRoot, "scripts", "build.js")], {
      stdio: "ignore",
    });
}, 120_000);

afterAll(() => rmSync(temporary, { recursive: true, force: true }));

describe("bin/neverstop.js", () => {
  it("runs the compiled command line, whose --help lists every command", async () => {
    expect(chooseEntry()).toMatchObject({ kind: "compiled", reason: "" });
    const help = await run([cli, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe("");
    for (const command of ["up", "down", "status", "check", "toxiproxy", "sim", "test"])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    for (const command of ["partition", "heal", "kill", "skew", "reset", "join", "leave"])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    // The same program as the bundle run directly, so bin did not fall back to the sources.
    const bundle = await run([join(repositoryRoot, "dist", "cli.js"), "--help"]);
    expect(help.stdout).toBe(bundle.stdout);
  });

  it("maps a compiled node's stack trace back to the .ts files", async () => {
    const script = [
      `const { startNode } = await import(${JSON.stringify(join(repositoryRoot, "dist", "node-main.js"))});`,
      "try { await startNode(undefined); } catch (error) { console.log(error.stack); }",
    ].join("\n");
    const traced = await run(["--enable-source-maps", "--input-type=module", "-e", script]);
    expect(traced.code).toBe(0);
    const frames = traced.stdout.split("\n").filter((line) => line.trim().startsWith("at "));
    expect(frames[0]).toMatch(/cluster\/runtime\/real\/[a-z-]+\.ts:\d+:\d+/);
    expect(traced.stdout).not.toContain("dist/node-main.js");
  });

  it("stops with the load error itself, not a placeholder command", async () => {
    // A package that cannot load, as on a machine where an install went wrong.
    const hook = join(temporary, "break-toxiproxy-client.mjs");
    writeFileSync(
      hook,
      [
        'import { register } from "node:module";',
        "register(`data:text/javascript,export async function resolve(specifier, context, next) {",
        "  if (specifier === 'toxiproxy-node-client') throw new Error('simulated: toxiproxy-node-client cannot load');",
        "  return next(specifier, context);",
        "}`);",
      ].join("\n"),
    );
    const broken = await run(["--import", hook, cli, "--help"]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain("simulated: toxiproxy-node-client cannot load");
    expect(broken.stdout).not.toContain("Usage: neverstop");
    expect(broken.stdout + broken.stderr).not.toContain("not available");
  });
});

describe("chooseEntry", () => {
  /** A checkout in miniature: one source file and a build record of it. */
  function miniatureCheckout(): string {
    const root = mkdtempSync(join(temporary, "checkout-")) + "/";
    mkdirSync(join(root, "cli"));
    mkdirSync(join(root, "dist"));
    writeFileSync(join(root, "cli", "main.ts"), "export {};\n");
    writeFileSync(join(root, "dist", "cli.js"), "export {};\n");
    writeFileSync(
      join(root, "dist", "build-info.json"),
      JSON.stringify({ outputs: ["dist/cli.js"], inputs: ["cli/main.ts"] }),
    );
    const builtAt = new Date(Date.now() - 1_000);
    utimesSync(join(root, "cli", "main.ts"), builtAt, new Date(builtAt.getTime() - 60_000));
    utimesSync(join(root, "dist", "build-info.json"), builtAt, builtAt);
    return root;
  }

  it("runs the build while it is current, the sources once a file changed since", () => {
    const root = miniatureCheckout();
    expect(chooseEntry("cli", root)).toMatchObject({ kind: "compiled" });
    utimesSync(join(root, "cli", "main.ts"), new Date(), new Date());
    expect(chooseEntry("cli", root)).toMatchObject({
      kind: "source",
      reason: "cli/main.ts changed since the build",
    });
  });

  it("runs the sources without a build, or when a bundle is gone", () => {
    const root = miniatureCheckout();
    rmSync(join(root, "dist", "cli.js"));
    expect(chooseEntry("cli", root)).toMatchObject({
      kind: "source",
      reason: "dist/cli.js is missing",
    });
    rmSync(join(root, "dist"), { recursive: true });
    expect(chooseEntry("cli", root).kind).toBe("source");
  });
});

describe("cli/program.ts", () => {
  it("fails to load when one command module fails to load", async () => {
    vi.resetModules();
    vi.doMock("./nemesis-commands.ts", () => {
      throw new Error("simulated: nemesis-commands.ts cannot load");
    });
    const failure = await import("./program.ts").then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: Error },
    );
    // vitest wraps a throwing mock factory's error; the original rides along as the cause.
    expect(failure).toBeInstanceOf(Error);
    expect(`${failure!.message} ${failure!.cause?.message}`).toContain(
      "simulated: nemesis-commands.ts cannot load",
    );
    vi.doUnmock("./nemesis-commands.ts");
  });
});
