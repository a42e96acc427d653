// Where everything listens when the cluster runs in containers (lesson 3, "network splits": a
// Toxiproxy proxy sits on every directed link, so any split is a set of disabled proxies).
// docker-compose.yml, docker-compose.host.yml and the docker backend all follow this layout, and
// the container entries (container-node.ts, toxiproxy-populate.ts) compute it from flags, so the
// compose files carry no JSON that could drift from the code.
//
// With the compose layout (node base port 18080, link proxies from 20000, clients from 8080):
//
//   n3 serves clients on 127.0.0.1:18083 and peers on 127.0.0.1:19083
//   n1 reaches n3 through the proxy `n1->n3` on 127.0.0.1:20103 (20000 + 100 * from + to)
//   clients reach n3 through the proxy `client->n3` on port 8083
//
// Everything is loopback: in the plain compose file all containers share the Toxiproxy
// container's network namespace, and in the host override they share the host's.

import type { ClusterConfig, NodeId } from "../../../cluster/core/types.ts";
import type {
  NodeProcessConfig,
  SyncPolicyName,
} from "../../../cluster/runtime/real/node-config.ts";
import type { PeerAddress } from "../../../cluster/runtime/real/transport.ts";

export const nodeCountMax = 16;
/** Peer ports sit this far above HTTP ports (as in cluster/runtime/real/cluster.ts). */
export const peerPortOffset = 1000;

export interface ComposeLayout {
  nodeCount: number;
  /** Node i serves HTTP on nodeBasePort + i and peers on nodeBasePort + 1000 + i. */
  nodeBasePort: number;
  /** The proxy `ni->nj` listens on linkProxyBasePort + 100 * i + j. */
  linkProxyBasePort: number;
  /** The proxy `client->ni` listens on clientBasePort + i. */
  clientBasePort: number;
}

export const composeLayout: ComposeLayout = {
  nodeCount: 5,
  nodeBasePort: 18080,
  linkProxyBasePort: 20000,
  clientBasePort: 8080,
};

