#!/usr/bin/env node
// Runs one TypeScript file with tsx's loader: `node bin/run-ts.js path/to/file.ts [args...]`.
// The project ships TypeScript sources only; tsx (esbuild) strips types as modules load.
import { register } from "tsx/esm/api";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

register();
const [file, ...rest] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: node bin/run-ts.js FILE.ts [args...]");
  process.exit(3);
}
process.argv = [process.argv[0] ?? "node", resolve(file), ...rest];
await import(pathToFileURL(resolve(file)).href);
