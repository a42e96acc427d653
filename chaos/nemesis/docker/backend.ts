// The docker backend (lesson 5, "systems that never stop"): a cluster of S node containers
// driven through dockerode, with the process faults a learner throws at it: kill -9 (SIGKILL),
// pause and unpause (the cgroup freezer: a node that stops answering without dying), restart,
// and the logs to see what the node saw. Same shape as the local cluster of
// cluster/runtime/real/cluster.ts (nodes, node(id), kill, restart, stop), so a test names its
// backend and nothing else changes.
//
// Every container runs on the host network and the node listens on 127.0.0.1 only: traffic
// stays on loopback, no container address is ever used. Node i's folder (its config.json, its
// store) is a bind mount of `<dataDir>/ni` at /data, so a killed container's data survives for
// the restart, as a disk would. Containers run as the calling user, so the folder stays theirs.
//
//   const cluster = await startDockerCluster({ nodes: 3, image: "neverstop:local" });
//   await cluster.kill("n2");             // docker kill -s KILL
//   await cluster.restart("n2");          // docker start, then wait for /health
//   await cluster.stop();                 // remove the containers (and a temporary dataDir)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import type { ClusterConfig, NodeId } from "../../../cluster/core/types.ts";
import {
  basePortDefault,
  fetchHealth,
  fixedPorts,
  randomFreePorts,
} from "../../../cluster/runtime/real/cluster.ts";
import type { SyncPolicyName } from "../../../cluster/runtime/real/node-config.ts";
import type { PeerAddress } from "../../../cluster/runtime/real/transport.ts";
import { clusterConfigFor, nodeCountMax, nodeIds, nodeProcessConfig } from "./compose-topology.ts";
import {
  connectDocker,
  DockerUnavailableError,
  imageExists,
  nodeImageTagDefault,
  oneLine,
  requireEngine,
  statusOf,
} from "./engine.ts";

export { basePortDefault };

/** A container's node may take this long to answer /health (vfs, 2 busy cores). */
const startTimeoutMsDefault = 60_000;
const healthPollMs = 200;
/** `docker stop` waits this long after SIGTERM before SIGKILL. */
const stopGraceSeconds = 5;
const logLinesMax = 10_000;
/** Labels that find a run's containers again (`docker ps --filter label=...`). */
export const clusterLabel = "org.neverstop.cluster";
export const nodeLabel = "org.neverstop.node";
export const prefixLabel = "org.neverstop.prefix";

export interface DockerClusterOptions {
  /** How many nodes (1..16). Default 3. */
  nodes?: number;
  /** Fixed ports as the local cluster's: HTTP basePort + i, peers basePort + 1000 + i.
   * Omitted: free ports chosen at random from 20000..31999. */
  basePort?: number;
  /** The node image. Default neverstop:local (see the Dockerfile). */
  image?: string;
  /** Where node folders go (`<dataDir>/n1`). Omitted: a temporary folder stop() removes. */
  dataDir?: string;
  sync?: SyncPolicyName;
  defaults?: Partial<ClusterConfig["defaults"]>;
  /** How node `from` reaches node `to` (a Toxiproxy proxy's address when one sits on the link;
   * LinkTopology.peerAddress creates that proxy, hence the promise). */
  peerAddress?: (from: NodeId, to: NodeId, peerPort: number) => PeerAddress | Promise<PeerAddress>;
  /** Nodes prepared (ports, config.json, proxies) but not started, for `addNode` (lesson 8,
   * scaling out: a cluster grows only into nodes every member already has an address for). */
  spareNodes?: number;
  partitionCount?: number;
  bucketModes?: ClusterConfig["bucketModes"];
  /** A policies module (cluster/core/policies.ts) every node loads: its folder is mounted
   * read-only where the node finds it (under /app, the image's copy of the repository, when the
   * file is inside this repository, so its imports of cluster/ resolve). */
  policies?: string;
  /** More labels on every container (the composition records who started it). */
  labels?: Record<string, string>;
  /** The `org.neverstop.cluster` label and the middle of every container name. Default: made
   * up from the time, so that two runs never share one. */
  runId?: string;
  /** How long each node may take to answer /health. Default 60 s. */
  startTimeoutMs?: number;
  /** Container names are `<namePrefix>-<run>-<node>`. Default "neverstop". */
  namePrefix?: string;
  docker?: Dockerode;
}

