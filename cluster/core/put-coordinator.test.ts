// The put coordinator's invariants, driven by hand (lesson 5): a duplicated acknowledgement
// counts once, W acknowledgements answer exactly once, and a reply that comes after the answer
// changes nothing. The node runs with a recording environment: every send, timer and reply is
// visible, and messages are delivered by the test, duplicates included.
import { describe, expect, it } from "vitest";
import { SimulatedDisk } from "../storage/simulated-disk.ts";
import { DynamoNode } from "./node.ts";
import type { ClientResponse, Environment, NodeId, PeerMessage } from "./types.ts";

function recordingNode() {
  const sent: Array<{ to: NodeId; message: PeerMessage }> = [];
  const replies: Array<{ requestId: string; response: ClientResponse }> = [];
  let timerId = 0;
  const env: Environment = {
    now: () => 1_000,
    random: () => 0.5,
    send: (to, message) => sent.push({ to, message }),
    setTimer: () => (timerId += 1),
    cancelTimer: () => {},
    reply: (requestId, response) => replies.push({ requestId, response }),
    store: new SimulatedDisk({ name: "n1" }).open(),
    log: () => {},
  };
  const node = new DynamoNode({
    config: {
      nodes: ["n1", "n2", "n3"],
      partitionCount: 8,
      defaults: { n: 3, r: 2, w: 3, timeoutMs: 1_000 },
      bucketModes: {},
    },
    nodeId: "n1",
    env,
  });
  return { node, sent, replies };
}

describe("put coordinator invariants", () => {
  it("counts a duplicated acknowledgement once and answers once", () => {
    const { node, sent, replies } = recordingNode();
    node.handle({
      type: "client",
      requestId: "r1",
      request: { op: "put", bucket: "b", key: "k", value: 1 },
    });
    // n1 is a replica of every key (3 nodes, N = 3): it minted locally and replicates to n2, n3.
    const replicates = sent.filter(({ message }) => message.type === "replicate");
    expect(replicates.map(({ to }) => to).sort()).toEqual(["n2", "n3"]);
    const id = (replicates[0]!.message as { id: string }).id;
    const ack = (from: NodeId) =>
      node.handle({ type: "peer", from, message: { type: "replicate-ok", id } });
    ack("n2");
    ack("n2"); // the network duplicated it: W = 3 is not reached by n1, n2, n2
    expect(replies).toEqual([]);
    ack("n3");
    expect(replies.map(({ response }) => response.status)).toEqual([204]);
    ack("n3"); // late duplicates after the answer: no second reply
    ack("n2");
    expect(replies).toHaveLength(1);
    expect(node.stats().requests.put.ok).toBe(1);
    expect(node.stats().fsmActive).toBe(0);
  });

  it("ignores an acknowledgement from a node that was not a target", () => {
    const { node, sent, replies } = recordingNode();
    node.handle({
      type: "client",
      requestId: "r1",
      request: { op: "put", bucket: "b", key: "k", value: 1, w: 2 },
    });
    const id = (sent.find(({ message }) => message.type === "replicate")!.message as { id: string })
      .id;
    node.handle({ type: "peer", from: "n9", message: { type: "replicate-ok", id } });
    expect(replies).toEqual([]);
    node.handle({ type: "peer", from: "n3", message: { type: "replicate-ok", id } });
    expect(replies.map(({ response }) => response.status)).toEqual([204]);
  });
});
