// One neverstop node as an operating-system process (lesson 5, "systems that never stop"): it
// opens its store (recovering whatever a crash left), joins its peers over TCP, serves clients
// over HTTP and shuts down cleanly on SIGTERM or SIGINT. `kill -9` is the other way it stops,
// and the store is built so that nothing acknowledged is lost when it does.
//
//   node bin/run-ts.js cluster/runtime/real/node-main.ts --config .neverstop/n1/config.json
//   node bin/run-ts.js cluster/runtime/real/node-main.ts --config-json '{"nodeId":"n1",...}'
//
// Every failure to start is one line on stderr and exit status 1: a port in use, a store that
// cannot be opened, a configuration that does not make sense.

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { DynamoNode } from "../../core/node.ts";
import type { Policies } from "../../core/policies.ts";
import { hashKey, partitionOf, preferenceList } from "../../core/ring.ts";
import type { ClientRequest, NodeEvent } from "../../core/types.ts";
import { validateClientRequest } from "../../core/validate.ts";
import { BitcaskStore } from "../../storage/bitcask.ts";
import { OutputCommit } from "../../storage/output-commit.ts";
import { StoreError } from "../../storage/store.ts";
import { RealEnvironment } from "./environment.ts";
import { HttpApi, type ClientBackend } from "./http.ts";
import { loadPoliciesFile } from "./load-policies.ts";
import { NodeMetrics } from "./metrics.ts";
import { checkNodeConfig, syncPolicyOf, type NodeProcessConfig } from "./node-config.ts";
import { Transport } from "./transport.ts";

/** Graceful shutdown may take this long before the process exits anyway. */
const shutdownMaxMs = 5_000;

export interface RunningNode {
  config: NodeProcessConfig;
  httpPort: number;
  peerPort: number;
  stop(): Promise<void>;
}

/** A failure to start that deserves one line, not a stack trace. */
export class StartError extends Error {
  override name = "StartError";
}

async function loadPolicies(file: string): Promise<Policies> {
  try {
    return await loadPoliciesFile(file);
  } catch (error) {
    throw new StartError(error instanceof Error ? error.message : String(error));
  }
}