export interface DockerNode {
  id: NodeId;
  httpUrl: string;
  httpPort: number;
  peerPort: number;
  dataDir: string;
  containerName: string;
  containerId: string;
}

export interface DockerCluster {
  config: ClusterConfig;
  dataDir: string;
  image: string;
  /** The value of the `org.neverstop.cluster` label on every container of this cluster. */
  runId: string;
  /** The nodes started so far: the initial members, then every spare `addNode` started. */
  nodes: DockerNode[];
  /** Spares not started yet. */
  spareNodes: NodeId[];
  /** Any node, started or spare. */
  node(id: NodeId): DockerNode;
  /** Starts a spare's container (the node asks n1 to let it in) and waits for its /health. */
  addNode(id: NodeId): Promise<DockerNode>;
  /** Sends a signal (default SIGKILL); for SIGKILL and SIGTERM, resolves once it has exited. */
  kill(id: NodeId, signal?: NodeJS.Signals): Promise<void>;
  /** Freezes every process of the node's container (it stops answering, it does not die). */
  pause(id: NodeId): Promise<void>;
  unpause(id: NodeId): Promise<void>;
  /** Starts the node again (stopping it first if it runs) and waits for its /health. */
  restart(id: NodeId): Promise<void>;
  /** The last `tailLines` lines of the node's stdout and stderr. */
  logs(id: NodeId, tailLines?: number): Promise<string>;
  /** Removes the node's container for good (a node lost with its machine; its folder stays). */
  remove(id: NodeId): Promise<void>;
  /** Whether the node's container is running, paused or exited. */
  state(id: NodeId): Promise<"running" | "paused" | "exited" | "missing">;
  /** Removes every container (and a temporary data folder). */
  stop(): Promise<void>;
}

/** A cluster that could not start, or a fault Docker refused: one line for the user. */
export class DockerClusterError extends Error {
  override name = "DockerClusterError";
}

/** Starts S node containers on the host network and waits until each answers /health. */
export async function startDockerCluster(
  options: DockerClusterOptions = {},
): Promise<DockerCluster> {
  const nodeCount = options.nodes ?? 3;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > nodeCountMax) {
    throw new DockerClusterError(
      `Expected \`--nodes\` to be an integer from 1 to ${nodeCountMax}, got ${nodeCount}`,
    );
  }
  const spareCount = options.spareNodes ?? 0;
  if (!Number.isInteger(spareCount) || spareCount < 0 || nodeCount + spareCount > nodeCountMax) {
    throw new DockerClusterError(
      `Expected \`--spare-nodes\` to be an integer from 0 to ${nodeCountMax - nodeCount}, got ${spareCount}`,
    );
  }
  const docker = options.docker ?? connectDocker();
  await requireEngine(docker);
  const image = options.image ?? nodeImageTagDefault;
  if (!(await imageExists(docker, image))) {
    throw new DockerClusterError(
      `the image ${image} does not exist; build it: npx neverstop docker-base && npx neverstop docker-image --tag ${image}`,
    );
  }
  const temporary = options.dataDir === undefined;
  const dataDir = resolve(options.dataDir ?? mkdtempSync(join(tmpdir(), "neverstop-docker-")));
  const runId = options.runId ?? newRunId();
  const prefix = options.namePrefix ?? "neverstop";
  const config: ClusterConfig = {
    ...clusterConfigFor(nodeCount, options.defaults),
    ...(options.partitionCount === undefined ? {} : { partitionCount: options.partitionCount }),
    ...(options.bucketModes === undefined ? {} : { bucketModes: options.bucketModes }),
  };
  const allNodes = await prepareNodes(options, {
    ids: nodeIds(nodeCount + spareCount),
    config,
    dataDir,
    containerName: (id) => `${prefix}-${runId}-${id}`,
  });
  const cluster = attachDockerCluster({
    docker,
    dataDir,
    image,
    runId,
    config,
    nodes: allNodes,
    labels: { ...options.labels, [clusterLabel]: runId, [prefixLabel]: prefix },
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
    ...(options.policies === undefined ? {} : { policies: resolve(options.policies) }),
    removeDataDir: temporary,
  });
  try {
    await Promise.all(config.nodes.map((id) => cluster.addNode(id)));
  } catch (error) {
    await cluster.stop();
    if (error instanceof DockerClusterError || error instanceof DockerUnavailableError) {
      throw error;
    }
    throw dockerError("cannot start the docker cluster", error);
  }
  return cluster;
}

