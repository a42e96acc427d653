// Docker images without a registry (lesson 5, "systems that never stop", for classrooms with no
// internet): `npx neverstop docker-base` builds a base image OFFLINE from this machine's own
// Node binary, and `npx neverstop docker-image` builds the node image on top of it from the
// Dockerfile. Nothing is pulled from anywhere.
//
//   npx neverstop docker-base                       -> neverstop-base:local
//   npx neverstop docker-image                      -> neverstop:local (FROM neverstop-base:local)
//   docker build --build-arg BASE_IMAGE=neverstop-base:local -t neverstop:local .   (the same)
//
// The base is a root filesystem holding exactly what `node` needs to start: the binary, the
// shared libraries `ldd` names (the C library, the C++ runtime, the dynamic loader), /bin/sh so
// the Dockerfile's RUN lines work, a minimal /etc/passwd and /etc/group, and /tmp. It is a tar
// stream piped into the engine's import (`docker import - TAG`). Works on Linux hosts whose Node
// is a glibc or musl binary; a Node from macOS cannot run in a Linux container.

import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import {
  baseImageTagDefault,
  connectDocker,
  DockerUnavailableError,
  nodeImageTagDefault,
  oneLine,
  requireEngine,
  whyNoDockerCli,
} from "./engine.ts";

/** A root filesystem larger than this means something unexpected was staged. */
const rootFilesystemSizeMaxBytes = 512 * 1024 * 1024;
/** More libraries than this from ldd means we are not looking at a Node binary. */
const libraryCountMax = 64;
const lddTimeoutMs = 10_000;
/** Building the node image copies node_modules; on the vfs storage driver that is slow. */
const nodeImageBuildTimeoutMs = 15 * 60_000;

const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));

export interface BaseImageOptions {
  tag?: string;
  /** The Node binary to put in the image. Default: the one running this process. */
  nodeBinary?: string;
  docker?: Dockerode;
  /** Progress lines for the user. */
  log?: (line: string) => void;
}

export interface BaseImage {
  tag: string;
  imageId: string;
  fileCount: number;
  sizeBytes: number;
}

/**
 * The shared libraries an `ldd` listing names, absolute paths in order, the dynamic loader
 * included and the kernel's vDSO (which has no file) left out. Throws on "not found": an image
 * missing a library would fail only when the container starts, far from the cause.
 */
export function parseLddOutput(text: string): string[] {
  const libraries: string[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.includes("statically linked") || line.includes("not a dynamic")) {
      continue;
    }
    if (/=>\s*not found/.test(line)) {
      throw new Error(`a shared library is missing on this machine: ${line}`);
    }
    const resolved = /=>\s*(\/\S+)/.exec(line) ?? /^(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (resolved?.[1] !== undefined && !libraries.includes(resolved[1])) {
      libraries.push(resolved[1]);
    }
  }
  if (libraries.length > libraryCountMax) {
    throw new Error(
      `Expected at most ${libraryCountMax} shared libraries, got ${libraries.length}`,
    );
  }
  return libraries;
}

/** The shared libraries a binary needs, from `ldd`. Empty for a static binary. */
export function sharedLibrariesOf(binary: string): string[] {
  const result = spawnSync("ldd", [binary], { encoding: "utf8", timeout: lddTimeoutMs });
  if (result.error !== undefined) {
    throw new Error(`cannot run ldd on ${binary} (${result.error.message}); is this Linux?`);
  }
  const output = `${result.stdout}${result.stderr}`;
  // A static binary makes ldd exit 1 with "not a dynamic executable": no libraries to copy.
  if (result.status !== 0 && !/not a dynamic|statically linked/.test(output)) {
    throw new Error(`ldd ${binary} failed: ${output.trim().split("\n")[0] ?? ""}`);
  }
  return parseLddOutput(output);
}

/**
 * Writes the base's root filesystem into `folder`: node at /usr/local/bin/node, its libraries
 * at the paths ldd printed (so the binary's own loader path and search paths stay right), and
 * the minimum of /etc a process expects. Returns the number of files and their total size.
 */
