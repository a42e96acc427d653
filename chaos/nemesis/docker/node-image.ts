// The node image `npx neverstop up --backend docker` and the Docker tests run (lesson 5, "systems
// that never stop", on containers): built once from the offline base and the Dockerfile, tagged
// `neverstop:src-<hash of what goes into it>`, and reused while that hash holds. Image builds on
// the vfs storage driver take a minute, and a stale image would run yesterday's code: the
// content hash gives both speed and truth. A named image (`--image ghcr.io/...`) is used as it
// is, pulled from its registry when the engine does not hold it.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import { buildBaseImage, buildNodeImage, checkTag } from "./docker-base.ts";
import { baseImageTagDefault, DockerUnavailableError, imageExists, oneLine } from "./engine.ts";

export const sourceImageRepository = "neverstop";
/** Tags of images built from the sources start with this (others, e.g. `local`, are left alone). */
const sourceTagPrefix = "src-";
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

export interface NodeImage {
  tag: string;
  /** Milliseconds spent building or pulling (0 when the image was reused). */
  baseBuildMs: number;
  nodeBuildMs: number;
  pullMs: number;
}

/**
 * The image for the current sources: reused when it exists, built otherwise (the offline base
 * first, when it is missing). With `image`, that image instead: reused, or pulled.
 */
export async function ensureNodeImage(
  docker: Dockerode,
  options: { image?: string; log?: (line: string) => void } = {},
): Promise<NodeImage> {
  const log = options.log ?? (() => {});
  if (options.image !== undefined) return usePublishedImage(docker, options.image, log);
  const tag = `${sourceImageRepository}:${sourceTagPrefix}${sourceHash()}`;
  const times = { tag, baseBuildMs: 0, nodeBuildMs: 0, pullMs: 0 };
  if (await imageExists(docker, tag)) return times;
  // Two test files (or a test and an `up`) that find the image missing build it once: the
  // second waits for the first's lock, then finds the image.
  return withBuildLock(tag, async () => {
    if (await imageExists(docker, tag)) return times;
    if (!(await imageExists(docker, baseImageTagDefault))) {
      log(`building the offline base image ${baseImageTagDefault} from this machine's node ...`);
      const started = Date.now();
      await buildBaseImage({ docker, tag: baseImageTagDefault });
      times.baseBuildMs = Date.now() - started;
    }
    log(`building the node image ${tag} from the Dockerfile (a minute or so) ...`);
    const started = Date.now();
    await buildNodeImage({ tag, baseImage: baseImageTagDefault });
    times.nodeBuildMs = Date.now() - started;
    await removeOtherSourceImages(docker, tag);
    return times;
  });
}

/** A build takes less than this; a lock older than it was left by a build that was killed. */
const buildLockStaleMs = 20 * 60_000;
const buildLockPollMs = 1_000;

/** Runs `work` holding a machine-wide lock (a folder: mkdir is atomic) named after `tag`. */
async function withBuildLock<T>(tag: string, work: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `neverstop-image-build-${tag.replace(/[^A-Za-z0-9]/g, "_")}.lock`);
  const deadline = Date.now() + buildLockStaleMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > buildLockStaleMs || Date.now() > deadline)
        rmSync(lock, { recursive: true, force: true });
      await new Promise((resolveWait) => setTimeout(resolveWait, buildLockPollMs));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function usePublishedImage(
  docker: Dockerode,
  image: string,
  log: (line: string) => void,
): Promise<NodeImage> {
  checkTag(image);
  const reused = { tag: image, baseBuildMs: 0, nodeBuildMs: 0, pullMs: 0 };
  if (await imageExists(docker, image)) return reused;
  log(`pulling ${image} ...`);
  const started = Date.now();
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolvePull, reject) =>
      docker.modem.followProgress(stream, (error: Error | null) =>
        error === null ? resolvePull() : reject(error),
      ),
    );
  } catch (error) {
    throw new DockerUnavailableError(
      `the image ${image} is not here and cannot be pulled (${oneLine(error)}); leave out --image to build one from the sources offline`,
    );
  }
  return { ...reused, pullMs: Date.now() - started };
}

/** Each source image is a few hundred megabytes on vfs: keep only the current one. */
async function removeOtherSourceImages(docker: Dockerode, keep: string): Promise<void> {
  const images = await docker.listImages({ filters: { reference: [sourceImageRepository] } });
  for (const image of images) {
    const tags = image.RepoTags ?? [];
    if (tags.includes(keep)) continue;
    if (!tags.every((tag) => tag.startsWith(`${sourceImageRepository}:${sourceTagPrefix}`)))
      continue;
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {}); // in use by a container of another run: leave it
  }
}
