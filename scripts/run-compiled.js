#!/usr/bin/env node
// Runs one TypeScript program compiled, the way users run neverstop's code: `neverstop sim` runs
// dist/cli.js and the course site runs a Vite bundle, neither of which goes through tsx. A
// benchmark run through tsx measures tsx too: it keeps every function's name by calling a helper
// each time a named closure or class is made, which is a cost on the hot path that no user pays
// (issue 13's notes). `npm run bench:sim` runs bench-sim.ts this way.
//
//   node scripts/run-compiled.js cluster/runtime/sim/bench-sim.ts [args...]
//
// The program is bundled with esbuild into node_modules/.cache/neverstop/ (inside the checkout,
// so that packages the bundle leaves outside still resolve from node_modules), run with this
// Node and these arguments, and the bundle is removed when it exits. The child learns how it runs
// from NEVERSTOP_PROGRAM=compiled, and its exit status is this script's. Plain JavaScript: it
// runs before anything can transpile TypeScript.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repositoryRoot = fileURLToPath(new URL("../", import.meta.url));
const [file, ...args] = process.argv.slice(2);

if (file === undefined || !file.endsWith(".ts")) {
  console.error("usage: node scripts/run-compiled.js FILE.ts [args...]");
  process.exit(2);
}
const source = resolve(file);
if (!existsSync(source)) {
  console.error(`run-compiled: no such file: ${file}`);
  process.exit(2);
}

const folder = join(repositoryRoot, "node_modules", ".cache", "neverstop", `run-${process.pid}`);
const outfile = join(folder, `${basename(source, ".ts")}.mjs`);
mkdirSync(folder, { recursive: true });
const removeBundle = () => rmSync(folder, { recursive: true, force: true });

try {
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
} catch {
  // esbuild has printed what it could not compile, one line per error.
  removeBundle();
  process.exit(2);
}

const child = spawn(process.execPath, [outfile, ...args], {
  stdio: "inherit",
  env: { ...process.env, NEVERSTOP_PROGRAM: "compiled" },
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  removeBundle();
  // A child killed by a signal exits the way a shell reports it: 128 + the signal's number.
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
