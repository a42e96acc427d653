// `npx neverstop docker-base` and `npx neverstop docker-image` (lesson 5, "systems that never
// stop", in classrooms with no registry): the commands' flags and what they print. Building the
// images is chaos/nemesis/docker/docker-base.ts.

import type { Command } from "commander";
import { buildBaseImage, buildNodeImage, megabytes } from "../chaos/nemesis/docker/docker-base.ts";
import { baseImageTagDefault, nodeImageTagDefault } from "../chaos/nemesis/docker/engine.ts";

/** `npx neverstop docker-base` and `npx neverstop docker-image`. */
export function registerDockerCommands(program: Command): void {
  program
    .command("docker-base")
    .description("build a Docker base image offline from this machine's own Node binary")
    .option("--tag <tag>", "the image tag", baseImageTagDefault)
    .option("--node <path>", "the Node binary to put in the image", process.execPath)
    .action(async (options: { tag: string; node: string }) => {
      const started = Date.now();
      const image = await buildBaseImage({
        tag: options.tag,
        nodeBinary: options.node,
        log: (line) => process.stderr.write(`docker-base: ${line}\n`),
      });
      process.stdout.write(
        `built ${image.tag} (${image.imageId}, ${image.fileCount} files, ${megabytes(image.sizeBytes)}) in ${seconds(started)}; next: npx neverstop docker-image --base ${image.tag}\n`,
      );
    });
  program
    .command("docker-image")
    .description("build the node image from the Dockerfile (FROM a base image, offline)")
    .option("--base <tag>", "the base image (BASE_IMAGE)", baseImageTagDefault)
    .option("--tag <tag>", "the image tag", nodeImageTagDefault)
    .action(async (options: { base: string; tag: string }) => {
      const started = Date.now();
      await buildNodeImage({
        tag: options.tag,
        baseImage: options.base,
        log: (line) => process.stderr.write(`docker-image: ${line}\n`),
      });
      process.stdout.write(`built ${options.tag} FROM ${options.base} in ${seconds(started)}\n`);
    });
}

function seconds(startedMs: number): string {
  return `${((Date.now() - startedMs) / 1000).toFixed(1)} s`;
}
