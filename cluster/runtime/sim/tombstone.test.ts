// Deletes and their tombstones (lesson 6): a tombstone is reaped only when every replica has
// it, but a replica can still miss the reap itself. A key written again after that must not
// reuse a dot of the deleted version, or the replica that kept the tombstone would silently
// drop the new write (found by the simulator; see versions.ts's counterFloor).
import { describe, expect, it } from "vitest";
import type { DynamoNode } from "../../core/node.ts";
import type { ClientOutcome } from "./simulator.ts";
import { Simulation } from "./simulator.ts";
import { clusterConfig } from "./testing.ts";

describe("a write after a reaped delete", () => {
  it("survives on a replica that missed the reap", () => {
    const config = clusterConfig(5, { timing: { antiEntropyIntervalMs: 0 } });
    const sim = new Simulation({ config, seed: 11 });
    const n1 = sim.node("n1") as DynamoNode;
    let key = "k0";
    for (let index = 0; n1.preferenceListOf("b", key, 3)[0] !== "n1"; index += 1) key = `k${index}`;
    const other = n1.preferenceListOf("b", key, 3)[1]!;
    const node = (id: string) => sim.node(id) as DynamoNode;
    const outcomes: ClientOutcome[] = [];
    const send = (request: Parameters<Simulation["request"]>[1]) =>
      sim.request("n1", request, 5_000, (outcome) => outcomes.push(outcome));

    send({ op: "put", bucket: "b", key, value: "first", w: 3 });
    sim.run(500);
    let context = "";
    send({ op: "get", bucket: "b", key, r: 3 });
    sim.run(500);
    const read = outcomes.at(-1)!;
    if (read.kind === "response" && read.response.status === 200)
      context = read.response.body.context;
    expect(context).not.toBe("");

    // Delete at W=3; the moment `other` holds the tombstone, cut n1 -> other so the reap that
    // follows never reaches it.
    send({ op: "delete", bucket: "b", key, context, w: 3 });
    for (let step = 0; step < 10_000; step += 1) {
      const replica = node(other).inspect("b", key);
      if (replica !== null && replica.siblings.every((sibling) => sibling.tombstone)) break;
      sim.run(0.01);
    }
    sim.links.cut("n1", other, "drop");
    sim.run(500);
    expect(node("n1").inspect("b", key)).toBeNull(); // reaped here
    expect(
      node(other)
        .inspect("b", key)
        ?.siblings.every((s) => s.tombstone),
    ).toBe(true);
    sim.links.heal();

    send({ op: "put", bucket: "b", key, value: "second", w: 3 });
    sim.run(500);
    const written = outcomes.at(-1)!;
    expect(written.kind === "response" && written.response.status).toBe(204);
    const onOther = node(other).inspect("b", key);
    expect(onOther?.siblings.filter((s) => !s.tombstone).map((s) => s.value)).toEqual(["second"]);
    send({ op: "get", bucket: "b", key, r: 3 });
    sim.run(500);
    const last = outcomes.at(-1)!;
    expect(
      last.kind === "response" && last.response.status === 200 && last.response.body,
    ).toMatchObject({
      siblings: ["second"],
    });
  });
});