/** A run id: the time in base 36 and a random tail, short enough for container names. */
export function newRunId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

/** Ports, peer addresses (a proxy per link when asked) and config.json of every node. */
async function prepareNodes(
  options: DockerClusterOptions,
  plan: {
    ids: NodeId[];
    config: ClusterConfig;
    dataDir: string;
    containerName: (id: NodeId) => string;
  },
): Promise<DockerNode[]> {
  const { ids } = plan;
  const ports =
    options.basePort === undefined
      ? await randomFreePorts(ids.length)
      : fixedPorts(ids.length, options.basePort);
  const nodes: DockerNode[] = [];
  for (const [index, id] of ids.entries()) {
    const { httpPort, peerPort } = ports[index]!;
    const nodeDir = join(plan.dataDir, id);
    mkdirSync(nodeDir, { recursive: true });
    const peers: Record<NodeId, PeerAddress> = {};
    for (const [peerIndex, peer] of ids.entries()) {
      const port = ports[peerIndex]!.peerPort;
      const direct = { host: "127.0.0.1", port };
      peers[peer] =
        peer === id || options.peerAddress === undefined
          ? direct
          : await options.peerAddress(id, peer, port);
    }
    const nodeConfig = {
      ...nodeProcessConfig({
        nodeId: id,
        cluster: plan.config,
        httpPort,
        peerPort,
        peers,
        dataDir: "/data",
        ...(options.sync === undefined ? {} : { sync: options.sync }),
      }),
      ...(options.policies === undefined ? {} : { policies: policiesMount(options.policies).file }),
    };
    writeFileSync(join(nodeDir, "config.json"), JSON.stringify(nodeConfig, null, 2) + "\n");
    nodes.push({
      id,
      httpUrl: `http://127.0.0.1:${httpPort}`,
      httpPort,
      peerPort,
      dataDir: nodeDir,
      containerName: plan.containerName(id),
      containerId: "",
    });
  }
  return nodes;
}

export interface AttachOptions {
  docker: Dockerode;
  dataDir: string;
  image: string;
  runId: string;
  config: ClusterConfig;
  /** Every node, started or spare. A node whose `containerId` is "" has no container yet; a
   * recorded cluster may give container names as ids (Docker accepts either). */
  nodes: DockerNode[];
  /** Labels of the containers addNode creates. */
  labels: Record<string, string>;
  startTimeoutMs?: number;
  /** stop() removes `dataDir` too (a temporary one). */
  removeDataDir?: boolean;
  /** The host path of the policies module the nodes load (see DockerClusterOptions). */
  policies?: string;
}

/**
 * A handle on a cluster's containers: the one startDockerCluster returns, and the one a later
 * command (`neverstop kill n2` after `up --backend docker --detach`) builds from cluster.json.
 */
