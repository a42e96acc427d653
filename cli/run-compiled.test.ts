// scripts/run-compiled.js (issue 13): benchmarks run compiled, as users run neverstop's code. The
// program runs with its arguments and NEVERSTOP_PROGRAM=compiled, its exit status is passed on,
// its bundle is removed afterwards, and a wrong path is one line and status 2.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repositoryRoot = fileURLToPath(new URL("../", import.meta.url));
const script = join(repositoryRoot, "scripts", "run-compiled.js");
const cache = join(repositoryRoot, "node_modules", ".cache", "neverstop");
const temporary = mkdtempSync(join(tmpdir(), "neverstop-run-compiled-"));

afterAll(() => rmSync(temporary, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The run folders left in the cache (each run makes one named after its pid). */
function bundlesLeft(): string[] {
  return existsSync(cache) ? readdirSync(cache).filter((name) => name.startsWith("run-")) : [];
}

describe("run-compiled", () => {
  it("runs a TypeScript program compiled, with its arguments, and passes its status on", async () => {
    const program = join(temporary, "program.ts");
    writeFileSync(
      program,
      [
        "const args: string[] = process.argv.slice(2);",
        'console.log(`${process.env["NEVERSTOP_PROGRAM"]} ${args.join(",")}`);',
        "process.exit(Number(args[0]));",
      ].join("\n"),
    );
    const before = bundlesLeft();
    const result = await run([program, "3", "b"]);
    expect(result).toMatchObject({ code: 3, stdout: "compiled 3,b\n" });
    expect(bundlesLeft()).toEqual(before);
  });

  it("says in one line what is wrong with a path, with status 2", async () => {
    const missing = await run([join(temporary, "missing.ts")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("no such file");
    const notTypeScript = await run([join(temporary, "program.js")]);
    expect(notTypeScript.code).toBe(2);
    expect(notTypeScript.stderr).toMatch(/^usage: /);
  });
});
