// The `--backend docker` branches of `npx neverstop up | down | status` (lesson 5, "systems that
// never stop", on containers). The command line's own modules parse the flags and call these;
// everything after that (image, Toxiproxy container, nodes, record) is stack.ts.
//
//   npx neverstop up --backend docker --nodes 3 --detach [--image TAG] [--spare-nodes 1]
//   npx neverstop status        # container state and health of every node
//   npx neverstop down          # no container of the run is left

import { rmSync } from "node:fs";
import { join } from "node:path";
import {
  CliError,
  clusterFileName,
  describeCluster,
  writeRecord,
  type ClusterRecord,
} from "../../../cluster/runtime/real/commands.ts";
import { DockerClusterError } from "./backend.ts";
import { DockerUnavailableError } from "./engine.ts";
import {
  dockerStatus,
  isDockerRecord,
  openDockerCluster,
  startDockerStack,
  stopDockerStack,
  type DockerClusterRecord,
  type DockerStackOptions,
} from "./stack.ts";

export { isDockerRecord };

/** `up --backend docker`: starts the stack, records it, prints what `up` prints. */
export async function upDocker(
  options: Omit<DockerStackOptions, "log">,
  print: (line: string) => void = console.log,
): Promise<void> {
  process.stderr.write(`starting ${options.nodes} nodes in Docker containers ...\n`);
  let stack;
  try {
    stack = await startDockerStack({
      ...options,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    throw asCliError(error);
  }
  const record = stack.record;
  if (!options.detach) record.supervisorPid = process.pid;
  writeRecord(record);
  print(`image  ${record.docker.image}`);
  for (const line of describeDockerCluster(record)) print(line);
  const first = record.nodes[0]!;
  print(`try: curl -X PUT ${first.clientUrl ?? first.httpUrl}/kv/demo/hello -d '"world"'`);
  const ids = record.nodes.map((node) => node.id);
  if (ids.length >= 2) {
    const half = Math.floor(ids.length / 2);
    print(
      `break it: npx neverstop partition ${ids.slice(0, half).join(",")} ${ids.slice(half).join(",")} | heal | kill ${ids.at(-1)} | restart ${ids.at(-1)} | reset`,
    );
  }
  if (options.detach) {
    print("cluster running in Docker containers; `npx neverstop status`, `npx neverstop down`");
    return;
  }
  print("Ctrl-C stops the cluster and removes its containers");
  await new Promise<void>((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal());
    process.once("SIGTERM", () => resolveSignal());
  });
  process.stderr.write("stopping ...\n");
  await stack.stop();
  rmSync(join(record.dataDir, clusterFileName), { force: true });
}

/** describeCluster's lines with each node's container in place of its process id. */
export function describeDockerCluster(record: DockerClusterRecord): string[] {
  const containers = new Map(record.docker.nodes.map((node) => [node.id, node.containerName]));
  return describeCluster(record).map((line) => {
    const id = line.split(" ")[0]!;
    const container = containers.get(id);
    return container === undefined
      ? line
      : line.replace(/\(pid [^)]*\)$/, `(container ${container})`);
  });
}

/** `down` for a Docker cluster: removes its containers, then its record. */
export async function downDocker(record: DockerClusterRecord): Promise<string> {
  try {
    const line = await stopDockerStack(record);
    rmSync(join(record.dataDir, clusterFileName), { force: true });
    return line;
  } catch (error) {
    throw asCliError(error);
  }
}

/** `status` for a Docker cluster. */
export async function statusDocker(
  record: DockerClusterRecord,
  json: boolean,
  print: (line: string) => void = console.log,
): Promise<void> {
  let nodes;
  try {
    nodes = await dockerStatus(record);
  } catch (error) {
    throw asCliError(error);
  }
  if (json) {
    print(
      JSON.stringify(
        {
          running: nodes.some((node) => node.state === "running" || node.state === "paused"),
          backend: "docker",
          dataDir: record.dataDir,
          startedAt: record.startedAt,
          image: record.docker.image,
          toxiproxy: { ...record.toxiproxy, container: record.docker.toxiproxyContainer },
          nodes,
        },
        null,
        2,
      ),
    );
    return;
  }
  print(
    `toxiproxy  ${record.toxiproxy?.url ?? "-"}  (container ${record.docker.toxiproxyContainer})`,
  );
  for (const node of nodes) {
    const state = node.healthy
      ? "healthy"
      : node.state === "running"
        ? "not answering"
        : node.state;
    const proxied = node.clientUrl === undefined ? "" : `  via proxy ${node.clientUrl}`;
    print(`${node.id}  ${node.httpUrl}${proxied}  container ${node.container}  ${state}`);
  }
}

/** Whether any container of a recorded Docker cluster runs (a paused one counts). */
export async function anyDockerNodeRunning(record: ClusterRecord): Promise<boolean> {
  if (!isDockerRecord(record)) return false;
  const cluster = openDockerCluster(record);
  for (const node of record.nodes) {
    const state = await cluster.state(node.id).catch(() => "missing" as const);
    if (state === "running" || state === "paused") return true;
  }
  return false;
}

function asCliError(error: unknown): Error {
  if (error instanceof CliError) return error;
  if (error instanceof DockerClusterError || error instanceof DockerUnavailableError) {
    return new CliError(error.message.split("\n")[0]!);
  }
  return new CliError(
    `docker: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`,
  );
}