/** Starts a node in this process. Throws StartError with a one-line message when it cannot. */
export async function startNode(config: NodeProcessConfig): Promise<RunningNode> {
  // Policies first: a lab's broken file is its author's one-line error, before any port opens.
  const policies = config.policies === undefined ? undefined : await loadPolicies(config.policies);
  const logger = createLogger(config);
  let store: BitcaskStore;
  try {
    mkdirSync(config.dataDir, { recursive: true });
    store = BitcaskStore.open({
      folder: join(config.dataDir, "data"),
      syncPolicy: syncPolicyOf(config),
      repair: config.repairStore === true,
      // Under `always`, writes share fsyncs; OutputCommit below holds every send and reply until
      // the writes before it are on disk, so acknowledged still means on disk.
      groupCommit: true,
      onWarning: (message) => logger.warn({ event: "store-recovery", message }),
    });
  } catch (error) {
    const reason = error instanceof StoreError ? error.message : describeFsError(error);
    throw new StartError(
      `cannot open the store of ${config.nodeId} in ${config.dataDir}: ${reason}`,
    );
  }
  // The HTTP layer needs the node and the node needs the environment: close the loop here.
  const replies: { http?: HttpApi } = {};
  const outputs = new OutputCommit(store, (error) => {
    // After a failed fsync the kernel may have dropped the pages: stop rather than acknowledge.
    logger.fatal({ event: "store-fsync-failed", error: `${error}` });
    logger.flush();
    process.stderr.write(`neverstop node ${config.nodeId}: fsync failed: ${error}\n`);
    process.exit(70);
  });
  const environment = new RealEnvironment({
    store,
    logger,
    send: (to, message) => outputs.release(() => transport.send(to, message)),
    reply: (requestId, response) =>
      outputs.release(() => replies.http?.complete(requestId, response)),
  });
  let node: DynamoNode;
  try {
    node = new DynamoNode({
      config: config.cluster,
      nodeId: config.nodeId,
      env: environment,
      policies,
    });
  } catch (error) {
    // The first ring is claimed here: a lab's claim that fails cannot start a node.
    store.close();
    throw new StartError(error instanceof Error ? error.message : String(error));
  }
  const handle = (event: NodeEvent) => {
    try {
      node.handle(event);
    } catch (error) {
      // A broken invariant in the node's logic: log it with its stack and stop, rather than run
      // on with state nobody can vouch for. The store recovers on the next start.
      logger.fatal({
        event: "node-invariant-broken",
        error: `${error}`,
        stack: (error as Error)?.stack,
      });
      logger.flush();
      process.stderr.write(`neverstop node ${config.nodeId}: internal error: ${error}\n`);
      process.exit(70);
    }
  };
  environment.attach(handle);
  const transport = new Transport({
    nodeId: config.nodeId,
    peers: config.peers,
    listenPort: config.peerPort,
    onMessage: (from, message) => handle({ type: "peer", from, message }),
    onSendFailed: (to, message) => handle({ type: "send-failed", to, message }),
    log: (event, fields) => logger.info({ event, ...fields }),
  });
  const metrics = new NodeMetrics({
    nodeId: config.nodeId,
    nodeStats: () => node.stats(),
    storeStats: () => store.stats(),
  });
  const backend = clientBackend(config, node, environment, store, (requestId, request) =>
    handle({ type: "client", requestId, request }),
  );
  const http = new HttpApi({
    port: config.httpPort,
    backend,
    metrics,
    logger,
    limits: config.httpLimits ?? {},
  });
  replies.http = http;
  try {
    await listenOrExplain(() => transport.listen(), "peer", config.peerPort);
    await listenOrExplain(() => http.listen(), "HTTP", config.httpPort);
  } catch (error) {
    await transport.close();
    store.close();
    throw error;
  }
  logger.info({
    event: "node-started",
    httpPort: http.port,
    peerPort: transport.listenPort,
    pid: process.pid,
  });
  let stopping: Promise<void> | undefined;
  return {
    config,
    httpPort: http.port,
    peerPort: transport.listenPort,
    stop() {
      stopping ??= (async () => {
        await Promise.all([http.close(), transport.close()]);
        environment.cancelAllTimers();
        store.close();
        logger.info({ event: "node-stopped" });
        logger.flush();
      })();
      return stopping;
    },
  };
}

function clientBackend(
  config: NodeProcessConfig,
  node: DynamoNode,
  environment: RealEnvironment,
  store: BitcaskStore,
  submit: (requestId: string, request: ClientRequest) => void,
): ClientBackend {
  const startedAt = Date.now();
  return {
    nodeId: config.nodeId,
    defaultTimeoutMs: config.cluster.defaults.timeoutMs,
    validate: (request) => validateClientRequest(request, config.cluster),
    submit,
    ring: () => ringView(config, node),
    join: (member) => {
      // Only a node this one has an address for: a member nobody can reach would own
      // partitions whose writes all go to fallbacks.
      if (!Object.hasOwn(config.peers, member)) {
        const known = Object.keys(config.peers).join(", ");
        throw new RangeError(`Expected \`node\` to be one of ${known}, got ${member}`);
      }
      node.join(member);
      return ringView(config, node);
    },
    leave: (member) => {
      if (!node.ring.members.includes(member)) {
        const members = node.ring.members.join(", ");
        throw new RangeError(`Expected \`node\` to be a member (${members}), got ${member}`);
      }
      if (node.ring.members.length === 1) {
        throw new RangeError(`${member} is the last member; a cluster needs at least one`);
      }
      node.leave(member);
      return ringView(config, node);
    },
    keyPlacement: (bucket, key, replicaCount) => {
      const n = replicaCount ?? config.cluster.defaults.n;
      const memberCount = node.ring.members.length;
      if (n > memberCount) {
        return {
          error: "bad_request",
          detail: `Expected \`n\` to be at most ${memberCount} (the members), got ${n}`,
        };
      }
      const hash = hashKey(bucket, key);
      const list = preferenceList(node.ring, hash, n);
      return {
        bucket,
        key,
        hash: hash.toString(16).padStart(40, "0"),
        partition: partitionOf(hash, node.ring.partitionCount),
        n,
        preferenceList: list.primaries.map((entry) => entry.node),
        primaries: list.primaries,
        fallbacks: list.fallbacks,
      };
    },
    inspect: (bucket, key) => node.inspect(bucket, key),
    members: () => node.members(),
    alarms: () => node.alarms(),
    health: () => ({
      node: config.nodeId,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      nodes: config.cluster.nodes,
      members: node.ring.members,
      ringVersion: node.ring.version,
      partitionCount: config.cluster.partitionCount,
      sync: config.sync,
      skewMs: environment.skewMs,
      keys: store.stats().keyCount,
    }),
    storeStats: () => store.stats(),
    getSkewMs: () => environment.skewMs,
    setSkewMs: (value) => {
      environment.skewMs = value;
    },
  };
}

