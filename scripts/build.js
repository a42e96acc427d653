#!/usr/bin/env node
// Compiles neverstop's programs to dist/ (issue 9, "fast start"): `npm install` runs it as the
// package's `prepare` script, and `npm run build` runs it by hand. Each program becomes one
// ES-module bundle of the repository's own TypeScript with a source map beside it, so a stack
// trace still names cli/main.ts:12, not dist/cli.js:3400:
//
//   dist/cli.js         cli/main.ts, the `neverstop` command line (bin/neverstop.js runs it)
//   dist/node-main.js   cluster/runtime/real/node-main.ts, one node process (`up` starts them)
//   dist/build-info.json  what went in, for bin/entry.js to tell a stale build (written last)
//
// Packages from node_modules stay outside the bundles (imported as usual): a source map only
// for our own code is what keeps `--enable-source-maps` cheap at start.
//
// Each module keeps its own location: `import.meta.url` in a bundled file is rewritten to the
// URL of the .ts file it came from, so `new URL("../../package.json", import.meta.url)` and
// every path a module computes from its own place mean what they mean in the sources. The
// bundles learn that they are compiled from the NEVERSTOP_COMPILED constant
// (cluster/runtime/real/node-process.ts).
//
// The new build is written next to dist/ and renamed into place, so a command started meanwhile
// sees the old build or the new one, never half of one. Plain JavaScript: it runs before
// anything can transpile TypeScript.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repositoryRoot = fileURLToPath(new URL("../", import.meta.url));
const distDir = join(repositoryRoot, "dist");
/** Renames of a fresh build into place before giving up (another build racing this one). */
const replaceAttemptsMax = 5;
const entryPoints = {
  cli: "cli/main.ts",
  "node-main": "cluster/runtime/real/node-main.ts",
};

/** esbuild plugin: a module's `import.meta.url` stays the URL of its .ts source. */
const keepModuleLocations = {
  name: "keep-module-locations",
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.split(sep).includes("node_modules")) return undefined;
      const source = readFileSync(args.path, "utf8");
      // Relative to the bundle's own URL, so the checkout can move after it was built.
      const fromBundle = relative(distDir, args.path).split(sep).join("/");
      const contents = source.replaceAll(
        "import.meta.url",
        `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
      );
      return { contents, loader: "ts" };
    });
  },
};

async function main() {
  const started = Date.now();
  const stagingDir = `${distDir}.building-${process.pid}`;
  rmSync(stagingDir, { recursive: true, force: true });
  mkdirSync(stagingDir, { recursive: true });
  let result;
  try {
    result = await build({
      absWorkingDir: repositoryRoot,
      entryPoints,
      outdir: stagingDir,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      sourcemap: "linked",
      // Stack traces need only the mappings; the .ts files themselves are in the checkout.
      sourcesContent: false,
      define: { NEVERSTOP_COMPILED: "true" },
      plugins: [keepModuleLocations],
      metafile: true,
      logLevel: "warning",
    });
  } catch (error) {
    rmSync(stagingDir, { recursive: true, force: true });
    console.error(`neverstop build: ${String(error?.message ?? error).split("\n")[0]}`);
    process.exit(1);
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.split("/").includes("node_modules"))
    .sort();
  const outputs = Object.keys(entryPoints).map((name) => `dist/${name}.js`);
  writeFileSync(
    join(stagingDir, "build-info.json"),
    JSON.stringify({ outputs, inputs }, null, 2) + "\n",
  );
  replaceDist(stagingDir);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.error(
    `neverstop build: ${outputs.join(", ")} from ${inputs.length} files in ${seconds} s`,
  );
}

/** Puts the staged build where dist/ is, keeping the window without one as short as a rename.
 * Two builds at once (two test files finding the build stale) may each move the other's dist/
 * aside; the last rename wins, and each is a whole build. */
function replaceDist(stagingDir) {
  const replacedDirs = [];
  for (let attempt = 1; ; attempt += 1) {
    const oldDir = `${distDir}.old-${process.pid}-${attempt}`;
    try {
      renameSync(distDir, oldDir);
      replacedDirs.push(oldDir);
    } catch (error) {
      if (error.code !== "ENOENT") throw error;
    }
    try {
      renameSync(stagingDir, distDir);
      break;
    } catch (error) {
      const raced = error.code === "ENOTEMPTY" || error.code === "EEXIST";
      if (!raced || attempt >= replaceAttemptsMax) throw error;
    }
  }
  for (const oldDir of replacedDirs) rmSync(oldDir, { recursive: true, force: true });
}

await main();
