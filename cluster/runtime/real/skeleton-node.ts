// The cluster's skeleton (lesson 9, "capacity planning": know what the design itself costs
// before blaming the code). A process with a node's shape and none of its logic: the same HTTP
// front (node:http, the body read and parsed as JSON) and the same peer transport (transport.ts:
// length-prefixed JSON frames over TCP, one write per peer per event-loop turn), sending exactly
// the network messages an N=3, R=2, W=2 node sends for each operation, and nothing else: no ring,
// no version vectors, no store, no timers.
//
//   PUT  -> replicate to both peers (a version-sized object), answer 204 at the first ack
//           (W=2: this process counts as the first replica)
//   GET  -> read from both peers, each answers with a version-sized object, answer 200 with the
//           first (R=2)
//
// bench:cluster runs three of these beside the real cluster and the echo server, with the same
// clients, in the same run: skeleton/echo is the most a 3-process, message-passing design can
// reach on this machine, and cluster/skeleton is what the node's logic and storage cost on top.
//
//   node bin/run-ts.js cluster/runtime/real/skeleton-node.ts '{"id":"n1","httpPort":..,"peers":{..}}'

import http from "node:http";
import type { NodeId, PeerMessage } from "../../core/types.ts";
import type { VersionedObject } from "../../core/versions.ts";
import { Transport, type PeerAddress } from "./transport.ts";

interface SkeletonConfig {
  id: NodeId;
  httpPort: number;
  /** Every member's peer address, this one's included (where it listens). */
  peers: Record<NodeId, PeerAddress>;
}

/** What a replica answers a read with: a one-sibling version of the benchmark's value. */
function versionOf(value: unknown, actor: NodeId, counter: number): VersionedObject {
  return {
    mode: "causal",
    clock: { [actor]: counter },
    siblings: [{ value: value as never, dot: [actor, counter], timestampMs: Date.now() }],
  } as unknown as VersionedObject;
}

function start(config: SkeletonConfig): void {
  const others = Object.keys(config.peers).filter((peer) => peer !== config.id);
  const waiting = new Map<string, (message: PeerMessage) => void>();
  let nextId = 1;
  let counter = 0;
  const transport: Transport = new Transport({
    nodeId: config.id,
    peers: config.peers,
    listenPort: config.peers[config.id]!.port,
    onMessage: (from, message) => {
      if (message.type === "replicate") {
        transport.send(from, { type: "replicate-ok", id: message.id });
      } else if (message.type === "read") {
        const object = versionOf({ stored: true }, from, counter++);
        transport.send(from, { type: "read-reply", id: message.id, object });
      } else if (message.type === "replicate-ok" || message.type === "read-reply") {
        const done = waiting.get(message.id);
        waiting.delete(message.id);
        done?.(message);
      }
    },
    onSendFailed: () => {},
    log: () => {},
  });
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const [, , bucket = "", key = ""] = (request.url ?? "").split("/");
      const id = `${config.id}-${nextId++}`;
      if (request.method === "PUT") {
        const object = versionOf(
          JSON.parse(Buffer.concat(chunks).toString()),
          config.id,
          counter++,
        );
        waiting.set(id, () => {
          response.writeHead(204, { "x-neverstop-context": "skeleton" });
          response.end();
        });
        for (const peer of others)
          transport.send(peer, { type: "replicate", id, bucket, key, object });
        return;
      }
      waiting.set(id, (message) => {
        const object = (message as { object: VersionedObject }).object;
        const text = JSON.stringify({ siblings: object.siblings, context: "skeleton" });
        response.writeHead(200, {
          "content-type": "application/json",
          "x-neverstop-context": "skeleton",
        });
        response.end(text);
      });
      for (const peer of others) transport.send(peer, { type: "read", id, bucket, key });
    });
  });
  server.keepAliveTimeout = 5_000;
  void transport
    .listen()
    .then(() => server.listen(config.httpPort, "127.0.0.1", () => process.stdout.write("ready\n")));
}

start(JSON.parse(process.argv[2] ?? "{}") as SkeletonConfig);
