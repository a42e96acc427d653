#!/usr/bin/env node
// The `neverstop` command. It runs the compiled command line, dist/cli.js, which `npm install`
// builds (scripts/build.js, the `prepare` script) and which starts in a fraction of the time
// tsx needs to transpile every TypeScript file again; stack traces still name the .ts files
// through the source maps. Without a build, or when a source file changed since the last one,
// it runs cli/main.ts through tsx instead: slower, never stale, and silent about it.
import { chooseEntry } from "./entry.js";

const entry = chooseEntry();
if (entry.kind === "compiled") {
  process.setSourceMapsEnabled(true);
} else {
  const { register } = await import("tsx/esm/api");
  register();
}
await import(entry.url);
