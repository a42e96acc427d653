// Where `neverstop up --backend local|docker` finds how to start a cluster (lesson 5, "systems
// that never stop", on your laptop's processes or in containers). A backend takes the options
// `up` has checked and returns the cluster's record (what cluster.json holds, which `status`,
// `down` and the fault commands read) and a way to stop it. The local backend is
// startCluster() in local-cluster.ts, the Docker backend startDockerBackend() in
// docker-cluster.ts (containers and a Toxiproxy container, chaos/nemesis/docker/stack.ts); a
// backend with no implementation yet is `undefined`, and `up` refuses it in one line.

import { startCluster, type ClusterRecord, type StartClusterOptions } from "./local-cluster.ts";

export const clusterBackendNames = ["local", "docker"] as const;
export type ClusterBackendName = (typeof clusterBackendNames)[number];

/** A running cluster as `up` sees it: its record, and how to stop it (Ctrl-C in the foreground). */
export interface StartedBackendCluster {
  record: ClusterRecord;
  stop(): Promise<void>;
}

/** Starts a cluster from `up`'s checked options; failures are CliErrors (one line). */
export type ClusterBackend = (options: StartClusterOptions) => Promise<StartedBackendCluster>;

export const clusterBackends: Record<ClusterBackendName, ClusterBackend | undefined> = {
  local: startCluster,
  // Loaded only when asked for: local commands never load dockerode.
  docker: async (options) => (await import("./docker-cluster.ts")).startDockerBackend(options),
};
