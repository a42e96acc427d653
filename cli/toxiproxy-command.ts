// `neverstop toxiproxy`: the embedded Toxiproxy-compatible server alone, in the foreground
// (lesson 3, network splits: point toxiproxy-cli or any Toxiproxy client at it and cut links
// by hand).

import { InvalidArgumentError, type Command } from "commander";
import { defaultToxiproxyPort, startToxiproxyServer } from "../chaos/toxiproxy/server.ts";

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) {
    throw new InvalidArgumentError(`Expected a port from 0 to 65535, got ${JSON.stringify(text)}.`);
  }
  return port;
}

/**
 * Adds `toxiproxy [--port 8474] [--host 127.0.0.1] [--allow-remote-upstreams]`. The API and
 * the proxies listen on loopback; the switch lets proxies dial upstreams on other hosts.
 */
export function registerToxiproxyCommand(program: Command): void {
  program
    .command("toxiproxy")
    .description(
      "run the embedded Toxiproxy-compatible server (Toxiproxy 2.x HTTP API) in the foreground",
    )
    .option("--port <port>", "HTTP API port (0 picks a free one)", parsePort, defaultToxiproxyPort)
    .option("--host <host>", "HTTP API address, loopback only", "127.0.0.1")
    .option(
      "--allow-remote-upstreams",
      "let proxies connect to upstreams on other hosts (they still listen on loopback)",
    )
    .action(async (options: { port: number; host: string; allowRemoteUpstreams?: boolean }) => {
      await runToxiproxyServer(options.host, options.port, options.allowRemoteUpstreams === true);
    });
}

/** Runs until SIGINT or SIGTERM; a failure to start is one line on stderr and exit code 1. */
async function runToxiproxyServer(
  host: string,
  port: number,
  allowRemoteUpstreams: boolean,
): Promise<void> {
  let server: Awaited<ReturnType<typeof startToxiproxyServer>>;
  try {
    server = await startToxiproxyServer({ host, port, allowRemoteUpstreams });
  } catch (error) {
    console.error(`neverstop toxiproxy: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  console.log(
    `Toxiproxy-compatible server (embedded) listening on ${server.url}` +
      (allowRemoteUpstreams ? " (remote upstreams allowed)" : ""),
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
