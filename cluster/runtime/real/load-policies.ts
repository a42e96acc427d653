// Loads a lab's policies module (cluster/core/policies.ts) from a file, for a real node process
// and for the command line's `--policies FILE` (every lab). A TypeScript file goes through tsx's
// `tsImport`, which treats it as an ES module wherever it lives (a learner's file in a folder
// with no package.json would otherwise be read as CommonJS); a .js/.mjs file is imported as is.
//
// Everything that can go wrong ends in one line naming the file and, where there is one, the
// function: a file that is not there, a syntax error, a module that throws while it loads (the
// line names the function it threw in), an export of the wrong shape.

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { checkPolicies, PolicyLoadError, type Policies } from "../../core/policies.ts";

export { PolicyLoadError };

export async function loadPoliciesFile(file: string): Promise<Policies> {
  const path = resolve(file);
  let exports: unknown;
  try {
    const url = pathToFileURL(path).href;
    exports = /\.[cm]?ts$/.test(path) ? await importTypeScript(url) : await import(url);
  } catch (error) {
    throw new PolicyLoadError(`${file}: cannot load the policies module: ${loadFailure(error)}`);
  }
  return checkPolicies(exports, file);
}

/** tsx is loaded only for a TypeScript file: loading it takes longer than a compiled node's
 * whole start (dist/node-main.js), which a cluster without a lab's file should not pay. */
async function importTypeScript(url: string): Promise<unknown> {
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(url, import.meta.url);
}

/** The error's first line, and the function it was thrown in when the stack says so. */
function loadFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_MODULE_NOT_FOUND") {
    return (error as Error).message.split("\n")[0]!.replace(/^Cannot find module/, "no module");
  }
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
  const frame = (error instanceof Error ? (error.stack ?? "") : "")
    .split("\n")
    .find((line) => /^\s+at \S+ \(/.test(line));
  const where = frame?.match(/^\s+at (\S+) \(/)?.[1];
  return where === undefined ? message : `${message} (thrown in \`${where}\`)`;
}
