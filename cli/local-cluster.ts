// A local cluster together with its Toxiproxy (lesson 3, "network splits"; lesson 5, "systems
// that never stop"): the one module that composes cluster/ (node processes, startLocalCluster)
// with chaos/ (a Toxiproxy and one proxy per link), records the result in
// `<data-dir>/cluster.json`, and stops it again. `up`, `down`, `status`, the fault commands,
// `join` and `leave`, and `npm start` all go through here; it sits above both cluster/ and
// chaos/ so that neither has to know about the other.
//
// Every cluster `up` starts is breakable: a Toxiproxy comes with it (the embedded server, or
// TOXIPROXY_URL, or a toxiproxy-server on PATH) with one proxy per directed node-to-node link
// (`n1->n2`: n1 dials it, it forwards to n2's peer port) and one per client link (`client->n3`),
// so `npx neverstop partition|latency|...` can cut and slow links. `--no-toxiproxy` starts the
// nodes wired directly to each other.
//
// Fixed, documented ports (the default --base-port P = 8080; chaos/nemesis/topology.ts):
//   node i HTTP, direct              P + i                     n1..n5 on 8081..8085
//   node i peers, direct             P + 1000 + i              9081..9085
//   Toxiproxy HTTP API               P + 394                   8474 (--toxiproxy-port)
//   proxy client->ni                 P + 2000 + i              10081..10085
//   proxy ni->nj                     P + 3000 + 100 * i + j    11182 (n1->n2) .. 11584 (n5->n4)

import {
  existsSync,
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  statSync,
} from "node:fs";
import { join, resolve } from "node:path";
import {
  isToxiproxyProcess,
  processExists,
  startClusterToxiproxy,
  stopProcess,
  type ClusterToxiproxy,
} from "../chaos/nemesis/toxiproxy-process.ts";
import { allLinkNames } from "../chaos/nemesis/nemesis.ts";
import { LinkTopology, proxyPorts, type PortLayout } from "../chaos/nemesis/topology.ts";
import type { ToxiproxyKind } from "../chaos/toxiproxy/locate.ts";
import {
  ClusterStartError,
  fixedPorts,
  portIsFree,
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
} from "../cluster/runtime/real/cluster.ts";
import { isNeverstopNode } from "../cluster/runtime/real/node-process.ts";
import { CliError } from "./errors.ts";

export const dataDirDefault = ".neverstop";
export const clusterFileName = "cluster.json";
const downGraceMs = 5_000;

export interface ClusterRecord {
  /** Where the nodes run; absent means local processes. A Docker cluster's record also holds
   * its containers (chaos/nemesis/docker/stack.ts, DockerClusterRecord). */
  backend?: "local" | "docker";
  dataDir: string;
  startedAt: string;
  detached: boolean;
  /** The `up` process that owns the nodes in the foreground, if any. */
  supervisorPid?: number;
  sync: string;
  nodes: {
    id: string;
    httpUrl: string;
    httpPort: number;
    peerPort: number;
    pid: number | undefined;
    /** The node's HTTP port through its `client->ni` proxy. */
    clientUrl?: string;
    /** The node's container (`up --backend docker`). */
    container?: string;
  }[];
  /** The Toxiproxy whose proxies sit on every link; absent with --no-toxiproxy. */
  toxiproxy?: {
    url: string;
    kind: ToxiproxyKind;
    /** A detached server's process, which `down` stops. */
    pid?: number;
  };
}

