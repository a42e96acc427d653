// Vite configuration for the course site (every lesson's page): site/ is the root and the build
// lands in site/dist. `base: "./"` makes every asset path relative, so the built site works from
// any static server at any sub-path (GitHub Pages, `npx vite preview`, the test's tiny server).
// Chromium refuses module scripts from file:// URLs, so opening dist/index.html as a file does
// not run the page; any static server does.

import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "./",
  // The site imports cluster/ and chaos/ from the repository root, one level up.
  server: { fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] } },
  build: {
    outDir: fileURLToPath(new URL("dist", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
  },
});
