// The local nemesis backend (lesson 5, "systems that never stop": a node is a process, and the
// cluster must not care when one dies): node processes on 127.0.0.1 killed with -9, frozen with
// SIGSTOP and thawed with SIGCONT, started again from their own config; the network through the
// Toxiproxy proxy on every link (toxiproxy-links.ts); clocks through each node's loopback admin
// route `PUT /admin/clock {"skewMs": N}` (the node's injected clock, never the system's).
//
// The process side is an interface, `NodeProcesses`, with two implementations: a cluster this
// process started (startLocalCluster's handle, below) and a detached cluster known only from
// its `.neverstop/cluster.json` (cli/recorded-cluster.ts). Docker's containers are a third
// (docker.ts): the network and clock sides are the same for all three.

import type { NodeId } from "../../cluster/core/types.ts";
import type { LocalCluster } from "../../cluster/runtime/real/cluster.ts";
import type { DirectedLink } from "./partitions.ts";
import {
  allLinkNames,
  linkName,
  type LinkCutMode,
  type LinkToxic,
  type NemesisBackend,
} from "./nemesis.ts";
import { ToxiproxyLinks } from "./toxiproxy-links.ts";

const adminTimeoutMs = 5_000;

/** The processes (or containers) of a cluster, as the nemesis sees them. */
export interface NodeProcesses {
  readonly nodes: readonly NodeId[];
  /** The node's own HTTP address (not through a proxy): the admin route lives there. */
  httpUrl(node: NodeId): string;
  /** kill -9; resolves once the process is gone. */
  kill(node: NodeId): Promise<void>;
  pause(node: NodeId): Promise<void>;
  resume(node: NodeId): Promise<void>;
  /** Starts the node (stopping it first if it runs) and waits until it answers /health. */
  restart(node: NodeId): Promise<void>;
  /** Whether the node runs now (paused counts as running). */
  isRunning(node: NodeId): boolean | Promise<boolean>;
}

/** Processes, Toxiproxy links and admin-route clocks: the local and docker backends. Without a
 * Toxiproxy (`up --no-toxiproxy`) the process and clock faults still work; link faults say why
 * they cannot. */
export class ProcessNemesisBackend implements NemesisBackend {
  private readonly toxiproxyLinks: ToxiproxyLinks | undefined;
  readonly nodes: readonly NodeId[];

  constructor(
    readonly kind: "local" | "docker",
    readonly processes: NodeProcesses,
    toxiproxyUrl: string | undefined,
  ) {
    this.nodes = processes.nodes;
    this.toxiproxyLinks =
      toxiproxyUrl === undefined
        ? undefined
        : new ToxiproxyLinks(toxiproxyUrl, allLinkNames(processes.nodes));
  }

  get links(): ToxiproxyLinks {
    if (this.toxiproxyLinks === undefined) {
      throw new Error(
        "this cluster has no Toxiproxy on its links (started with --no-toxiproxy): links cannot be cut or slowed",
      );
    }
    return this.toxiproxyLinks;
  }

  async cutLinks(links: readonly DirectedLink[], how: LinkCutMode): Promise<void> {
    return this.links.cut(links.map(linkName), how);
  }

  async healLinks(): Promise<void> {
    return this.links.heal();
  }

  async addToxic(links: readonly string[], toxic: LinkToxic): Promise<void> {
    return this.links.addToxic(links, toxic);
  }

  async removeToxic(links: readonly string[], kind: LinkToxic["kind"]): Promise<void> {
    return this.links.removeToxic(links, kind);
  }

  kill(node: NodeId): Promise<void> {
    return this.processes.kill(node);
  }

  restart(node: NodeId): Promise<void> {
    return this.processes.restart(node);
  }

  pause(node: NodeId): Promise<void> {
    return this.processes.pause(node);
  }

  resume(node: NodeId): Promise<void> {
    return this.processes.resume(node);
  }

  skew(node: NodeId, offsetMs: number): Promise<void> {
    return setClockSkew(this.processes.httpUrl(node), offsetMs);
  }

  async reset(): Promise<void> {
    await this.toxiproxyLinks?.reset();
    for (const node of this.nodes) {
      if (!(await this.processes.isRunning(node))) continue;
      await this.processes.resume(node);
      await this.skew(node, 0);
    }
  }
}

/** PUT /admin/clock on the node itself; one line when it does not answer or refuses. */
export async function setClockSkew(httpUrl: string, skewMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${httpUrl}/admin/clock`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ skewMs }),
      signal: AbortSignal.timeout(adminTimeoutMs),
    });
  } catch {
    throw new Error(`${httpUrl} did not answer PUT /admin/clock within ${adminTimeoutMs} ms`);
  }
  const text = await response.text();
  if (response.status !== 200 && response.status !== 204) {
    throw new Error(`${httpUrl}/admin/clock answered ${response.status}: ${text.slice(0, 200)}`);
  }
}

/** The processes of a cluster this process started with startLocalCluster. */
export function processesOfCluster(cluster: LocalCluster): NodeProcesses {
  return {
    nodes: cluster.nodes.map((node) => node.id),
    httpUrl: (node) => cluster.node(node).httpUrl,
    kill: (node) => cluster.kill(node, "SIGKILL"),
    pause: (node) => cluster.kill(node, "SIGSTOP"),
    resume: (node) => cluster.kill(node, "SIGCONT"),
    restart: (node) => cluster.restart(node),
    isRunning: (node) => cluster.node(node).pid !== undefined,
  };
}

/** The local backend for a cluster started here whose links run through `toxiproxyUrl`. */
export function localNemesisBackend(
  cluster: LocalCluster,
  toxiproxyUrl: string,
): ProcessNemesisBackend {
  return new ProcessNemesisBackend("local", processesOfCluster(cluster), toxiproxyUrl);
}