/** Every fixed port the cluster needs, free now, or one line naming the first taken one. */
export async function checkPortsFree(
  layout: PortLayout,
  toxiproxyPort: number | undefined,
): Promise<void> {
  let ports: { httpPort: number; peerPort: number }[];
  let proxies: { port: number; what: string }[] = [];
  try {
    ports = fixedPorts(layout.nodeCount, layout.basePort);
    if (toxiproxyPort !== undefined) proxies = proxyPorts(layout);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const wanted: { port: number; what: string }[] = [];
  for (const [index, { httpPort, peerPort }] of ports.entries()) {
    wanted.push({ port: httpPort, what: `HTTP of n${index + 1}` });
    wanted.push({ port: peerPort, what: `peer of n${index + 1}` });
  }
  // An external Toxiproxy (TOXIPROXY_URL) already holds its own API port.
  const external = (process.env["TOXIPROXY_URL"] ?? "") !== "";
  if (toxiproxyPort !== undefined && !external)
    wanted.push({ port: toxiproxyPort, what: "Toxiproxy API" });
  if (!external) wanted.push(...proxies);
  for (const { port, what } of wanted) {
    if (!(await portIsFree(port))) {
      throw new CliError(
        `port ${port} (${what}) on 127.0.0.1 is already in use: stop what uses it or pick another --base-port`,
      );
    }
  }
}

export interface StartClusterOptions {
  nodes: number;
  /** Fixed ports (`up`); omitted: free ports and proxies on 127.0.0.1:0 (tests). */
  layout?: PortLayout;
  sync: "always" | "interval" | "never";
  /** An existing folder; cluster.json is written there. */
  dataDir: string;
  detach: boolean;
  repair?: boolean;
  /** Put a Toxiproxy proxy on every link. */
  toxiproxy: boolean;
  /** The API port of a Toxiproxy started here (0: any free port). */
  toxiproxyPort?: number;
  /** `up --backend docker --image TAG`: a published node image instead of one built here. */
  image?: string;
  /** Anything else startLocalCluster takes (tests shorten timeouts). */
  cluster?: Omit<
    LocalClusterOptions,
    "nodes" | "basePort" | "dataDir" | "sync" | "detach" | "repairStores" | "peerAddress"
  >;
  log?: (line: string) => void;
}

export interface StartedCluster {
  record: ClusterRecord;
  cluster: LocalCluster;
  /** Stops the nodes (those a nemesis restarted too), the proxies and a Toxiproxy started here,
   * and removes cluster.json. */
  stop(): Promise<void>;
}

/**
 * Starts the Toxiproxy, creates the proxy of every node-to-node link as the nodes are
 * configured, starts the nodes, then the client proxies, and records it all in cluster.json:
 * the one path `up`, `npm start` and the nemesis tests share.
 */
export async function startCluster(options: StartClusterOptions): Promise<StartedCluster> {
  const toxiproxy = options.toxiproxy ? await startToxiproxy(options) : undefined;
  const topology =
    toxiproxy === undefined ? undefined : new LinkTopology(toxiproxy.url, options.layout);
  const stopToxiproxy = async () => {
    if (toxiproxy?.kind === "external") await topology?.remove();
    await toxiproxy?.stop();
  };
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      ...options.cluster,
      nodes: options.nodes,
      ...(options.layout === undefined ? {} : { basePort: options.layout.basePort }),
      dataDir: options.dataDir,
      sync: options.sync,
      detach: options.detach,
      repairStores: options.repair ?? false,
      ...(topology === undefined ? {} : { peerAddress: topology.peerAddress }),
    });
  } catch (error) {
    await stopToxiproxy();
    if (error instanceof ClusterStartError) throw new CliError(error.message);
    if (error instanceof Error && error.message.startsWith("cannot create the proxy"))
      throw new CliError(error.message.split("\n")[0]!);
    throw error;
  }
  let clientUrls: Record<string, string> = {};
  try {
    if (topology !== undefined) clientUrls = await topology.addClientProxies(cluster.nodes);
  } catch (error) {
    await cluster.stop();
    await stopToxiproxy();
    throw new CliError((error as Error).message.split("\n")[0]!);
  }
  const record = recordOf(options, cluster, clientUrls, toxiproxy);
  writeRecord(record);
  const stop = async () => {
    await cluster.stop();
    // A nemesis may have restarted a node as a new process this handle does not know.
    const latest = readRecordQuietly(options.dataDir);
    for (const node of latest?.nodes ?? []) {
      if (node.pid !== undefined && isNeverstopNode(node.pid)) await stopProcess(node.pid);
    }
    await stopToxiproxy();
    rmSync(join(options.dataDir, clusterFileName), { force: true });
  };
  return { record, cluster, stop };
}

