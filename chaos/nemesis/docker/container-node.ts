// The node process of a docker-compose cluster (lesson 5, "systems that never stop"): computes
// the node's configuration from a few flags with the compose layout of compose-topology.ts,
// then runs cluster/runtime/real/node-main.ts in this same process (so `docker kill` and
// `docker stop` reach the node itself, PID 1 of its container).
//
//   node bin/run-ts.js chaos/nemesis/docker/container-node.ts --node n2 [--nodes 5]
//     [--data-dir /data] [--sync always|interval|never] [--direct]
//     [--node-base-port 18080] [--link-proxy-base-port 20000]
//
// --direct makes the node dial its peers' own ports instead of the `n2->nX` Toxiproxy proxies.
// Bad flags are one line on stderr and exit status 1.

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { SyncPolicyName } from "../../../cluster/runtime/real/node-config.ts";
import { composeLayout, composeNodeConfig } from "./compose-topology.ts";

function configFromFlags(argv: string[]): string {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: "string" },
      nodes: { type: "string", default: String(composeLayout.nodeCount) },
      "data-dir": { type: "string", default: "/data" },
      sync: { type: "string", default: "always" },
      direct: { type: "boolean", default: false },
      "node-base-port": { type: "string", default: String(composeLayout.nodeBasePort) },
      "link-proxy-base-port": { type: "string", default: String(composeLayout.linkProxyBasePort) },
    },
    strict: true,
  });
  if (values.node === undefined) throw new Error("Expected --node, e.g. --node n1");
  const nodeCount = Number(values.nodes);
  const sync = values.sync as SyncPolicyName;
  if (!["always", "interval", "never"].includes(sync)) {
    throw new Error(`Expected --sync to be always, interval or never, got ${values.sync}`);
  }
  const layout = {
    ...composeLayout,
    nodeCount,
    nodeBasePort: Number(values["node-base-port"]),
    linkProxyBasePort: Number(values["link-proxy-base-port"]),
  };
  const config = composeNodeConfig(layout, values.node, values["data-dir"], values.direct, sync);
  return JSON.stringify(config);
}

let json: string;
try {
  json = configFromFlags(process.argv.slice(2));
} catch (error) {
  process.stderr.write(
    `neverstop container-node: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
const nodeMain = fileURLToPath(
  new URL("../../../cluster/runtime/real/node-main.ts", import.meta.url),
);
// node-main.ts runs its main() when argv[1] names it: hand it the configuration we computed.
process.argv = [process.argv[0] ?? "node", nodeMain, "--config-json", json];
await import("../../../cluster/runtime/real/node-main.ts");
