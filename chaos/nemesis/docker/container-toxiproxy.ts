// The Toxiproxy of a Docker cluster (lesson 3, "network splits", on containers): neverstop's
// embedded, API-compatible server as the main process of its own container, started by
// `npx neverstop up --backend docker` next to the node containers. It imports the server alone,
// not the command line, so the image needs nothing beyond chaos/ and cluster/.
//
//   node bin/run-ts.js chaos/nemesis/docker/container-toxiproxy.ts --port 8474
//
// On the host network it listens on the host's 127.0.0.1, and so do the proxies it creates:
// nodes in their containers and clients on the host reach them alike. SIGTERM (`docker stop`)
// closes it. Bad flags are one line on stderr and exit status 1.

import { parseArgs } from "node:util";
import { startToxiproxyServer } from "../../toxiproxy/server.ts";

function portFromFlags(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string" } },
    strict: true,
  });
  const port = Number(values.port);
  if (values.port === undefined || !/^[0-9]{1,5}$/.test(values.port) || port < 1 || port > 65_535) {
    throw new Error(`Expected --port to be an integer from 1 to 65535, got ${values.port}`);
  }
  return port;
}

try {
  const server = await startToxiproxyServer({
    host: "127.0.0.1",
    port: portFromFlags(process.argv.slice(2)),
  });
  console.log(`Toxiproxy-compatible server (embedded) listening on ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} catch (error) {
  process.stderr.write(
    `neverstop container-toxiproxy: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
