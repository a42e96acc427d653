// The breakable topology of a local cluster (lesson 3, "network splits"): one Toxiproxy proxy
// per directed node-to-node link and one per client-to-node link, so that every partition shape
// is a set of proxies switched off and every slow link a toxic on one proxy.
//
//   n1 ──► proxy `n1->n2` ──► n2's peer port      (n1 dials the proxy; it never knows)
//   client ──► proxy `client->n3` ──► n3's HTTP port
//
// Port layout of `npx neverstop up` with base port P (default 8080), for S nodes (i, j in 1..S):
//
//   node i HTTP (direct)        P + i                       8081..8085
//   node i peers (direct)       P + 1000 + i                9081..9085
//   Toxiproxy HTTP API          P + 394                     8474 (Toxiproxy's own default)
//   proxy `client->ni`          P + 2000 + i                10081..10085
//   proxy `ni->nj`              P + 3000 + 100 * i + j      11182 (n1->n2) .. 11584 (n5->n4)
//
// Tests and the harness use no fixed ports: every proxy listens on 127.0.0.1:0 and the address
// it reports is what the node dials.

import { Toxiproxy } from "toxiproxy-node-client";
import type { NodeId } from "../../cluster/core/types.ts";
import { portIsFree } from "../../cluster/runtime/real/cluster.ts";
import type { PeerAddress } from "../../cluster/runtime/real/transport.ts";

export const toxiproxyPortOffset = 394;
export const clientProxyPortOffset = 2000;
export const linkProxyPortOffset = 3000;
/** Node indexes stay below this, so that 100 * i + j names one link. */
const linkIndexMax = 99;

export interface PortLayout {
  basePort: number;
  nodeCount: number;
}

export function toxiproxyPortOf(layout: PortLayout): number {
  return layout.basePort + toxiproxyPortOffset;
}

export function clientProxyPortOf(layout: PortLayout, index: number): number {
  return layout.basePort + clientProxyPortOffset + index;
}

export function linkProxyPortOf(layout: PortLayout, from: number, to: number): number {
  return layout.basePort + linkProxyPortOffset + 100 * from + to;
}

/** Every port the proxies of a layout listen on (the Toxiproxy API's is separate), each with
 * what it is, for the "port in use" check before anything starts. */
export function proxyPorts(layout: PortLayout): { port: number; what: string }[] {
  if (layout.nodeCount > linkIndexMax) {
    throw new RangeError(`Expected at most ${linkIndexMax} nodes, got ${layout.nodeCount}`);
  }
  const ports: { port: number; what: string }[] = [];
  for (let index = 1; index <= layout.nodeCount; index++) {
    ports.push({ port: clientProxyPortOf(layout, index), what: `proxy client->n${index}` });
  }
  for (let from = 1; from <= layout.nodeCount; from++) {
    for (let to = 1; to <= layout.nodeCount; to++) {
      if (from !== to)
        ports.push({ port: linkProxyPortOf(layout, from, to), what: `proxy n${from}->n${to}` });
    }
  }
  const highest = Math.max(...ports.map(({ port }) => port));
  if (highest > 65_535) {
    throw new RangeError(
      `Expected \`--base-port\` low enough for the proxies (the last one, ${ports.at(-1)!.what}, would need port ${highest})`,
    );
  }
  return ports;
}

/** The 1-based index of `n3`. */
function indexOf(node: NodeId): number {
  const match = /^n([1-9][0-9]*)$/.exec(node);
  if (match === null) throw new RangeError(`Expected a node id like n3, got ${node}`);
  return Number(match[1]);
}

/**
 * Creates the proxies of a cluster on a Toxiproxy server. `peerAddress` is the hook
 * startLocalCluster calls for every directed link before the nodes start; client proxies come
 * after, once the nodes' HTTP ports are known. With a layout the proxies take its fixed ports,
 * without one they listen on 127.0.0.1:0.
 */
export class LinkTopology {
  readonly client: Toxiproxy;
  /** Link name -> the address its proxy listens on. */
  readonly listens = new Map<string, string>();

  constructor(
    readonly toxiproxyUrl: string,
    private readonly layout?: PortLayout,
  ) {
    this.client = new Toxiproxy(toxiproxyUrl);
  }

  readonly peerAddress = async (
    from: NodeId,
    to: NodeId,
    peerPort: number,
  ): Promise<PeerAddress> => {
    const port =
      this.layout === undefined ? 0 : linkProxyPortOf(this.layout, indexOf(from), indexOf(to));
    return this.create(`${from}->${to}`, port, peerPort);
  };

  /** Creates `client->ni` for each node; returns each node's client URL through its proxy. */
  async addClientProxies(
    nodes: readonly { id: NodeId; httpPort: number }[],
  ): Promise<Record<NodeId, string>> {
    const urls: Record<NodeId, string> = {};
    for (const node of nodes) {
      const port = this.layout === undefined ? 0 : clientProxyPortOf(this.layout, indexOf(node.id));
      const address = await this.create(`client->${node.id}`, port, node.httpPort);
      urls[node.id] = `http://${address.host}:${address.port}`;
    }
    return urls;
  }

  /** Deletes the proxies this topology created (a shared, external Toxiproxy keeps the rest). */
  async remove(): Promise<void> {
    for (const name of this.listens.keys()) {
      await this.client.api.delete(`${this.toxiproxyUrl}/proxies/${name}`).catch(() => undefined);
    }
  }

  /** POST /populate creates the proxy, or replaces a stale one of the same name (a server that
   * outlived an earlier cluster), where POST /proxies would answer 409. */
  private async create(
    name: string,
    listenPort: number,
    upstreamPort: number,
  ): Promise<PeerAddress> {
    let proxies: Awaited<ReturnType<Toxiproxy["populate"]>>;
    try {
      proxies = await this.client.populate([
        {
          name,
          listen: `127.0.0.1:${listenPort}`,
          upstream: `127.0.0.1:${upstreamPort}`,
          enabled: true,
        },
      ]);
    } catch (error) {
      // toxiproxy-node-client reports only "status code 500", not the server's reason. The one
      // a learner can act on is a port taken since `up` checked it (an outgoing connection of
      // another program may hold it: ports from 32768 up are the kernel's ephemeral range).
      const taken = listenPort !== 0 && !(await portIsFree(listenPort));
      const reason = taken
        ? `port ${listenPort} is already in use: stop what uses it or pick another --base-port`
        : (error as Error).message;
      throw new Error(
        `cannot create the proxy ${name} on 127.0.0.1:${listenPort} at ${this.toxiproxyUrl}: ${reason}`,
        { cause: error },
      );
    }
    const listen = proxies[name]?.listen;
    const match = /^(.*):([0-9]+)$/.exec(listen ?? "");
    if (match === null) throw new Error(`Toxiproxy reported no listen address for ${name}`);
    const host = match[1] === "localhost" || match[1] === "[::]" ? "127.0.0.1" : match[1]!;
    this.listens.set(name, `${host}:${match[2]}`);
    return { host, port: Number(match[2]) };
  }
}