export function attachDockerCluster(options: AttachOptions): DockerCluster {
  const { docker, nodes: allNodes } = options;
  const byId = new Map(allNodes.map((node) => [node.id, node]));
  const ids = allNodes.map((node) => node.id);
  const nodeOf = (id: NodeId): DockerNode => {
    const found = byId.get(id);
    if (found === undefined)
      throw new Error(`Expected a node id among ${ids.join(", ")}, got ${id}`);
    return found;
  };
  const containerOf = (id: NodeId) => {
    const node = nodeOf(id);
    if (node.containerId === "") throw new DockerClusterError(`${id} was never started`);
    return docker.getContainer(node.containerId);
  };
  const startTimeoutMs = options.startTimeoutMs ?? startTimeoutMsDefault;
  const started = () => allNodes.filter((node) => node.containerId !== "");

  const cluster: DockerCluster = {
    config: options.config,
    dataDir: options.dataDir,
    image: options.image,
    runId: options.runId,
    get nodes() {
      return started();
    },
    get spareNodes() {
      return allNodes.filter((node) => node.containerId === "").map((node) => node.id);
    },
    node: nodeOf,
    async addNode(id) {
      const node = nodeOf(id);
      if (node.containerId !== "") throw new DockerClusterError(`${id} is already started`);
      node.containerId = await createNodeContainer(
        docker,
        node,
        options.image,
        { ...options.labels, [nodeLabel]: id },
        options.policies === undefined ? [] : policiesMount(options.policies).binds,
      );
      await docker.getContainer(node.containerId).start();
      await waitForHealth(docker, node, startTimeoutMs);
      return node;
    },
    async kill(id, signal = "SIGKILL") {
      const container = containerOf(id);
      if ((await cluster.state(id)) === "paused") await container.unpause();
      try {
        await container.kill({ signal });
      } catch (error) {
        if (statusOf(error) !== 409) throw dockerError(`cannot kill ${id}`, error); // 409: not running
      }
      if (signal === "SIGKILL" || signal === "SIGTERM" || signal === "SIGINT") {
        await container.wait({ condition: "not-running" });
      }
    },
    async pause(id) {
      if ((await cluster.state(id)) !== "running") return;
      await containerOf(id)
        .pause()
        .catch((error: unknown) => {
          throw dockerError(`cannot pause ${id}`, error);
        });
    },
    async unpause(id) {
      if ((await cluster.state(id)) !== "paused") return;
      await containerOf(id)
        .unpause()
        .catch((error: unknown) => {
          throw dockerError(`cannot unpause ${id}`, error);
        });
    },
    async restart(id) {
      const container = containerOf(id);
      const state = await cluster.state(id);
      if (state === "missing") throw new DockerClusterError(`${id}'s container was removed`);
      if (state === "paused") await container.unpause();
      if (state === "running" || state === "paused") await container.stop({ t: stopGraceSeconds });
      await container.start();
      await waitForHealth(docker, nodeOf(id), startTimeoutMs);
    },
    async logs(id, tailLines = 200) {
      const tail = Math.max(1, Math.min(logLinesMax, Math.floor(tailLines)));
      const output = await containerOf(id).logs({
        stdout: true,
        stderr: true,
        tail,
        follow: false,
      });
      return demultiplex(Buffer.isBuffer(output) ? output : Buffer.from(String(output)));
    },
    async state(id) {
      if (nodeOf(id).containerId === "") return "missing";
      try {
        const details = await containerOf(id).inspect();
        if (details.State.Paused) return "paused";
        return details.State.Running ? "running" : "exited";
      } catch (error) {
        if (statusOf(error) === 404) return "missing";
        throw dockerError(`cannot inspect ${id}`, error);
      }
    },
    async remove(id) {
      await removeContainers(docker, [nodeOf(id)]);
    },
    async stop() {
      await removeContainers(docker, allNodes);
      if (options.removeDataDir === true) rmSync(options.dataDir, { recursive: true, force: true });
    },
  };
  return cluster;
}

async function createNodeContainer(
  docker: Dockerode,
  node: DockerNode,
  image: string,
  labels: Record<string, string>,
  extraBinds: string[],
): Promise<string> {
  const user =
    typeof process.getuid === "function" && typeof process.getgid === "function"
      ? `${process.getuid()}:${process.getgid()}`
      : undefined;
  const container = await docker.createContainer({
    name: node.containerName,
    Image: image,
    Cmd: ["cluster/runtime/real/node-main.ts", "--config", "/data/config.json"],
    ...(user === undefined ? {} : { User: user }),
    Labels: labels,
    HostConfig: {
      // Loopback only: the host's network namespace, never a bridge and its private addresses.
      NetworkMode: "host",
      Binds: [`${node.dataDir}:/data`, ...extraBinds],
      RestartPolicy: { Name: "no" },
    },
  });
  return container.id;
}

