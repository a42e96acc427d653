// The node image the Docker tests run (lesson 5, "systems that never stop", on containers): built
// once from the offline base and the Dockerfile, tagged with a hash of what goes into it, and
// reused while that hash holds. Image builds on the vfs storage driver take minutes, and a stale
// image would test yesterday's code: the content hash gives both speed and truth.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import { buildBaseImage, buildNodeImage } from "./docker-base.ts";
import { baseImageTagDefault, imageExists } from "./engine.ts";

export const testImageRepository = "neverstop-test";
/** Folders and files whose content decides the image (the rest of .dockerignore's allow list). */
const hashedEntries = [
  "Dockerfile",
  ".dockerignore",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "bin",
  "cluster",
  "chaos",
];
const hashedFileCountMax = 20_000;
const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** A hash of the sources the image copies (tests excluded, as .dockerignore excludes them). */
export function sourceHash(root: string = repositoryRoot): string {
  const hash = createHash("sha256");
  let fileCount = 0;
  const visit = (path: string) => {
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats === undefined) return;
    if (stats.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (name === "store" || name === ".neverstop" || name === "node_modules") continue;
        visit(join(path, name));
      }
      return;
    }
    if (path.endsWith(".test.ts")) return;
    fileCount += 1;
    if (fileCount > hashedFileCountMax) {
      throw new Error(`Expected at most ${hashedFileCountMax} source files to hash`);
    }
    hash.update(relative(root, path)).update("\0").update(readFileSync(path)).update("\0");
  };
  for (const entry of hashedEntries) visit(join(root, entry));
  return hash.digest("hex").slice(0, 12);
}

export interface TestImage {
  tag: string;
  /** Milliseconds spent building (0 when both images were reused). */
  baseBuildMs: number;
  nodeBuildMs: number;
}

/** The test image for the current sources: reused when it exists, built otherwise. */
export async function ensureTestImage(docker: Dockerode): Promise<TestImage> {
  const tag = `${testImageRepository}:${sourceHash()}`;
  let baseBuildMs = 0;
  let nodeBuildMs = 0;
  if (!(await imageExists(docker, tag))) {
    if (!(await imageExists(docker, baseImageTagDefault))) {
      const started = Date.now();
      await buildBaseImage({ docker, tag: baseImageTagDefault });
      baseBuildMs = Date.now() - started;
    }
    const started = Date.now();
    await buildNodeImage({ tag, baseImage: baseImageTagDefault });
    nodeBuildMs = Date.now() - started;
    await removeOtherTestImages(docker, tag);
  }
  return { tag, baseBuildMs, nodeBuildMs };
}

/** Each test image is a few hundred megabytes on vfs: keep only the current one. */
async function removeOtherTestImages(docker: Dockerode, keep: string): Promise<void> {
  const images = await docker.listImages({ filters: { reference: [testImageRepository] } });
  for (const image of images) {
    const tags = image.RepoTags ?? [];
    if (tags.includes(keep)) continue;
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {}); // in use by a container of another run: leave it
  }
}
