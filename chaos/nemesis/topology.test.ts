// The breakable topology's one failure a learner can act on (lesson 3, "network splits"): a
// proxy port taken after `up` checked it. The embedded Toxiproxy answers 500 and
// toxiproxy-node-client reports only the status, so the topology names the taken port itself.

import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startToxiproxyServer, type RunningToxiproxyServer } from "../toxiproxy/server.ts";
import { LinkTopology } from "./topology.ts";

let toxiproxy: RunningToxiproxyServer;
beforeAll(async () => {
  toxiproxy = await startToxiproxyServer({ port: 0 });
});
afterAll(async () => {
  await toxiproxy.close();
});

/** A listener on a free port below the ephemeral range; a base port whose client proxy n1 it is. */
async function occupyClientProxyPort(): Promise<{ blocker: net.Server; basePort: number }> {
  for (;;) {
    const basePort = 20_000 + 100 * Math.floor(Math.random() * 80);
    const blocker = net.createServer();
    const listening = await new Promise<boolean>((resolve) => {
      blocker.once("error", () => resolve(false));
      blocker.listen(basePort + 2001, "127.0.0.1", () => resolve(true));
    });
    if (listening) return { blocker, basePort };
  }
}

describe("LinkTopology", () => {
  it("names a proxy port taken since the check, in one line, and creates nothing", async () => {
    const { blocker, basePort } = await occupyClientProxyPort();
    try {
      const topology = new LinkTopology(toxiproxy.url, { basePort, nodeCount: 1 });
      const failure = await topology.addClientProxies([{ id: "n1", httpPort: 9 }]).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure?.message).toBe(
        `cannot create the proxy client->n1 on 127.0.0.1:${basePort + 2001} at ${toxiproxy.url}: port ${basePort + 2001} is already in use: stop what uses it or pick another --base-port`,
      );
      expect(await topology.client.getAll()).toEqual({});
    } finally {
      blocker.close();
    }
  });

  it("creates a client proxy on its layout's port when the port is free", async () => {
    const { blocker, basePort } = await occupyClientProxyPort();
    blocker.close();
    const topology = new LinkTopology(toxiproxy.url, { basePort, nodeCount: 1 });
    try {
      const urls = await topology.addClientProxies([{ id: "n1", httpPort: 9 }]);
      expect(urls).toEqual({ n1: `http://127.0.0.1:${basePort + 2001}` });
    } finally {
      await topology.remove();
    }
  });
});