export function stageRootFilesystem(
  folder: string,
  nodeBinary: string,
): { fileCount: number; sizeBytes: number } {
  const copies = new Map<string, string>(); // path in the image -> path on this machine
  copies.set("/usr/local/bin/node", nodeBinary);
  for (const library of sharedLibrariesOf(nodeBinary)) copies.set(library, library);
  const shell = existsSync("/bin/sh") ? realpathSync("/bin/sh") : undefined;
  if (shell !== undefined) {
    copies.set("/bin/sh", shell);
    for (const library of sharedLibrariesOf(shell)) copies.set(library, library);
  }
  let sizeBytes = 0;
  for (const [inImage, onHost] of copies) {
    const target = join(folder, inImage);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(onHost, target); // follows symbolic links: the image gets the real bytes
    chmodSync(target, 0o755);
    sizeBytes += statSync(target).size;
  }
  if (sizeBytes > rootFilesystemSizeMaxBytes) {
    throw new Error(
      `Expected the base image to hold at most ${rootFilesystemSizeMaxBytes} bytes, got ${sizeBytes}`,
    );
  }
  const etc = join(folder, "etc");
  mkdirSync(etc, { recursive: true });
  writeFileSync(
    join(etc, "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
  );
  writeFileSync(join(etc, "group"), "root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n");
  writeFileSync(join(etc, "nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
  for (const each of ["root", "home/node", "app", "data", "usr/bin"]) {
    mkdirSync(join(folder, each), { recursive: true });
  }
  const temporary = join(folder, "tmp");
  mkdirSync(temporary, { recursive: true });
  chmodSync(temporary, 0o1777);
  return { fileCount: copies.size + 3, sizeBytes };
}

/** Builds the offline base image: stage, tar, `docker import - TAG`. */
export async function buildBaseImage(options: BaseImageOptions = {}): Promise<BaseImage> {
  const tag = options.tag ?? baseImageTagDefault;
  checkTag(tag);
  const nodeBinary = resolve(options.nodeBinary ?? process.execPath);
  if (!existsSync(nodeBinary) || !statSync(nodeBinary).isFile()) {
    throw new Error(`Expected --node to be the path of a Node binary, got ${nodeBinary}`);
  }
  const docker = options.docker ?? connectDocker();
  await requireEngine(docker);
  const log = options.log ?? (() => {});
  const folder = mkdtempSync(join(tmpdir(), "neverstop-base-"));
  try {
    const staged = stageRootFilesystem(folder, nodeBinary);
    log(`staged ${staged.fileCount} files (${megabytes(staged.sizeBytes)}) from ${nodeBinary}`);
    const previous = await docker
      .getImage(tag)
      .inspect()
      .then((image) => image.Id)
      .catch(() => undefined);
    const imageId = await importFolder(docker, folder, tag);
    if (previous !== undefined && previous !== imageId) {
      // The replaced base weighs ~100 MB on vfs; the engine refuses while images built on it
      // remain, and then it stays.
      await docker
        .getImage(previous)
        .remove()
        .catch(() => {});
    }
    return { tag, imageId, ...staged };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function importFolder(docker: Dockerode, folder: string, tag: string): Promise<string> {
  const tar = spawn("tar", ["-C", folder, "--numeric-owner", "--owner=0", "--group=0", "-c", "."], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tarFailed = new Promise<never>((_, reject) => {
    tar.once("error", (error) => reject(new Error(`cannot run tar: ${error.message}`)));
    tar.once("exit", (code) => {
      if (code !== 0) reject(new Error(`tar exited with status ${code} while packing the base`));
    });
  });
  tarFailed.catch(() => {}); // observed below through Promise.race
  const [repository, version] = splitTag(tag);
  const imported = (async () => {
    const progress = await docker.importImage(tar.stdout, {
      repo: repository,
      tag: version,
      changes: [
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        'CMD ["node"]',
        "LABEL org.neverstop.base=offline",
      ],
    });
    const events = await followProgress(docker, progress);
    const failure = events.find((event) => event.error !== undefined);
    if (failure !== undefined) throw new Error(`docker import failed: ${String(failure.error)}`);
    const last = events.findLast((event) => typeof event.status === "string");
    return String(last?.status ?? "");
  })();
  try {
    return await Promise.race([imported, tarFailed]);
  } catch (error) {
    tar.kill("SIGKILL");
    if (error instanceof DockerUnavailableError) throw error;
    throw new Error(`cannot import the base image ${tag}: ${oneLine(error)}`, { cause: error });
  }
}

interface ProgressEvent {
  status?: unknown;
  error?: unknown;
  stream?: unknown;
}

function followProgress(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
): Promise<ProgressEvent[]> {
  return new Promise((resolveEvents, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: ProgressEvent[]) => {
      if (error !== null) reject(error);
      else resolveEvents(events);
    });
  });
}

export interface NodeImageOptions {
  tag?: string;
  baseImage?: string;
  /** The build context: the repository root (where the Dockerfile and .dockerignore are). */
  contextFolder?: string;
  log?: (line: string) => void;
}

/**
 * Builds the node image from the Dockerfile with the docker command line (it applies
 * .dockerignore exactly as Docker documents it), FROM `baseImage`.
 */
export async function buildNodeImage(options: NodeImageOptions = {}): Promise<{ tag: string }> {
  const tag = options.tag ?? nodeImageTagDefault;
  const baseImage = options.baseImage ?? baseImageTagDefault;
  checkTag(tag);
  checkTag(baseImage);
  await requireEngine();
  const noCli = whyNoDockerCli();
  if (noCli !== undefined) throw new DockerUnavailableError(noCli);
  const context = options.contextFolder ?? repositoryRoot;
  const log = options.log ?? (() => {});
  const output: string[] = [];
  const child = spawn(
    "docker",
    ["build", "--build-arg", `BASE_IMAGE=${baseImage}`, "--tag", tag, "--network", "host", context],
    // The classic builder works with any engine and needs no buildx plugin. The host network:
    // engines started with --bridge=none have no other, and a base with npm needs the registry.
    { env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      output.push(line);
      output.splice(0, Math.max(0, output.length - 40));
      if (line.startsWith("Step ")) log(line);
    }
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const timer = setTimeout(() => child.kill("SIGKILL"), nodeImageBuildTimeoutMs);
  const status = await new Promise<number | null>((resolveExit, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolveExit(code));
  }).finally(() => clearTimeout(timer));
  if (status !== 0) {
    const reason = output.findLast((line) => /error|failed|denied|not found/i.test(line));
    throw new Error(
      `docker build of ${tag} FROM ${baseImage} failed (status ${status}): ${reason ?? output.at(-1) ?? "no output"}`,
    );
  }
  return { tag };
}

/** A Docker reference as Docker accepts it: lowercase repository, optional :tag. */
export function checkTag(tag: string): void {
  const valid =
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;
  if (tag.length > 255 || !valid.test(tag)) {
    throw new Error(
      `Expected an image tag such as neverstop-base:local (lowercase name, optional :tag), got ${tag}`,
    );
  }
}

function splitTag(tag: string): [string, string] {
  const colon = tag.lastIndexOf(":");
  if (colon === -1 || tag.indexOf("/", colon) !== -1) return [tag, "latest"];
  return [tag.slice(0, colon), tag.slice(colon + 1)];
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
