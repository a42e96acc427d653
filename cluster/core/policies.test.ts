// The policies seam (every lab): the reference policies are what the node ran before the seam
// existed, a module of the wrong shape is refused with one line naming the file and the
// function, and a guarded policy that throws or breaks its contract becomes a PolicyError.
import { describe, expect, it } from "vitest";
import { claim, rebalance } from "./claim.ts";
import {
  checkPolicies,
  defaultPolicies,
  guardPolicies,
  PolicyError,
  PolicyLoadError,
  withDefaults,
} from "./policies.ts";
import { createRing, hashKey } from "./ring.ts";

const members = ["n1", "n2", "n3", "n4", "n5"];

describe("reference policies", () => {
  it("claim is claim.ts's claim first and its rebalance after a change", () => {
    const first = defaultPolicies.claim({
      members,
      partitionCount: 64,
      targetN: 3,
      currentOwners: undefined,
    });
    expect(first).toEqual(claim(members, 64, 3));
    const grown = [...members, "n6"];
    expect(
      defaultPolicies.claim({
        members: grown,
        partitionCount: 64,
        targetN: 3,
        currentOwners: first,
      }),
    ).toEqual(rebalance(first, grown, 3));
  });

  it("sloppy quorum replaces each primary that is down with the next fallback that is up", () => {
    const isUp = (node: string) => node !== "n2" && node !== "n4";
    const targets = defaultPolicies.sloppyQuorumTargets({
      primaries: ["n1", "n2", "n3"],
      fallbacks: ["n4", "n5"],
      isUp,
      pw: 0,
    });
    expect(targets).toEqual([{ node: "n1" }, { node: "n5", hintFor: "n2" }, { node: "n3" }]);
    const strict = { primaries: ["n1", "n2", "n3"], fallbacks: ["n4", "n5"], isUp, pw: 3 };
    expect(defaultPolicies.sloppyQuorumTargets(strict)).toEqual([
      { node: "n1" },
      { node: "n2" },
      { node: "n3" },
    ]);
  });

  it("the write quorum waits, succeeds at W and gives up when W can no longer be reached", () => {
    const tally = {
      w: 2,
      pw: 0,
      targetCount: 3,
      acknowledged: 1,
      failed: 0,
      primariesAcknowledged: 1,
      primariesPending: 2,
    };
    expect(defaultPolicies.writeQuorum(tally)).toEqual({ kind: "pending" });
    expect(defaultPolicies.writeQuorum({ ...tally, acknowledged: 2 })).toEqual({ kind: "ok" });
    expect(defaultPolicies.writeQuorum({ ...tally, failed: 2 })).toEqual({
      kind: "unavailable",
      detail: "Only 1 of 3 replicas acknowledged the write; W=2 needs 2",
    });
    expect(
      defaultPolicies.writeQuorum({ ...tally, pw: 3, primariesPending: 1, failed: 1 }).kind,
    ).toBe("unavailable");
  });

  it("the read quorum answers at R", () => {
    const tally = { r: 2, replicaCount: 3, answered: 1, failed: 0 };
    expect(defaultPolicies.readQuorum(tally)).toEqual({ kind: "pending" });
    expect(defaultPolicies.readQuorum({ ...tally, answered: 2 })).toEqual({ kind: "ok" });
    expect(defaultPolicies.readQuorum({ ...tally, failed: 2 }).kind).toBe("unavailable");
  });

  it("admission refuses past either bound and says when to retry, 100 to 500 ms", () => {
    const input = {
      requestsAwaiting: 10,
      requestsInFlightMax: 10,
      partition: 3,
      partitionRequestsAwaiting: 0,
      partitionRequestsInFlightMax: 5,
      random: () => 0.999,
    };
    const refused = defaultPolicies.admit(input);
    expect(refused).toEqual({
      admit: false,
      detail: "This node already waits on 10 requests (the limit); retry later",
      retryAfterMs: 499,
    });
    expect(defaultPolicies.admit({ ...input, requestsAwaiting: 9 })).toEqual({ admit: true });
    const hot = defaultPolicies.admit({
      ...input,
      requestsAwaiting: 0,
      partitionRequestsAwaiting: 5,
    });
    expect(hot.admit === false && hot.detail).toContain("5 requests on partition 3");
  });

  it("the alarm rules raise node-down for a peer that is down and nothing else when calm", () => {
    const rules = defaultPolicies.alarmRules({
      nodeId: "n1",
      peersDown: ["n3"],
      overloadRejections: 0,
      hintsPending: 0,
      divergedMs: 0,
    });
    expect(rules.filter((rule) => rule.active).map((rule) => rule.name)).toEqual(["node-down"]);
  });

  it("the preference list is ring.ts's walk", () => {
    const ring = createRing(members, 64, 3);
    const list = defaultPolicies.preferenceList(ring, hashKey("b", "k"), 3);
    expect(list.primaries).toHaveLength(3);
    expect(list.fallbacks).toHaveLength(2);
  });
});

