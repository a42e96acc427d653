// A whole Docker cluster, as `npx neverstop up --backend docker` starts it (lesson 3, "network
// splits", and lesson 5, "systems that never stop", on containers): the node image (built from
// the sources offline when missing), a Toxiproxy container, a proxy on every directed link, the
// node containers dialling each other through those proxies, and the record in
// `<data-dir>/cluster.json` that every later command reads. The record is the local backend's,
// plus `backend: "docker"` and the containers' names, so `status`, `down`, `join`/`leave` and
// every fault command find the cluster the same way:
//
//   npx neverstop up --backend docker --nodes 3 --detach
//   npx neverstop partition n1 n2,n3     # Toxiproxy proxies, as on processes
//   npx neverstop kill n3                # docker kill -s KILL
//   npx neverstop restart n3             # docker start, then wait for /health
//   npx neverstop skew n2 +30s           # the node's injected clock (its admin route)
//   npx neverstop down                   # removes every container of the run
//
// Layout: every container is on the host network and listens on 127.0.0.1 only (never a bridge
// and its private addresses: see the Dockerfile). Ports are free ones picked at random, so a
// Docker cluster never collides with a local one; `status` shows them.

import type Dockerode from "dockerode";
import type { ClusterConfig, NodeId } from "../../../cluster/core/types.ts";
import { fetchHealth } from "../../../cluster/runtime/real/cluster.ts";
import type { SyncPolicyName } from "../../../cluster/runtime/real/node-config.ts";
import { freePort } from "../../toxiproxy/locate.ts";
import { ProcessNemesisBackend } from "../local.ts";
import { LinkTopology } from "../topology.ts";
import { containersOf } from "../docker.ts";
import {
  attachDockerCluster,
  clusterLabel,
  demultiplex,
  DockerClusterError,
  newRunId,
  nodeLabel,
  prefixLabel,
  startDockerCluster,
  type DockerCluster,
  type DockerNode,
} from "./backend.ts";
import { connectDocker, oneLine, requireEngine, statusOf } from "./engine.ts";
import { ensureNodeImage } from "./node-image.ts";

const toxiproxyStartTimeoutMs = 30_000;
const toxiproxyPollMs = 200;
export const namePrefixDefault = "neverstop";
/** The label value that marks the Toxiproxy container (nodes carry their id). */
const toxiproxyRole = "toxiproxy";

/** One node as cluster.json records it (the local backend's fields, plus its container). */
export interface RecordedDockerNode {
  id: NodeId;
  httpUrl: string;
  httpPort: number;
  peerPort: number;
  /** Always undefined here: a container's process is Docker's business. */
  pid: undefined;
  container: string;
  clientUrl?: string;
}

/**
 * cluster.json of a Docker cluster: the local record's fields (cli/local-cluster.ts reads them
 * for every backend) and `docker`, what finds the containers again.
 */
export interface DockerClusterRecord {
  backend: "docker";
  dataDir: string;
  startedAt: string;
  detached: boolean;
  supervisorPid?: number;
  sync: string;
  nodes: RecordedDockerNode[];
  toxiproxy: { url: string; kind: "embedded" };
  docker: {
    runId: string;
    image: string;
    namePrefix: string;
    toxiproxyContainer: string;
    config: ClusterConfig;
    /** The host path of the policies module the nodes load, if any (a restart mounts it again). */
    policies?: string;
    /** Every node, started or spare, with its container's name ("" while a spare). */
    nodes: DockerNode[];
  };
}

export function isDockerRecord(record: { backend?: string }): record is DockerClusterRecord {
  return record.backend === "docker" && "docker" in record;
}

