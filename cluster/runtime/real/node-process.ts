// A node as an operating-system process (lesson 5, "systems that never stop": a node is a
// process that can be killed and started again): the one command line that starts a node, and
// the one test that tells a recorded process id still belongs to a node.
//
// The same sources run two ways. `npm install` compiles them with scripts/build.js into dist/
// (one bundle per program, with source maps), which is what `npx neverstop` runs: it starts in
// a tenth of the time tsx needs to transpile every file again. Tests and a checkout without a
// build run the TypeScript through tsx. A process started from compiled code starts its nodes
// compiled, and one started from the sources starts them from the sources, so a test never
// runs a stale build:
//
//   compiled   node --enable-source-maps dist/node-main.js --config <node>/config.json
//   sources    node bin/run-ts.js cluster/runtime/real/node-main.ts --config <node>/config.json
//
// NEVERSTOP_NODE_CPU_PROF_DIR=/tmp/prof adds `--cpu-prof --cpu-prof-dir=/tmp/prof` (Node refuses
// --cpu-prof in NODE_OPTIONS): each node writes a V8 CPU profile there when it stops cleanly.
// That is how the benchmarks' profiles in issue 13's notes were taken. NEVERSTOP_NODE_FLAGS adds
// other flags the same way (say `--trace-gc`, or V8 flags NODE_OPTIONS refuses), and
// NEVERSTOP_NODE_PROGRAM=compiled|sources chooses how the nodes run (see nodesRunCompiled).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Replaced by `true` when scripts/build.js bundles this module; undeclared under tsx. */
declare const NEVERSTOP_COMPILED: boolean | undefined;

/** Whether this code runs from the compiled bundle in dist/ rather than from the sources. */
export const runningCompiled = typeof NEVERSTOP_COMPILED !== "undefined" && NEVERSTOP_COMPILED;

/** The checkout's root (the bundle keeps each module's own location, see scripts/build.js). */
export const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** Every node's command line contains this: how `down` and the nemeses recognise one. */
const nodeProgramMarker = "node-main.";

/** The program and arguments that start one node from its configuration file. */
export function nodeProcessCommand(configPath: string): { command: string; args: string[] } {
  const args = nodesRunCompiled()
    ? ["--enable-source-maps", join(repositoryRoot, "dist", "node-main.js")]
    : [
        join(repositoryRoot, "bin", "run-ts.js"),
        join(repositoryRoot, "cluster", "runtime", "real", "node-main.ts"),
      ];
  const profileDir = process.env["NEVERSTOP_NODE_CPU_PROF_DIR"];
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const extra = (process.env["NEVERSTOP_NODE_FLAGS"] ?? "")
    .split(" ")
    .filter((flag) => flag !== "");
  return {
    command: process.execPath,
    args: [...profile, ...extra, ...args, "--config", configPath],
  };
}

/**
 * Whether nodes start from dist/: as the process starting them runs, unless
 * NEVERSTOP_NODE_PROGRAM says `compiled` or `sources`. The benchmarks run from the sources but
 * measure compiled nodes, which is what `npx neverstop up` runs: tsx keeps every function's name
 * by calling a helper each time one is made, a cost per closure on a node's hot path that the
 * compiled build does not have. A benchmark builds dist/ first (its npm script), so the nodes it
 * measures are the sources it was started from.
 */
function nodesRunCompiled(): boolean {
  const program = process.env["NEVERSTOP_NODE_PROGRAM"];
  if (program === undefined || program === "") return runningCompiled;
  if (program !== "compiled" && program !== "sources") {
    throw new Error(`Expected NEVERSTOP_NODE_PROGRAM to be compiled or sources, got ${program}`);
  }
  if (program === "compiled" && !existsSync(join(repositoryRoot, "dist", "node-main.js"))) {
    throw new Error(
      "NEVERSTOP_NODE_PROGRAM=compiled, but dist/node-main.js is missing: npm run build",
    );
  }
  return program === "compiled";
}

/** Alive and, where /proc tells, really a neverstop node (a recorded pid may have been reused). */
export function isNeverstopNode(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else, so it is not ours to judge by signals.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(nodeProgramMarker);
  } catch {
    return !existsSync("/proc");
  }
}
