// Network faults through Toxiproxy's HTTP API (lesson 3, "network splits"), shared by the local
// and the docker backends: each directed link of the cluster is one proxy (`n1->n2`,
// `client->n3`), so a partition of any shape is a set of proxies switched off, and latency,
// bandwidth and flakiness are toxics on chosen proxies. toxiproxy-node-client talks to the
// embedded server and to a real Toxiproxy alike.
//
//   cut, "refuse"  the proxy is disabled: it closes its listener and every open connection, so
//                  the sender's next connect is refused (the node notices at once: 503, not 504)
//   cut, "drop"    a timeout toxic with timeout 0 on both streams: data vanishes, connections
//                  stay open (the node notices only when its own timeouts fire)
//   toxics         on the upstream stream, the direction the link is named for: `n1->n2`
//                  carries what n1 sends to n2 (replies travel on `n2->n1`); on `client->n3`,
//                  the request.

import { Proxy, Toxiproxy, type ICreateProxyBody } from "toxiproxy-node-client";
import type { LinkCutMode, LinkToxic } from "./nemesis.ts";

/** Toxics this module puts on links are named `neverstop-<kind>`, so that heal and reset find
 * them (and leave a learner's own toxics alone). */
const toxicPrefix = "neverstop-";
const dropToxicNames = [`${toxicPrefix}drop-upstream`, `${toxicPrefix}drop-downstream`];

export class ToxiproxyLinks {
  readonly client: Toxiproxy;

  constructor(
    readonly url: string,
    /** The proxies that belong to this cluster (others on a shared server are never touched). */
    readonly linkNames: readonly string[],
  ) {
    this.client = new Toxiproxy(url);
  }

  async cut(links: readonly string[], how: LinkCutMode): Promise<void> {
    const proxies = await this.proxies(links);
    await Promise.all(
      proxies.map(async (proxy) => {
        if (how === "refuse") return setEnabled(proxy, false);
        for (const [index, stream] of (["upstream", "downstream"] as const).entries()) {
          await replaceToxic(proxy, {
            name: dropToxicNames[index]!,
            type: "timeout",
            stream,
            toxicity: 1,
            attributes: { timeout: 0 },
          });
        }
      }),
    );
  }

  /** Every node-to-node and client link enabled, every drop toxic gone. */
  async heal(): Promise<void> {
    const proxies = await this.presentProxies();
    await Promise.all(
      proxies.map(async (proxy) => {
        await removeToxics(proxy, (name) => dropToxicNames.includes(name));
        if (!proxy.enabled) await setEnabled(proxy, true);
      }),
    );
  }

  async addToxic(links: readonly string[], toxic: LinkToxic): Promise<void> {
    const proxies = await this.proxies(links);
    await Promise.all(proxies.map((proxy) => replaceToxic(proxy, toxicBody(toxic))));
  }

  async removeToxic(links: readonly string[], kind: LinkToxic["kind"]): Promise<void> {
    const proxies = await this.proxies(links);
    await Promise.all(
      proxies.map((proxy) => removeToxics(proxy, (name) => name === toxicName(kind))),
    );
  }

  /** Every link enabled and free of the toxics this module adds. */
  async reset(): Promise<void> {
    const proxies = await this.presentProxies();
    await Promise.all(
      proxies.map(async (proxy) => {
        await removeToxics(proxy, (name) => name.startsWith(toxicPrefix));
        if (!proxy.enabled) await setEnabled(proxy, true);
      }),
    );
  }

  /** The state of each link: enabled or not, and the names of its toxics. */
  async describe(): Promise<{ name: string; enabled: boolean; toxics: string[] }[]> {
    const all = await this.getAll();
    return this.linkNames
      .filter((name) => all[name] !== undefined)
      .map((name) => {
        const proxy = all[name]!;
        return { name, enabled: proxy.enabled, toxics: toxicsOf(proxy).map((toxic) => toxic.name) };
      });
  }

  private async getAll(): Promise<Record<string, ProxyWithToxics>> {
    try {
      // The raw GET /proxies: the client's own getAll() keeps no toxics.
      const response = await this.client.api.get<Record<string, RawProxy>>(`${this.url}/proxies`);
      const all: Record<string, ProxyWithToxics> = {};
      for (const [name, raw] of Object.entries(response.data)) {
        all[name] = Object.assign(new Proxy(this.client, { ...raw, toxics: [] }), {
          toxics: (raw.toxics ?? []).map((toxic) => ({ name: toxic.name })),
        });
      }
      return all;
    } catch (error) {
      throw new Error(`the Toxiproxy at ${this.url} does not answer: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** This cluster's proxies that exist (a run may have no client proxies). */
  private async presentProxies(): Promise<ProxyWithToxics[]> {
    const all = await this.getAll();
    return this.linkNames.flatMap((name) => (all[name] === undefined ? [] : [all[name]]));
  }

  private async proxies(names: readonly string[]): Promise<ProxyWithToxics[]> {
    const all = await this.getAll();
    return names.map((name) => {
      const proxy = all[name];
      if (proxy === undefined) {
        throw new Error(
          `the Toxiproxy at ${this.url} has no proxy ${JSON.stringify(name)} (was the cluster started with Toxiproxy?)`,
        );
      }
      return proxy;
    });
  }
}

type RawProxy = ICreateProxyBody & { enabled: boolean; toxics?: { name: string }[] };
/** A client Proxy (for its calls) with the names of the toxics GET /proxies reported. */
type ProxyWithToxics = Proxy & { toxics?: { name: string }[] };

function toxicsOf(proxy: ProxyWithToxics): { name: string }[] {
  return proxy.toxics ?? [];
}

export function toxicName(kind: LinkToxic["kind"]): string {
  return `${toxicPrefix}${kind}`;
}

interface ToxicBody {
  name: string;
  type: "latency" | "bandwidth" | "timeout" | "reset_peer";
  stream: "upstream" | "downstream";
  toxicity: number;
  attributes: Record<string, number>;
}

export function toxicBody(toxic: LinkToxic): ToxicBody {
  const name = toxicName(toxic.kind);
  switch (toxic.kind) {
    case "latency":
      return {
        name,
        type: "latency",
        stream: "upstream",
        toxicity: 1,
        attributes: { latency: toxic.latencyMs, jitter: toxic.jitterMs },
      };
    case "bandwidth":
      return {
        name,
        type: "bandwidth",
        stream: "upstream",
        toxicity: 1,
        attributes: { rate: toxic.rateKbPerSecond },
      };
    case "flaky":
      return {
        name,
        type: toxic.mode,
        stream: "upstream",
        toxicity: toxic.toxicity,
        attributes: { timeout: toxic.timeoutMs },
      };
  }
}

async function setEnabled(proxy: Proxy, enabled: boolean): Promise<void> {
  await proxy.update({ enabled, listen: proxy.listen, upstream: proxy.upstream });
}

async function replaceToxic(proxy: ProxyWithToxics, body: ToxicBody): Promise<void> {
  if (toxicsOf(proxy).some((toxic) => toxic.name === body.name)) {
    await removeToxics(proxy, (name) => name === body.name);
  }
  await proxy.addToxic(body);
}

async function removeToxics(
  proxy: ProxyWithToxics,
  matches: (name: string) => boolean,
): Promise<void> {
  for (const toxic of toxicsOf(proxy)) {
    if (!matches(toxic.name)) continue;
    // The client builds the path without encoding; `>` in a link name is safe in a URL path.
    await proxy.api.delete(`${proxy.getPath()}/toxics/${toxic.name}`);
  }
}