/** The cluster's Toxiproxy (embedded, external or a detached process), or one line why not. */
async function startToxiproxy(options: StartClusterOptions): Promise<ClusterToxiproxy> {
  try {
    return await startClusterToxiproxy({
      port: options.toxiproxyPort ?? 0,
      detach: options.detach,
      dataDir: options.dataDir,
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  } catch (error) {
    throw new CliError(`cannot start Toxiproxy: ${(error as Error).message.split("\n")[0]}`);
  }
}

/** What cluster.json says about a started cluster: each node directly and through its proxy. */
function recordOf(
  options: StartClusterOptions,
  cluster: LocalCluster,
  clientUrls: Record<string, string>,
  toxiproxy: ClusterToxiproxy | undefined,
): ClusterRecord {
  return {
    dataDir: options.dataDir,
    startedAt: new Date().toISOString(),
    detached: options.detach,
    sync: options.sync,
    nodes: cluster.nodes.map(({ id, httpUrl, httpPort, peerPort, pid }) => ({
      id,
      httpUrl,
      httpPort,
      peerPort,
      pid,
      ...(clientUrls[id] === undefined ? {} : { clientUrl: clientUrls[id] }),
    })),
    ...(toxiproxy === undefined
      ? {}
      : {
          toxiproxy: {
            url: toxiproxy.url,
            kind: toxiproxy.kind,
            ...(toxiproxy.pid === undefined ? {} : { pid: toxiproxy.pid }),
          },
        }),
  };
}

export function prepareDataDir(dataDir: string, isDefault: boolean): void {
  if (!existsSync(dataDir)) {
    if (!isDefault)
      throw new CliError(
        `the data folder ${dataDir} does not exist: create it, or leave out --data-dir to use ${dataDirDefault}/`,
      );
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw new CliError(
        `cannot create the data folder ${dataDir}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
  }
  if (!statSync(dataDir).isDirectory())
    throw new CliError(`the data folder ${dataDir} is not a folder`);
  try {
    accessSync(dataDir, constants.W_OK | constants.X_OK);
  } catch {
    throw new CliError(`the data folder ${dataDir} is not writable`);
  }
}

/** Stops a recorded cluster: its nodes, the `up` that supervises them, and a detached
 * Toxiproxy (an external one only loses this cluster's proxies). Returns the line to print. */
export async function down(dataDirOption: string): Promise<string> {
  const dataDir = resolve(dataDirOption);
  const record = readRecord(dataDir);
  if (record === undefined) {
    return `no cluster recorded in ${dataDirOption}/${clusterFileName}: nothing to stop`;
  }
  const pids = record.nodes
    .map((node) => node.pid)
    .filter((pid): pid is number => pid !== undefined && isNeverstopNode(pid));
  if (record.supervisorPid !== undefined && isAlive(record.supervisorPid))
    pids.push(record.supervisorPid);
  for (const pid of pids) signal(pid, "SIGCONT");
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + downGraceMs;
  while (pids.some(processExists) && Date.now() < deadline)
    await new Promise((wait) => setTimeout(wait, 100));
  const stubborn = pids.filter(processExists);
  for (const pid of stubborn) signal(pid, "SIGKILL");
  let proxies = "";
  const toxiproxy = record.toxiproxy;
  if (toxiproxy?.pid !== undefined && isToxiproxyProcess(toxiproxy.pid)) {
    await stopProcess(toxiproxy.pid);
    proxies = " and its Toxiproxy";
  } else if (toxiproxy?.kind === "external") {
    const topology = new LinkTopology(toxiproxy.url);
    for (const name of allLinkNames(record.nodes.map((node) => node.id)))
      topology.listens.set(name, "");
    await topology.remove();
    proxies = " and removed its proxies";
  }
  rmSync(join(dataDir, clusterFileName), { force: true });
  return `stopped ${pids.length} process(es)${stubborn.length > 0 ? ` (${stubborn.length} needed SIGKILL)` : ""}${proxies}`;
}

export function writeRecord(record: ClusterRecord): void {
  writeFileSync(join(record.dataDir, clusterFileName), JSON.stringify(record, null, 2) + "\n");
}

function readRecordQuietly(dataDir: string): ClusterRecord | undefined {
  try {
    return readRecord(dataDir);
  } catch {
    return undefined;
  }
}

export function readRecord(dataDir: string): ClusterRecord | undefined {
  const path = join(dataDir, clusterFileName);
  if (!existsSync(path)) return undefined;
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as ClusterRecord;
    if (!Array.isArray(record.nodes)) throw new Error("no nodes");
    return record;
  } catch {
    throw new CliError(`${path} is not a cluster record; remove it if no cluster is running`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