export interface DockerStackOptions {
  nodes: number;
  spareNodes?: number;
  sync?: SyncPolicyName;
  /** A policies module every node loads (mounted read-only into each container). */
  policies?: string;
  /** An existing folder: node folders and cluster.json go there. */
  dataDir: string;
  detach: boolean;
  /** A published image to use (pulled when missing). Default: built from the sources. */
  image?: string;
  defaults?: Partial<ClusterConfig["defaults"]>;
  partitionCount?: number;
  bucketModes?: ClusterConfig["bucketModes"];
  namePrefix?: string;
  /** The run's label value (removeRunContainers finds its containers by it). Default: new. */
  runId?: string;
  startTimeoutMs?: number;
  docker?: Dockerode;
  log?: (line: string) => void;
}

export interface DockerStack {
  record: DockerClusterRecord;
  cluster: DockerCluster;
  toxiproxyUrl: string;
  /** Removes every container of the run (nodes, spares, Toxiproxy). */
  stop(): Promise<void>;
}

/** Starts the image, the Toxiproxy container, the proxies and the nodes; returns the record. */
export async function startDockerStack(options: DockerStackOptions): Promise<DockerStack> {
  const docker = options.docker ?? connectDocker();
  const log = options.log ?? (() => {});
  await requireEngine(docker);
  const image = await ensureNodeImage(docker, {
    ...(options.image === undefined ? {} : { image: options.image }),
    log,
  });
  const runId = options.runId ?? newRunId();
  const namePrefix = options.namePrefix ?? namePrefixDefault;
  const toxiproxy = await startToxiproxyContainer(docker, image.tag, runId, namePrefix);
  const stopAll = async () => {
    await removeRunContainers(docker, runId);
  };
  try {
    const topology = new LinkTopology(toxiproxy.url);
    const cluster = await startDockerCluster({
      docker,
      nodes: options.nodes,
      spareNodes: options.spareNodes ?? 0,
      image: image.tag,
      dataDir: options.dataDir,
      runId,
      namePrefix,
      peerAddress: topology.peerAddress,
      ...pick(options, [
        "sync",
        "defaults",
        "partitionCount",
        "bucketModes",
        "startTimeoutMs",
        "policies",
      ]),
    });
    const clientUrls = await topology.addClientProxies(cluster.nodes);
    const record: DockerClusterRecord = {
      backend: "docker",
      dataDir: options.dataDir,
      startedAt: new Date().toISOString(),
      detached: options.detach,
      sync: options.sync ?? "always",
      nodes: cluster.nodes.map((node) => recordedNode(node, clientUrls[node.id])),
      toxiproxy: { url: toxiproxy.url, kind: "embedded" },
      docker: {
        runId,
        image: image.tag,
        namePrefix,
        toxiproxyContainer: toxiproxy.containerName,
        config: cluster.config,
        ...(options.policies === undefined ? {} : { policies: options.policies }),
        nodes: [...cluster.nodes, ...cluster.spareNodes.map((id) => cluster.node(id))],
      },
    };
    return { record, cluster, toxiproxyUrl: toxiproxy.url, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function recordedNode(node: DockerNode, clientUrl: string | undefined): RecordedDockerNode {
  return {
    id: node.id,
    httpUrl: node.httpUrl,
    httpPort: node.httpPort,
    peerPort: node.peerPort,
    pid: undefined,
    container: node.containerName,
    ...(clientUrl === undefined ? {} : { clientUrl }),
  };
}

function pick<T extends object, K extends keyof T>(object: T, keys: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (object[key] !== undefined) picked[key] = object[key];
  return picked;
}

/** The embedded Toxiproxy in a container of its own, on a free port of the host's loopback. */
async function startToxiproxyContainer(
  docker: Dockerode,
  image: string,
  runId: string,
  namePrefix: string,
): Promise<{ url: string; containerName: string }> {
  const port = await freePort();
  const containerName = `${namePrefix}-${runId}-${toxiproxyRole}`;
  const container = await docker.createContainer({
    name: containerName,
    Image: image,
    Cmd: ["chaos/nemesis/docker/container-toxiproxy.ts", "--port", String(port)],
    Labels: { [clusterLabel]: runId, [prefixLabel]: namePrefix, [nodeLabel]: toxiproxyRole },
    HostConfig: { NetworkMode: "host", RestartPolicy: { Name: "no" } },
  });
  await container.start();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + toxiproxyStartTimeoutMs;
  for (;;) {
    const answered = await fetch(`${url}/version`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) return { url, containerName };
    const details = await container.inspect();
    if (!details.State.Running || Date.now() > deadline) {
      const logs = demultiplex(
        (await container.logs({ stdout: true, stderr: true, tail: 5, follow: false })) as Buffer,
      );
      await removeRunContainers(docker, runId);
      throw new DockerClusterError(
        `the Toxiproxy container ${containerName} did not answer ${url}/version: ${
          logs.trim().split("\n").at(-1) ?? "no output"
        }`,
      );
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, toxiproxyPollMs));
  }
}

/** Removes every container labelled with the run (paused ones included). Returns how many. */
export async function removeRunContainers(docker: Dockerode, runId: string): Promise<number> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${clusterLabel}=${runId}`] },
  });
  await Promise.all(
    containers.map(async (each) => {
      try {
        await docker.getContainer(each.Id).remove({ force: true, v: true });
      } catch (error) {
        if (statusOf(error) !== 404 && statusOf(error) !== 409) {
          throw new DockerClusterError(`cannot remove ${each.Names[0]}: ${oneLine(error)}`);
        }
      }
    }),
  );
  return containers.length;
}

/** The containers of a recorded cluster, as a handle (the same one startDockerCluster gives). */
export function openDockerCluster(
  record: DockerClusterRecord,
  docker: Dockerode = connectDocker(),
): DockerCluster {
  const started = new Set(record.nodes.map((node) => node.id));
  return attachDockerCluster({
    docker,
    dataDir: record.dataDir,
    image: record.docker.image,
    runId: record.docker.runId,
    config: record.docker.config,
    // Docker finds a container by its name as well as by its id.
    nodes: record.docker.nodes.map((node) => ({
      ...node,
      containerId: started.has(node.id) ? node.containerName : "",
    })),
    labels: {
      [clusterLabel]: record.docker.runId,
      [prefixLabel]: record.docker.namePrefix,
    },
    ...(record.docker.policies === undefined ? {} : { policies: record.docker.policies }),
  });
}

/** The nemesis backend of a recorded Docker cluster: containers, its Toxiproxy, node clocks. */
export function recordedDockerBackend(record: DockerClusterRecord): ProcessNemesisBackend {
  return new ProcessNemesisBackend(
    "docker",
    containersOf(openDockerCluster(record)),
    record.toxiproxy?.url,
  );
}

/** `neverstop down` for a Docker cluster: every container of the run goes. */
export async function stopDockerStack(record: DockerClusterRecord): Promise<string> {
  const docker = connectDocker();
  await requireEngine(docker);
  const removed = await removeRunContainers(docker, record.docker.runId);
  return `removed ${removed} container(s) of the docker cluster ${record.docker.runId} (nodes and Toxiproxy)`;
}

export interface DockerNodeStatus {
  id: NodeId;
  httpUrl: string;
  clientUrl?: string;
  container: string;
  state: "running" | "paused" | "exited" | "missing";
  healthy: boolean;
}

/** Each recorded node's container state and health. */
export async function dockerStatus(record: DockerClusterRecord): Promise<DockerNodeStatus[]> {
  const cluster = openDockerCluster(record);
  return Promise.all(
    record.nodes.map(async (node) => ({
      id: node.id,
      httpUrl: node.httpUrl,
      ...(node.clientUrl === undefined ? {} : { clientUrl: node.clientUrl }),
      container: cluster.node(node.id).containerName,
      state: await cluster.state(node.id),
      healthy: (await fetchHealth(node.httpUrl, 1_000)) !== undefined,
    })),
  );
}
