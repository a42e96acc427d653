// `--policies FILE` on `sim`, `test` and `up` (every lab; cluster/core/policies.ts): the same
// learner's file takes effect in the simulator the command runs in its own process and in the
// compiled node processes `up` starts (which load tsx only for it), and a file that is missing
// or broken is one line naming it, exit status 3 for `sim`/`test` (bad input) and 1 for `up`.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { staleBecause } from "../bin/entry.js";
import { parseJsonLines } from "../chaos/harness/history-io.ts";
import { freeBasePort } from "../chaos/nemesis/test-support.ts";
import { portIsFree } from "../cluster/runtime/real/cluster.ts";
import { registerHarnessCommands } from "./harness-commands.ts";

const repositoryRoot = fileURLToPath(new URL("../", import.meta.url));
const cli = join(repositoryRoot, "bin", "neverstop.js");
const oneOwnerFile = join(repositoryRoot, "cluster/runtime/real/test-data/one-owner-policies.ts");
const scratch = mkdtempSync(join(tmpdir(), "neverstop-policies-option-"));
const store = join(scratch, "store");
const dataDir = mkdtempSync(join(scratch, "cluster-"));

/** A lab's file in a folder with no package.json: every write's quorum says no. */
const refuseWritesFile = join(scratch, "refuse-writes.ts");
writeFileSync(
  refuseWritesFile,
  'export const policies = {\n  writeQuorum: () => ({ kind: "unavailable" as const, detail: "lab: writes refused" }),\n};\n',
);
const throwsAtLoadFile = join(scratch, "throws-at-load.ts");
writeFileSync(
  throwsAtLoadFile,
  "function buildClaim(): never {\n  throw new Error('not written yet');\n}\nexport const policies = { claim: buildClaim() };\n",
);

beforeAll(() => {
  // `up` below runs the compiled command line, as a learner's does after `npm install`.
  if (staleBecause() !== undefined)
    execFileSync(process.execPath, [join(repositoryRoot, "scripts", "build.js")], {
      stdio: "ignore",
    });
}, 120_000);

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

afterAll(async () => {
  await run([cli, "down", "--data-dir", dataDir]);
  rmSync(scratch, { recursive: true, force: true });
});

async function neverstopInProcess(
  ...args: string[]
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void stdout.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void stderr.push(String(line)));
  const program = new Command();
  registerHarnessCommands(program);
  await program.parseAsync([...args, "--store", store], { from: "user" });
  const exitCode = Number(process.exitCode ?? 0);
  vi.restoreAllMocks();
  return { exitCode, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Completed writes of a stored run, by outcome. */
function writeOutcomes(folder: string): Record<string, number> {
  const history = parseJsonLines(readFileSync(join(folder, "history.jsonl"), "utf8"));
  const counts: Record<string, number> = {};
  for (const operation of history.operations)
    if (operation.f === "write" && operation.type !== "invoke")
      counts[operation.type] = (counts[operation.type] ?? 0) + 1;
  return counts;
}

describe("sim --policies", () => {
  const simArgs = ["sim", "--workload", "register", "--seed", "5", "--time", "3s", "--json"];

  it("runs the learner's write quorum: with the file no write succeeds, without it they do", async () => {
    const withFile = await neverstopInProcess(...simArgs, "--policies", refuseWritesFile);
    expect(withFile.stderr).toBe("");
    expect(withFile.exitCode).toBe(0);
    const refused = writeOutcomes((JSON.parse(withFile.stdout) as { folder: string }).folder);
    expect(refused["ok"]).toBeUndefined();
    expect((refused["fail"] ?? 0) + (refused["info"] ?? 0)).toBeGreaterThan(0);

    const without = await neverstopInProcess(...simArgs);
    const reference = writeOutcomes((JSON.parse(without.stdout) as { folder: string }).folder);
    expect(reference["ok"]).toBeGreaterThan(0);
  });

  it("says in one line, exit 3, that the file is missing or broken", async () => {
    const missing = await neverstopInProcess(...simArgs, "--policies", join(scratch, "nowhere.ts"));
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toBe(
      `neverstop: Expected \`--policies\` to name a module file, got ${join(scratch, "nowhere.ts")} (no such file)`,
    );
    const broken = await neverstopInProcess(...simArgs, "--policies", throwsAtLoadFile);
    expect(broken.exitCode).toBe(3);
    expect(broken.stderr.split("\n")).toHaveLength(1);
    expect(broken.stderr).toContain(throwsAtLoadFile);
    expect(broken.stderr).toContain("not written yet");
    expect(broken.stderr).toContain("buildClaim");
  });
});

describe("test --backend local --policies", () => {
  it("every local node loads the file: no write succeeds", async () => {
    const run = await neverstopInProcess(
      ...["test", "register", "--backend", "local", "--nodes", "3", "--seed", "2"],
      ...["--time", "2s", "--concurrency", "2", "--json", "--policies", refuseWritesFile],
    );
    expect(run.stderr).toBe("");
    const summary = JSON.parse(run.stdout) as { folder: string; replayCommand: string };
    const refused = writeOutcomes(summary.folder);
    expect(refused["ok"]).toBeUndefined();
    expect((refused["fail"] ?? 0) + (refused["info"] ?? 0)).toBeGreaterThan(0);
    // The replay command carries the file, so a failure replays with the same policies.
    expect(summary.replayCommand).toContain(`--policies ${refuseWritesFile}`);
  }, 120_000);
});

describe("up --policies", () => {
  it("starts compiled nodes that run the file's claim: GET /ring shows every partition on n1", async () => {
    const base = await freeBasePort(2);
    const up = await run([
      cli,
      ...["up", "--nodes", "2", "--spare-nodes", "0", "--no-toxiproxy", "--detach"],
      ...["--base-port", String(base), "--data-dir", dataDir, "--policies", oneOwnerFile],
    ]);
    expect(up.stderr.split("\n").filter((line) => line.startsWith("neverstop:"))).toEqual([]);
    expect(up.code).toBe(0);
    const config = JSON.parse(readFileSync(join(dataDir, "n2", "config.json"), "utf8"));
    expect(config.policies).toBe(oneOwnerFile);
    // The nodes run the compiled bundle, which loads tsx only for this .ts file.
    const record = JSON.parse(readFileSync(join(dataDir, "cluster.json"), "utf8")) as {
      nodes: { pid: number }[];
    };
    for (const { pid } of record.nodes)
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("dist/node-main.js");
    const ring = (await (await fetch(`http://127.0.0.1:${base + 2}/ring`)).json()) as {
      owners: string[];
    };
    expect(ring.owners.length).toBeGreaterThan(0);
    expect(new Set(ring.owners)).toEqual(new Set(["n1"]));
    const down = await run([cli, "down", "--data-dir", dataDir]);
    expect(down.code).toBe(0);
  });

  it("refuses a broken file in one line, exit 1, before any node starts", async () => {
    const base = await freeBasePort(2);
    const up = await run([
      cli,
      ...["up", "--nodes", "2", "--spare-nodes", "0", "--no-toxiproxy", "--detach"],
      ...["--base-port", String(base), "--data-dir", dataDir, "--policies", throwsAtLoadFile],
    ]);
    expect(up.code).toBe(1);
    const lines = up.stderr.split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^neverstop: .*throws-at-load\.ts.*not written yet/);
    expect(await portIsFree(base + 1)).toBe(true);
  });
});