export interface ProxyDefinition {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

export function nodeIds(nodeCount: number): NodeId[] {
  checkNodeCount(nodeCount);
  return Array.from({ length: nodeCount }, (_, index) => `n${index + 1}`);
}

/** 1 for n1: node ids are `n` and a 1-based index. */
export function nodeIndexOf(nodeId: NodeId, nodeCount: number): number {
  const index = /^n([1-9][0-9]?)$/.exec(nodeId)?.[1];
  if (index === undefined || Number(index) > nodeCount) {
    throw new Error(`Expected a node id from n1 to n${nodeCount}, got ${nodeId}`);
  }
  return Number(index);
}

export function httpPortOf(layout: ComposeLayout, index: number): number {
  return layout.nodeBasePort + index;
}

export function peerPortOf(layout: ComposeLayout, index: number): number {
  return layout.nodeBasePort + peerPortOffset + index;
}

export function linkProxyPortOf(layout: ComposeLayout, from: number, to: number): number {
  return layout.linkProxyBasePort + 100 * from + to;
}

/** Checks that no two listeners of the layout share a port and every port is a valid one. */
export function checkLayout(layout: ComposeLayout): void {
  checkNodeCount(layout.nodeCount);
  const seen = new Map<number, string>();
  const claim = (port: number, what: string) => {
    if (!Number.isInteger(port) || port < 1024 || port > 65535) {
      throw new Error(`Expected the port of ${what} to be from 1024 to 65535, got ${port}`);
    }
    const other = seen.get(port);
    if (other !== undefined) throw new Error(`${what} and ${other} would both use port ${port}`);
    seen.set(port, what);
  };
  for (let index = 1; index <= layout.nodeCount; index++) {
    claim(httpPortOf(layout, index), `n${index} HTTP`);
    claim(peerPortOf(layout, index), `n${index} peers`);
    claim(layout.clientBasePort + index, `client->n${index}`);
    for (let to = 1; to <= layout.nodeCount; to++) {
      if (to !== index) claim(linkProxyPortOf(layout, index, to), `n${index}->n${to}`);
    }
  }
}

/**
 * The Toxiproxy proxies of the layout, for POST /populate: one per directed node-to-node link
 * and one per client-to-node link. `clientListenHost` is 0.0.0.0 only inside the plain compose
 * file's private namespace (Docker publishes those ports on the host's 127.0.0.1).
 */
export function composeProxies(
  layout: ComposeLayout,
  clientListenHost: "127.0.0.1" | "0.0.0.0",
): ProxyDefinition[] {
  checkLayout(layout);
  const proxies: ProxyDefinition[] = [];
  for (let index = 1; index <= layout.nodeCount; index++) {
    proxies.push({
      name: `client->n${index}`,
      listen: `${clientListenHost}:${layout.clientBasePort + index}`,
      upstream: `127.0.0.1:${httpPortOf(layout, index)}`,
      enabled: true,
    });
  }
  for (let from = 1; from <= layout.nodeCount; from++) {
    for (let to = 1; to <= layout.nodeCount; to++) {
      if (from === to) continue;
      proxies.push({
        name: `n${from}->n${to}`,
        listen: `127.0.0.1:${linkProxyPortOf(layout, from, to)}`,
        upstream: `127.0.0.1:${peerPortOf(layout, to)}`,
        enabled: true,
      });
    }
  }
  return proxies;
}

/** The cluster configuration every node of a container cluster shares (as cluster.ts's). */
export function clusterConfigFor(
  nodeCount: number,
  defaults: Partial<ClusterConfig["defaults"]> = {},
): ClusterConfig {
  return {
    nodes: nodeIds(nodeCount),
    partitionCount: 64,
    defaults: {
      n: Math.min(3, nodeCount),
      r: Math.min(2, nodeCount),
      w: Math.min(2, nodeCount),
      timeoutMs: 5_000,
      ...defaults,
    },
    bucketModes: {},
  };
}

export interface NodeConfigOptions {
  nodeId: NodeId;
  cluster: ClusterConfig;
  httpPort: number;
  peerPort: number;
  peers: Record<NodeId, PeerAddress>;
  dataDir: string;
  sync?: SyncPolicyName;
}

/** One node's process configuration; logs go to stderr so `docker logs` shows them. */
export function nodeProcessConfig(options: NodeConfigOptions): NodeProcessConfig {
  return {
    nodeId: options.nodeId,
    cluster: options.cluster,
    peers: options.peers,
    httpPort: options.httpPort,
    peerPort: options.peerPort,
    dataDir: options.dataDir,
    sync: options.sync ?? "always",
    logToStderr: true,
  };
}

/** A node of the compose layout; peers through the link proxies unless `direct`. */
export function composeNodeConfig(
  layout: ComposeLayout,
  nodeId: NodeId,
  dataDir: string,
  direct: boolean,
  sync: SyncPolicyName = "always",
): NodeProcessConfig {
  checkLayout(layout);
  const index = nodeIndexOf(nodeId, layout.nodeCount);
  const peers: Record<NodeId, PeerAddress> = {};
  for (let to = 1; to <= layout.nodeCount; to++) {
    const port =
      direct || to === index ? peerPortOf(layout, to) : linkProxyPortOf(layout, index, to);
    peers[`n${to}`] = { host: "127.0.0.1", port };
  }
  return nodeProcessConfig({
    nodeId,
    cluster: clusterConfigFor(layout.nodeCount),
    httpPort: httpPortOf(layout, index),
    peerPort: peerPortOf(layout, index),
    peers,
    dataDir,
    sync,
  });
}

function checkNodeCount(nodeCount: number): void {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > nodeCountMax) {
    throw new Error(
      `Expected the node count to be an integer from 1 to ${nodeCountMax}, got ${nodeCount}`,
    );
  }
}
