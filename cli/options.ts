// Option values several commands share, checked at the boundary (every lesson that runs a
// command): an integer, and `--policies FILE`, the learner's module of replacement functions
// (issue 9's seam: the same file runs in the simulator, in local processes and in containers).
// A bad value is one line naming the option, never a stack trace.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import type { Policies } from "../cluster/core/policies.ts";
import { loadPoliciesFile, PolicyLoadError } from "../cluster/runtime/real/load-policies.ts";
import { CliError } from "./errors.ts";

export function integerArgument(text: string): number {
  if (!/^[0-9]{1,6}$/.test(text))
    throw new InvalidArgumentError(`Expected an integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * The absolute path of a `--policies` file that exists, or a CliError with `exitCode` (1 for
 * `up`, 3 "bad input" for `test` and `sim`). Absolute, because node processes start in the
 * repository's folder, not in the learner's. Whether the module loads and has the right shape
 * is for the loader to say, in the process that loads it.
 */
export function policiesPath(text: string, exitCode: number): string {
  const path = resolve(text);
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new CliError(
      `Expected \`--policies\` to name a module file, got ${text} (no such file)`,
      exitCode,
    );
  }
  if (!isFile)
    throw new CliError(
      `Expected \`--policies\` to name a module file, got ${text} (a folder)`,
      exitCode,
    );
  return path;
}

/**
 * Loads a `--policies` file here, before anything starts, so that a broken one is its author's
 * one line (naming the file and the function) and `exitCode`, not a cluster that fails to come
 * up. Returns the absolute path (what node configurations carry) and the loaded policies (what
 * a simulated run in this process uses).
 */
export async function loadPoliciesOption(
  text: string,
  exitCode: number,
): Promise<{ path: string; policies: Policies }> {
  const path = policiesPath(text, exitCode);
  try {
    return { path, policies: await loadPoliciesFile(path) };
  } catch (error) {
    if (error instanceof PolicyLoadError) throw new CliError(error.message, exitCode);
    throw error;
  }
}