describe("checkPolicies: a module's exports", () => {
  const file = "/labs/mine.ts";
  it("takes a `policies` export, or a default export, over the defaults", () => {
    const keepOne = (siblings: readonly unknown[]) => siblings.slice(0, 1);
    const named = checkPolicies({ policies: { resolveSiblings: { causal: keepOne } } }, file);
    expect(named.resolveSiblings.causal).toBe(keepOne);
    expect(named.resolveSiblings.lww).toBe(defaultPolicies.resolveSiblings.lww);
    expect(named.claim).toBe(defaultPolicies.claim);
    const admit = () => ({ admit: true as const });
    expect(checkPolicies({ default: { admit } }, file).admit).toBe(admit);
  });

  it.each([
    [
      { policies: 3 },
      "/labs/mine.ts: expected an exported `policies` object (or a default export), got number 3",
    ],
    [
      { policies: { clam: () => [] } },
      "/labs/mine.ts: `clam` is not a policy; the policies are resolveSiblings, claim, preferenceList, sloppyQuorumTargets, writeQuorum, readQuorum, admit, alarmRules",
    ],
    [
      { policies: { claim: "round-robin" } },
      "/labs/mine.ts: expected `claim` to be a function, got string round-robin",
    ],
    [
      { policies: { resolveSiblings: { crdt: () => [] } } },
      "/labs/mine.ts: `resolveSiblings.crdt` is not a bucket type; the bucket types are causal, lww",
    ],
  ])("refuses %j with one line naming the file and the function", (exports, message) => {
    expect(() => checkPolicies(exports, file)).toThrow(new PolicyLoadError(message));
    try {
      checkPolicies(exports, file);
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });
});

describe("guardPolicies", () => {
  it("leaves the reference policies unwrapped (the hot path pays nothing)", () => {
    expect(guardPolicies(defaultPolicies)).toBe(defaultPolicies);
  });

  it("turns a throw into a PolicyError naming the function", () => {
    const guarded = guardPolicies(
      withDefaults({
        writeQuorum: () => {
          throw new TypeError("tally.acks is undefined");
        },
      }),
    );
    const tally = {
      w: 2,
      pw: 0,
      targetCount: 3,
      acknowledged: 1,
      failed: 0,
      primariesAcknowledged: 1,
      primariesPending: 2,
    };
    expect(() => guarded.writeQuorum(tally)).toThrow(
      new PolicyError("writeQuorum", "threw: tally.acks is undefined"),
    );
  });

  it("refuses answers that break a contract the node relies on", () => {
    const guarded = guardPolicies(
      withDefaults({
        claim: ({ partitionCount }) => new Array<string>(partitionCount).fill("n9"),
        sloppyQuorumTargets: ({ primaries }) => primaries.map(() => ({ node: "n1" })),
        resolveSiblings: { causal: () => [] },
        readQuorum: () => ({ kind: "maybe" }) as never,
      }),
    );
    const claimInput = { members, partitionCount: 8, targetN: 3, currentOwners: undefined };
    expect(() => guarded.claim(claimInput)).toThrow(/`claim` returned owner "n9", not a member/);
    const targetsInput = { primaries: ["n1", "n2"], fallbacks: [], isUp: () => true, pw: 0 };
    expect(() => guarded.sloppyQuorumTargets(targetsInput)).toThrow(/named a node twice/);
    const sibling = { dot: ["a", 1] as [string, number], value: 1, tombstone: false, timestamp: 0 };
    expect(() => guarded.resolveSiblings.causal([sibling], { bucket: "b", key: "k" })).toThrow(
      /at least one sibling/,
    );
    const readTally = { r: 1, replicaCount: 3, answered: 1, failed: 0 };
    expect(() => guarded.readQuorum(readTally)).toThrow(/`readQuorum` returned/);
  });
});
