// Loading the learner's file (every lab; node only): the file a learner hands in is bad input
// until proven otherwise. A missing file, a file that does not compile and a file that throws
// while it loads each get one line (file:line and the compiler's message for a syntax error)
// and exit status 3, never a stack trace:
//
//   labs/03-cart-resolver/starter/resolver.ts:12:9: Expected ";" but found "siblings"
//
// esbuild (the compiler tsx runs on) reports syntax errors; it strips types without checking
// them, as tsx does when the file runs, so a type error alone does not stop grading: run
// `npx tsc --noEmit` for those. The module is then imported through tsx's tsImport, which
// works whether or not this process was started with a TypeScript loader.

import { existsSync, readFileSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Message } from "esbuild";
import { LabInputError } from "./lab.ts";

export type ModuleImporter = (url: string) => Promise<Record<string, unknown>>;

/** Imports through tsx's tsImport (TypeScript without a registered loader). */
export const tsxImporter: ModuleImporter = async (url) => {
  const { tsImport } = await import("tsx/esm/api");
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
};

/** Syntax errors as one line, `file:line:column: message`, or undefined when it compiles. */
export async function syntaxError(file: string, source: string): Promise<string | undefined> {
  try {
    // Loaded here, not at the top: importing esbuild costs more than a compiled `neverstop`
    // takes to start, and only grading needs it.
    const { transform } = await import("esbuild");
    await transform(source, { loader: "ts", sourcefile: file, format: "esm", logLevel: "silent" });
    return undefined;
  } catch (error) {
    const messages = (error as { errors?: Message[] }).errors;
    const first = messages?.[0];
    if (first === undefined) return `${file}: ${String(error).split("\n")[0]}`;
    const where =
      first.location === null
        ? file
        : `${file}:${first.location.line}:${first.location.column + 1}`;
    return `${where}: ${first.text}`;
  }
}

/** The learner's module, or LabInputError with one line. */
export async function loadLearnerModule(
  file: string,
  importer: ModuleImporter = tsxImporter,
): Promise<Record<string, unknown>> {
  const absolute = resolve(file);
  const shown = displayPath(absolute);
  if (!existsSync(absolute)) throw new LabInputError(`${shown}: no such file`);
  if (!statSync(absolute).isFile()) throw new LabInputError(`${shown}: not a file`);
  const source = readFileSync(absolute, "utf8");
  const problem = await syntaxError(shown, source);
  if (problem !== undefined) throw new LabInputError(problem);
  try {
    return await importer(pathToFileURL(absolute).href);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    throw new LabInputError(`${shown}: does not load: ${text.split("\n")[0]}`);
  }
}

/** Relative to the current directory when inside it (shorter, and what the learner typed). */
export function displayPath(absolute: string): string {
  const fromHere = relative(process.cwd(), absolute);
  return fromHere.startsWith("..") || fromHere === "" ? absolute : fromHere;
}
