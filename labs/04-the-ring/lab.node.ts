// Lab 04's real-process check (node only): the learner's ring answers real requests. Four node
// processes start with the learner's file as their policies module (the talk's 32 vnodes on 4
// nodes); every node's GET /ring must show the learner's claim, GET /ring/keys/... the learner's
// preference list, and a write through one node must be read back through another.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Operation } from "../../chaos/harness/history.ts";
import { startLocalCluster, type LocalCluster } from "../../cluster/runtime/real/cluster.ts";
import { hashKey } from "../../cluster/core/ring.ts";
import { callLearner, type CheckOutcome, type LabCheck } from "../kit/lab.ts";
import { learnerPolicies } from "../kit/policies.ts";
import type { RingModule } from "./lab.ts";

const members = ["n1", "n2", "n3", "n4"];
const keys = ["alice", "bob", "carol", "dave", "erin"];

export const ringOnRealNodes: LabCheck<RingModule> = {
  id: "04e",
  title: "on real processes, GET /ring shows your claim and your ring serves reads and writes",
  needs: "local",
  async run({ module, learnerFile, note }): Promise<CheckOutcome> {
    if (learnerFile === undefined)
      return { ok: false, message: "this check needs the learner's file on disk" };
    const expected = callLearner("claim", () =>
      module.claim({ members, partitionCount: 32, targetN: 3, currentOwners: undefined }),
    );
    if (!expected.ok) return { ok: false, message: expected.message };
    const folder = mkdtempSync(join(tmpdir(), "neverstop-lab04-"));
    const policiesFile = join(folder, "policies.ts");
    const source = learnerPolicies({}, learnerFile, {
      claim: "claim",
      preferenceList: "preferenceList",
    }).moduleSource!;
    writeFileSync(policiesFile, source);
    let cluster: LocalCluster | undefined;
    const history: Operation[] = [];
    try {
      note("starting 4 node processes with your ring");
      cluster = await startLocalCluster({ nodes: 4, partitionCount: 32, policies: policiesFile });
      return await judge(cluster, module, expected.value, history, note);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        message: `the nodes did not run your ring: ${text.split("\n")[0]}`,
        history,
      };
    } finally {
      await cluster?.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  },
};

async function judge(
  cluster: LocalCluster,
  module: RingModule,
  owners: string[],
  history: Operation[],
  note: (text: string) => void,
): Promise<CheckOutcome> {
  const record = (fields: Omit<Operation, "index" | "time">) =>
    history.push({ index: history.length, time: history.length * 1_000_000, ...fields });
  for (const node of cluster.nodes) {
    note(`GET /ring on ${node.id}`);
    const ring = (await (await fetch(`${node.httpUrl}/ring`)).json()) as { owners?: string[] };
    record({ process: 0, type: "invoke", f: "ring", value: null, node: node.id });
    record({ process: 0, type: "ok", f: "ring", value: ring.owners ?? null, node: node.id });
    if (JSON.stringify(ring.owners) !== JSON.stringify(owners))
      return { ok: false, message: `${node.id}'s GET /ring is not your claim`, history };
  }
  const [writer, reader] = [cluster.nodes[0]!, cluster.nodes[2]!];
  for (const key of keys) {
    note(`write and read sessions/${key}`);
    const listed = (await (await fetch(`${writer.httpUrl}/ring/keys/sessions/${key}`)).json()) as {
      primaries?: Array<{ node: string }>;
    };
    const mine = callLearner("preferenceList", () =>
      module.preferenceList({ partitionCount: 32, owners }, hashKey("sessions", key), 3),
    );
    if (!mine.ok) return { ok: false, message: mine.message, history };
    const want = mine.value.primaries.map((entry) => entry.node).join(",");
    const got = (listed.primaries ?? []).map((entry) => entry.node).join(",");
    if (want !== got)
      return {
        ok: false,
        message: `sessions/${key}: the node lists primaries ${got}, your preference list says ${want}`,
        history,
      };
    const value = JSON.stringify(`session of ${key}`);
    record({ process: 1, type: "invoke", f: "write", key, value, node: writer.id });
    const put = await fetch(`${writer.httpUrl}/kv/sessions/${key}`, { method: "PUT", body: value });
    record({ process: 1, type: put.ok ? "ok" : "fail", f: "write", key, value, node: writer.id });
    if (!put.ok)
      return {
        ok: false,
        message: `PUT sessions/${key} through ${writer.id}: ${put.status} ${await put.text()}`,
        history,
      };
    record({ process: 2, type: "invoke", f: "read", key, value: null, node: reader.id });
    const got2 = await fetch(`${reader.httpUrl}/kv/sessions/${key}?r=3`);
    const body = got2.ok ? ((await got2.json()) as { siblings?: unknown[] }) : undefined;
    record({
      process: 2,
      type: got2.ok ? "ok" : "fail",
      f: "read",
      key,
      value: (body?.siblings ?? null) as Operation["value"],
      node: reader.id,
    });
    if (JSON.stringify(body?.siblings) !== JSON.stringify([`session of ${key}`]))
      return {
        ok: false,
        message: `sessions/${key} written through ${writer.id} reads back through ${reader.id} as ${JSON.stringify(body?.siblings)}`,
        history,
      };
  }
  return { ok: true, detail: `4 nodes show your claim; ${keys.length} keys written and read back` };
}