/** The ring as this node sees it now: version, members and owners change as nodes join and
 * leave (GET /ring, and the answer to POST /admin/join and /admin/leave). */
function ringView(config: NodeProcessConfig, node: DynamoNode): Record<string, unknown> {
  const ownership: Record<string, number> = {};
  for (const owner of node.ring.owners) ownership[owner] = (ownership[owner] ?? 0) + 1;
  return { node: config.nodeId, nodes: config.cluster.nodes, ...node.ring, ownership };
}

/** Synchronous writes: the node logs notable events only (not every request), and a line
 * written before `kill -9` should be on disk for the post-mortem. */
function createLogger(config: NodeProcessConfig): pino.Logger {
  const destination = config.logToStderr
    ? pino.destination({ dest: 2, sync: true })
    : pino.destination({ dest: join(config.dataDir, "node.log"), mkdir: true, sync: true });
  return pino(
    { base: { node: config.nodeId }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
}

async function listenOrExplain(
  listen: () => Promise<void>,
  what: string,
  port: number,
): Promise<void> {
  try {
    await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new StartError(
        `${what} port ${port} on 127.0.0.1 is already in use (is another cluster running? try \`npx neverstop status\`)`,
      );
    }
    throw new StartError(
      `cannot listen for ${what} on 127.0.0.1:${port}: ${describeFsError(error)}`,
    );
  }
}

function describeFsError(error: unknown): string {
  const errno = error as NodeJS.ErrnoException;
  if (errno?.code === "EACCES" || errno?.code === "EPERM")
    return `permission denied (${errno.path ?? ""})`;
  if (errno?.code === "ENOENT") return `no such file or folder (${errno.path ?? ""})`;
  if (errno?.code === "ENOTDIR") return `not a folder (${errno.path ?? ""})`;
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}

function readConfig(argv: string[]): NodeProcessConfig {
  const flag = argv[0];
  const value = argv[1];
  if (
    argv.length !== 2 ||
    value === undefined ||
    (flag !== "--config" && flag !== "--config-json")
  ) {
    throw new StartError("usage: node-main.ts --config FILE | --config-json JSON");
  }
  let text = value;
  if (flag === "--config") {
    try {
      text = readFileSync(value, "utf8");
    } catch (error) {
      throw new StartError(`cannot read the configuration ${value}: ${describeFsError(error)}`);
    }
  }
  try {
    return checkNodeConfig(JSON.parse(text));
  } catch (error) {
    throw new StartError(
      `bad node configuration: ${error instanceof Error ? error.message : error}`,
    );
  }
}

async function main(): Promise<void> {
  let running: RunningNode;
  let nodeName = "?";
  try {
    const config = readConfig(process.argv.slice(2));
    nodeName = config.nodeId;
    running = await startNode(config);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`neverstop node ${nodeName}: ${message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    setTimeout(() => process.exit(1), shutdownMaxMs).unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `neverstop node ${nodeName}: shutdown after ${signal} failed: ${error}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.stdout.write(
    `neverstop node ${nodeName} ready: http://127.0.0.1:${running.httpPort} (peers on port ${running.peerPort}, pid ${process.pid})\n`,
  );
}

// Run as a program (from the sources or as the compiled dist/node-main.js), not when imported.
if (/node-main\.[jt]s$/.test(process.argv[1] ?? "")) await main();
