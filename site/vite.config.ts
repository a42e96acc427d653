// Vite configuration for the course site (every lesson's page): site/ is the root and the build
// lands in site/dist. Before Vite bundles, build/lessons.ts renders each labs/NN-topic/README.md
// to lessons/NN-topic.html and writes index.html (placeholder lessons from fixtures/labs when
// labs/ has none yet), so `npm run site:build` is one step. `base: "./"` makes every asset path
// relative, so the built site works from any static server at any sub-path, with no network:
// fonts are the system's, every script is bundled. Chromium refuses module scripts from file://
// URLs, so opening dist/index.html as a file shows the lessons (readable with JavaScript off)
// but runs no widget; any static server runs them.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { writeSitePages } from "./build/lessons.ts";

const root = fileURLToPath(new URL(".", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));

/** The hand-written pages: every .html at the root except index.html (generated). */
const toolPages = readdirSync(root)
  .filter((name) => name.endsWith(".html") && name !== "index.html")
  .map((name) => join(root, name));

export default defineConfig(() => {
  const { pages } = writeSitePages(
    root,
    join(repositoryRoot, "labs"),
    join(root, "fixtures", "labs"),
  );
  return {
    root,
    base: "./",
    // The site imports cluster/ and chaos/ from the repository root, one level up.
    server: { fs: { allow: [repositoryRoot] } },
    worker: { format: "es" as const },
    build: {
      outDir: fileURLToPath(new URL("dist", import.meta.url)),
      emptyOutDir: true,
      target: "es2022",
      chunkSizeWarningLimit: 2_000,
      rollupOptions: { input: [...pages, ...toolPages] },
    },
  };
});
