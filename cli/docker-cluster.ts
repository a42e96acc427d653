// The Docker backend of `npx neverstop up | down | status` (lesson 5, "systems that never stop",
// on containers): cluster-backends.ts starts clusters with startDockerBackend, and `down` and
// `status` hand a record with `backend: "docker"` to downDocker and statusDocker. Everything
// after the flags (image, Toxiproxy container, nodes, record) is chaos/nemesis/docker/stack.ts.
//
//   npx neverstop up --backend docker --nodes 3 --detach [--image TAG] [--policies FILE]
//   npx neverstop status        # container state and health of every node
//   npx neverstop down          # no container of the run is left

import { rmSync } from "node:fs";
import { join } from "node:path";
import { DockerClusterError } from "../chaos/nemesis/docker/backend.ts";
import { DockerUnavailableError } from "../chaos/nemesis/docker/engine.ts";
import {
  dockerStatus,
  isDockerRecord,
  openDockerCluster,
  startDockerStack,
  stopDockerStack,
  type DockerClusterRecord,
} from "../chaos/nemesis/docker/stack.ts";
import type { StartedBackendCluster } from "./cluster-backends.ts";
import type { NodeHost } from "./membership-commands.ts";
import { CliError } from "./errors.ts";
import {
  clusterFileName,
  writeRecord,
  type ClusterRecord,
  type StartClusterOptions,
} from "./local-cluster.ts";

export { isDockerRecord };

/**
 * `up --backend docker`: the same checked options as the local backend. Ports are free ones at
 * random (a Docker cluster never collides with a local one; `status` shows them), so the
 * options' fixed layout is not used; the spares and bucket modes are.
 */
export async function startDockerBackend(
  options: StartClusterOptions,
): Promise<StartedBackendCluster> {
  let stack;
  try {
    stack = await startDockerStack({
      nodes: options.nodes,
      spareNodes: options.cluster?.spareNodes ?? 0,
      sync: options.sync,
      dataDir: options.dataDir,
      detach: options.detach,
      ...(options.cluster?.bucketModes === undefined
        ? {}
        : { bucketModes: options.cluster.bucketModes }),
      ...(options.image === undefined ? {} : { image: options.image }),
      ...(options.cluster?.policies === undefined ? {} : { policies: options.cluster.policies }),
      log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    });
  } catch (error) {
    throw asCliError(error);
  }
  const record = stack.record;
  writeRecord(record);
  return {
    record,
    stop: async () => {
      await stack.stop();
      rmSync(join(record.dataDir, clusterFileName), { force: true });
    },
  };
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
    const running = nodes.some((node) => node.state === "running" || node.state === "paused");
    const toxiproxy = { ...record.toxiproxy, container: record.docker.toxiproxyContainer };
    const { dataDir, startedAt } = record;
    const summary = { running, backend: "docker", dataDir, startedAt, toxiproxy, nodes };
    print(JSON.stringify({ ...summary, image: record.docker.image }, null, 2));
    return;
  }
  print(`toxiproxy  ${record.toxiproxy.url}  (container ${record.docker.toxiproxyContainer})`);
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
  try {
    const cluster = openDockerCluster(record);
    for (const node of record.nodes) {
      const state = await cluster.state(node.id);
      if (state === "running" || state === "paused") return true;
    }
    return false;
  } catch (error) {
    throw asCliError(error);
  }
}

/** join and leave on containers: a spare starts as a new container, a leaver's is removed. */
export function dockerNodeHost(record: ClusterRecord): NodeHost {
  if (!isDockerRecord(record)) throw new CliError(`${record.dataDir}: not a Docker cluster record`);
  const cluster = openDockerCluster(record);
  const running = async (id: string) => {
    const state = await cluster.state(id);
    return state === "running" || state === "paused";
  };
  return {
    isRunning: (entry) =>
      running(entry.id).catch((error: unknown) => Promise.reject(asCliError(error))),
    async start(node) {
      try {
        const known = cluster.node(node);
        // A member that left keeps no container; a killed one keeps its exited container.
        if (known.containerId === "") await cluster.addNode(node);
        else await cluster.restart(node);
        const { id, httpUrl, httpPort, peerPort, containerName } = cluster.node(node);
        return { id, httpUrl, httpPort, peerPort, pid: undefined, container: containerName };
      } catch (error) {
        throw asCliError(error);
      }
    },
    async stop(entry) {
      await cluster.remove(entry.id).catch((error: unknown) => Promise.reject(asCliError(error)));
    },
  };
}

function asCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof DockerClusterError || error instanceof DockerUnavailableError) {
    return new CliError(error.message.split("\n")[0]!);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(`docker: ${message.split("\n")[0]}`);
}
