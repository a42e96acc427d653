// Which form of a program to run: the compiled bundle in dist/ when the build is there and no
// source file it was built from has changed since, else the TypeScript source through tsx.
// Plain JavaScript on purpose: it runs before anything could transpile TypeScript.
//
// scripts/build.js writes dist/build-info.json last: the bundles, and every source file of the
// repository's own that went into any of them (node_modules are not watched). One build covers
// every program, so a command line that runs compiled may start its nodes compiled too
// (cluster/runtime/real/node-process.ts). Checking is one stat per file, about a millisecond.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const repositoryRoot = fileURLToPath(new URL("../", import.meta.url));
export const buildInfoPath = "dist/build-info.json";

/** The programs scripts/build.js compiles: their source entry and their bundle. */
export const programs = {
  cli: { source: "cli/main.ts", bundle: "dist/cli.js" },
  node: { source: "cluster/runtime/real/node-main.ts", bundle: "dist/node-main.js" },
};

/**
 * `{ kind: "compiled" | "source", url, reason }` for one of `programs` (default: the command
 * line). `reason` says why the source runs (no build, which file changed) for tests and the
 * benchmark; nothing prints it.
 */
export function chooseEntry(program = "cli", root = repositoryRoot) {
  const { source, bundle } = programs[program];
  const sourceEntry = { kind: "source", url: pathToFileURL(root + source).href };
  const stale = staleBecause(root);
  if (stale !== undefined) return { ...sourceEntry, reason: stale };
  return { kind: "compiled", url: pathToFileURL(root + bundle).href, reason: "" };
}

/** Why the build in dist/ cannot be trusted, or undefined when it can. */
export function staleBecause(root = repositoryRoot) {
  let info;
  let builtAtMs;
  try {
    info = JSON.parse(readFileSync(root + buildInfoPath, "utf8"));
    builtAtMs = statSync(root + buildInfoPath).mtimeMs;
  } catch {
    return `no build (${buildInfoPath} is missing)`;
  }
  if (!Array.isArray(info.inputs) || !Array.isArray(info.outputs))
    return `${buildInfoPath} is not a build record`;
  for (const output of info.outputs) {
    try {
      statSync(root + output);
    } catch {
      return `${output} is missing`;
    }
  }
  for (const input of info.inputs) {
    let changedAtMs;
    try {
      changedAtMs = statSync(root + input).mtimeMs;
    } catch {
      return `${input} is gone since the build`;
    }
    if (changedAtMs > builtAtMs) return `${input} changed since the build`;
  }
  return undefined;
}
