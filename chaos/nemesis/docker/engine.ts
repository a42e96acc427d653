// The Docker engine as neverstop sees it (lesson 5, "systems that never stop", on containers):
// one dockerode client, one question asked before anything else ("does an engine answer?") and
// one-line answers when it does not, so that `npx neverstop docker-base`, the docker backend and
// the Docker tests all fail, or skip, the same way with a sentence that says what to do.
//
// dockerode reads DOCKER_HOST like the docker command line does; without it the engine is the
// Unix socket /var/run/docker.sock.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import type Dockerode from "dockerode";

// dockerode (with ssh2 beneath it) takes longer to load than the whole rest of the command line,
// and only the Docker commands and backend need it: it is loaded on first use, not at every
// `npx neverstop` start (issue 9's start-up budget).
const requireFromHere = createRequire(import.meta.url);

/** How long the engine may take to answer a ping before we say it does not answer. */
export const pingTimeoutMs = 3_000;

/** Tags neverstop builds (see the Dockerfile's header). */
export const baseImageTagDefault = "neverstop-base:local";
export const nodeImageTagDefault = "neverstop:local";

/** No Docker engine answers, or one answered with something neverstop cannot use. */
export class DockerUnavailableError extends Error {
  override name = "DockerUnavailableError";
}

export function connectDocker(): Dockerode {
  const DockerodeClient = requireFromHere("dockerode") as typeof Dockerode;
  return new DockerodeClient();
}

/** Where the client talks to, for messages: `unix:///var/run/docker.sock` or DOCKER_HOST. */
export function engineAddress(): string {
  return process.env["DOCKER_HOST"] ?? "unix:///var/run/docker.sock";
}

/**
 * Why no engine can be used, in one line, or undefined when one answers. Never throws: tests
 * call it to decide whether to skip.
 */
export async function whyNoEngine(
  docker: Dockerode = connectDocker(),
): Promise<string | undefined> {
  try {
    const answer = await withTimeout(docker.ping(), pingTimeoutMs);
    const text = Buffer.isBuffer(answer) ? answer.toString("utf8") : String(answer);
    if (text.trim() !== "OK") return `the Docker engine at ${engineAddress()} answered ${text}`;
    return undefined;
  } catch (error) {
    return `no Docker engine answers at ${engineAddress()} (${oneLine(error)}); install and start one, e.g. .ci/docker-setup.sh as root`;
  }
}

/** Throws DockerUnavailableError with one line when no engine answers. */
export async function requireEngine(docker: Dockerode = connectDocker()): Promise<void> {
  const reason = await whyNoEngine(docker);
  if (reason !== undefined) throw new DockerUnavailableError(reason);
}

/** Whether the engine holds an image under this tag. */
export async function imageExists(docker: Dockerode, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw new DockerUnavailableError(`cannot inspect image ${tag}: ${oneLine(error)}`);
  }
}

/** Why the `docker` command line cannot be used (builds need it for .dockerignore), or undefined. */
export function whyNoDockerCli(): string | undefined {
  const result = spawnSync("docker", ["version", "--format", "{{.Client.Version}}"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (result.error !== undefined)
    return `the docker command line is missing (${result.error.message})`;
  return undefined;
}

/** The HTTP status of a dockerode error, if it carries one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** An error as one line: dockerode's messages carry the engine's JSON body after a newline. */
export function oneLine(error: unknown): string {
  const engineMessage = (error as { json?: { message?: unknown } } | null)?.json?.message;
  if (typeof engineMessage === "string") return engineMessage.split("\n")[0]!;
  const errno = error as (NodeJS.ErrnoException & { address?: string }) | null;
  if (errno?.code === "ENOENT" || errno?.code === "ECONNREFUSED" || errno?.code === "EACCES") {
    return `${errno.code} ${errno.address ?? ""}`.trim();
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