/** The image's copy of the repository (the Dockerfile's WORKDIR). */
const imageRepositoryRoot = "/app";
const hostRepositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Where a policies module is seen inside a node container: its folder, mounted read-only at the
 * same place relative to /app when it is inside this repository (a lab's solution imports
 * cluster/core by relative path), at its own absolute path otherwise. A module outside the
 * repository (the lab kit writes one to a temporary folder that imports the learner's file by
 * its absolute path) also gets the repository, read-only, at its own absolute path.
 */
export function policiesMount(hostFile: string): { binds: string[]; file: string } {
  const file = resolve(hostFile);
  const folder = dirname(file);
  const inside = relative(hostRepositoryRoot, folder);
  const isInside = !inside.startsWith("..") && !isAbsolute(inside);
  const containerFolder = isInside ? posix.join(imageRepositoryRoot, ...inside.split(sep)) : folder;
  const repository = hostRepositoryRoot.replace(/[\\/]+$/, "");
  return {
    binds: [
      `${folder}:${containerFolder}:ro`,
      ...(isInside ? [] : [`${repository}:${repository}:ro`]),
    ],
    file: posix.join(containerFolder, basename(file)),
  };
}

/** Waits until the node answers /health, or explains in one line why its container stopped. */
async function waitForHealth(
  docker: Dockerode,
  node: DockerNode,
  timeoutMs: number,
): Promise<void> {
  const container = docker.getContainer(node.containerId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await fetchHealth(node.httpUrl, 1_000);
    if (health !== undefined && health["node"] === node.id) return;
    const details = await container.inspect();
    if (!details.State.Running) {
      const logs = demultiplex(
        (await container.logs({ stdout: true, stderr: true, tail: 20, follow: false })) as Buffer,
      );
      const lines = logs.split("\n").filter((line) => line.trim() !== "");
      const reason = lines.findLast((line) => line.startsWith("neverstop node")) ?? lines.at(-1);
      throw new DockerClusterError(
        `container ${node.containerName} (${node.id}) exited with status ${details.State.ExitCode} during start${
          reason === undefined ? "" : `: ${reason}`
        }`,
      );
    }
    if (Date.now() > deadline) {
      throw new DockerClusterError(
        `node ${node.id} in container ${node.containerName} did not answer ${node.httpUrl}/health within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, healthPollMs));
  }
}

/** Removes containers by force (a paused one included), with their anonymous volumes. */
async function removeContainers(docker: Dockerode, nodes: DockerNode[]): Promise<void> {
  await Promise.all(
    nodes
      .filter((node) => node.containerId !== "")
      .map(async (node) => {
        try {
          await docker.getContainer(node.containerId).remove({ force: true, v: true });
        } catch (error) {
          // 404: gone already; 409: its removal is under way (a Ctrl-C cleanup got there first)
          if (statusOf(error) !== 404 && statusOf(error) !== 409)
            throw dockerError(`cannot remove ${node.id}`, error);
        }
      }),
  );
}

/**
 * Removes the containers of clusters started with `namePrefix` more than `olderThanMs` ago: what
 * a test killed before its cleanup could run left behind. Younger ones may belong to a run going
 * on right now, and other prefixes to someone's `neverstop up --backend docker`.
 */
export async function removeStaleDockerClusters(
  docker: Dockerode,
  namePrefix: string,
  olderThanMs: number,
): Promise<number> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${prefixLabel}=${namePrefix}`] },
  });
  const stale = containers.filter((each) => each.Created * 1000 < Date.now() - olderThanMs);
  await Promise.all(
    stale.map(
      (each) =>
        docker
          .getContainer(each.Id)
          .remove({ force: true, v: true })
          .catch(() => {}), // removed meanwhile by its own run
    ),
  );
  return stale.length;
}

/**
 * Docker's log stream without a terminal multiplexes stdout and stderr in frames: one byte of
 * stream, three zero bytes, a four-byte big-endian length, then the payload.
 */
export function demultiplex(buffer: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  const looksFramed = buffer.length >= 8 && buffer[0]! <= 2 && buffer.readUIntBE(1, 3) === 0;
  if (!looksFramed) return buffer.toString("utf8");
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    chunks.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(chunks).toString("utf8");
}

function dockerError(what: string, error: unknown): DockerClusterError {
  return new DockerClusterError(`${what}: ${oneLine(error)}`, { cause: error });
}
