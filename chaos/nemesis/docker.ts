// The docker nemesis backend (lesson 5, "systems that never stop", on containers): the same
// faults as the local backend, with the containers of chaos/nemesis/docker/backend.ts in place
// of processes. kill is `docker kill -s KILL`, pause is the cgroup freezer (`docker pause`: the
// node stops answering without dying), restart is `docker start` and a wait for /health. The
// network goes through the same Toxiproxy proxies (`n1->n2`, `client->n3`) the compose layout
// creates, and clocks through each node's admin route, as on processes.

import type { NodeId } from "../../cluster/core/types.ts";
import type { DockerCluster } from "./docker/backend.ts";
import { ProcessNemesisBackend, type NodeProcesses } from "./local.ts";

/** A Docker cluster's containers, seen as the nemesis sees processes. */
export function containersOf(cluster: DockerCluster): NodeProcesses {
  return {
    nodes: cluster.nodes.map((node) => node.id),
    httpUrl: (node: NodeId) => cluster.node(node).httpUrl,
    kill: (node: NodeId) => cluster.kill(node, "SIGKILL"),
    pause: (node: NodeId) => cluster.pause(node),
    resume: async (node: NodeId) => {
      // `docker unpause` of a running container is an error; resume means "make it run".
      if ((await cluster.state(node)) === "paused") await cluster.unpause(node);
    },
    restart: (node: NodeId) => cluster.restart(node),
    isRunning: async (node: NodeId) => {
      const state = await cluster.state(node);
      return state === "running" || state === "paused";
    },
  };
}

/** The docker backend for a cluster whose links run through the Toxiproxy at `toxiproxyUrl`. */
export function dockerNemesisBackend(
  cluster: DockerCluster,
  toxiproxyUrl: string,
): ProcessNemesisBackend {
  return new ProcessNemesisBackend("docker", containersOf(cluster), toxiproxyUrl);
}
