// Creates the compose cluster's Toxiproxy proxies (lesson 3, "network splits"): waits for a
// Toxiproxy API (the real image's or neverstop's embedded one, both speak the same HTTP API),
// then POSTs the layout's proxies to /populate, one per directed link and one per client link.
// docker-compose runs it once as the `proxies` service; it prints one line and exits.
//
//   node bin/run-ts.js chaos/nemesis/docker/toxiproxy-populate.ts [--api http://127.0.0.1:8474]
//     [--nodes 5] [--client-host 127.0.0.1|0.0.0.0]
//     [--node-base-port 18080] [--link-proxy-base-port 20000] [--client-base-port 8080]

import { parseArgs } from "node:util";
import { composeLayout, composeProxies } from "./compose-topology.ts";

/** How long Toxiproxy may take to answer after its container starts. */
const apiWaitMaxMs = 60_000;
const apiPollMs = 500;
const requestTimeoutMs = 5_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      api: { type: "string", default: "http://127.0.0.1:8474" },
      nodes: { type: "string", default: String(composeLayout.nodeCount) },
      "client-host": { type: "string", default: "127.0.0.1" },
      "node-base-port": { type: "string", default: String(composeLayout.nodeBasePort) },
      "link-proxy-base-port": { type: "string", default: String(composeLayout.linkProxyBasePort) },
      "client-base-port": { type: "string", default: String(composeLayout.clientBasePort) },
    },
    strict: true,
  });
  const api = new URL(values.api);
  if (!/^(127\.\d+\.\d+\.\d+|localhost)$/.test(api.hostname)) {
    throw new Error(`Expected --api on a loopback address, got ${values.api}`);
  }
  const clientHost = values["client-host"];
  if (clientHost !== "127.0.0.1" && clientHost !== "0.0.0.0") {
    throw new Error(`Expected --client-host to be 127.0.0.1 or 0.0.0.0, got ${clientHost}`);
  }
  const layout = {
    nodeCount: Number(values.nodes),
    nodeBasePort: Number(values["node-base-port"]),
    linkProxyBasePort: Number(values["link-proxy-base-port"]),
    clientBasePort: Number(values["client-base-port"]),
  };
  const proxies = composeProxies(layout, clientHost);
  const deadline = Date.now() + apiWaitMaxMs;
  for (;;) {
    try {
      const response = await fetch(new URL("/populate", api), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(proxies),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const text = await response.text();
      if (response.status !== 201 && response.status !== 200) {
        throw new Error(
          `Toxiproxy answered ${response.status} to /populate: ${text.slice(0, 200)}`,
        );
      }
      process.stdout.write(`populated ${proxies.length} proxies at ${api.origin}\n`);
      return;
    } catch (error) {
      const refused = error instanceof TypeError; // fetch failed: nothing listens yet
      if (!refused || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, apiPollMs));
    }
  }
}

try {
  await main();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`neverstop toxiproxy-populate: ${message.split("\n")[0]}\n`);
  process.exit(1);
}
