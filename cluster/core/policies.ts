// Policies: the seam labs plug into (every lab; lessons 4, 5, 6, 9 and 10). A node is made of
// mechanisms (the put and get coordinators, gossip, handoff, anti-entropy, ...) and, inside
// them, a few *decisions* a learner may want to make differently. Each decision is one pure
// function named here, with its contract written on it; `defaultPolicies` holds the reference
// implementations the node runs when nobody replaces them.
//
// A lab replaces one function and keeps the rest:
//
//   // my-policies.ts: put every partition on the first member (watch GET /ring)
//   import type { PolicyOverrides } from "../../cluster/core/policies.ts";
//   export const policies: PolicyOverrides = {
//     claim: ({ members, partitionCount }) => new Array(partitionCount).fill(members[0]),
//   };
//
// The same file runs in the simulator (`new Simulation({ policies })`, `SimulatedRun`) and in
// real node processes (`policies: "/abs/path/my-policies.ts"` in each node's configuration,
// `npx neverstop up --policies my-policies.ts`). A module may export `policies` or a default
// export; either is an object holding some of the functions below.
//
// Failure is contained. `checkPolicies` refuses a module of the wrong shape with one line that
// names the file and the function. At run time the node calls every policy through
// `guardPolicies`: a policy that throws, or answers something that breaks its contract,
// becomes a `PolicyError` naming the function; the node fails the one request it was serving
// (a 500 with the detail, and a log line) and keeps running.
//
// Every policy must be deterministic: the simulator replays a seed byte for byte only if the
// policies do too (no Math.random, no clock; what they need arrives as arguments).

import { claim as claimFromScratch, rebalance } from "./claim.ts";
import { preferenceList as ringPreferenceList, type PreferenceList, type Ring } from "./ring.ts";
import type { BucketMode, NodeId } from "./types.ts";
import type { Sibling } from "./versions.ts";

/** One target of a write: a primary, or a fallback standing in for one (sloppy quorum). */
export interface WriteTarget {
  node: NodeId;
  /** Set when `node` is a fallback keeping the write for this unreachable primary. */
  hintFor?: NodeId;
}

/** Where a quorum stands: keep waiting, answer the client, or give up with a reason. */
export type QuorumVerdict =
  { kind: "pending" } | { kind: "ok" } | { kind: "unavailable"; detail: string };

/** What a write's coordinator knows when it asks for a verdict. Every count is of distinct
 * replicas (the coordinator asserts it): a quorum never counts one replica twice. */
export interface WriteTally {
  /** W: acknowledgements the write needs. */
  w: number;
  /** PW: acknowledgements that must come from primaries (0: sloppy quorum). */
  pw: number;
  /** How many replicas the write was sent to (N, or fewer with fewer members). */
  targetCount: number;
  acknowledged: number;
  /** Targets that definitely did not store it (the message could not be delivered). */
  failed: number;
  primariesAcknowledged: number;
  /** Primaries that have neither acknowledged nor failed yet. */
  primariesPending: number;
}

export interface ReadTally {
  /** R: replies the read needs. */
  r: number;
  /** How many replicas were asked. */
  replicaCount: number;
  answered: number;
  failed: number;
}

export interface AdmissionInput {
  /** Client requests this node coordinates and has not answered. */
  requestsAwaiting: number;
  requestsInFlightMax: number;
  /** The key's partition, and the requests awaiting an answer on it. */
  partition: number;
  partitionRequestsAwaiting: number;
  partitionRequestsInFlightMax: number;
  /** A uniform draw from [0, 1) (the node's seeded random): call it only when refusing, as
   * the reference does, or the simulator's runs change. */
  random: () => number;
}

export type AdmissionDecision =
  { admit: true } | { admit: false; detail: string; retryAfterMs: number };

export type AlarmName = "node-down" | "hints-growing" | "overload" | "replicas-diverged";

/** What node health measures every heartbeat round, for the alarm rules. */
export interface HealthMeasurements {
  nodeId: NodeId;
  /** Peers the failure detector believes down. */
  peersDown: NodeId[];
  /** Requests refused with `overload` since the last round. */
  overloadRejections: number;
  hintsPending: number;
  /** How long some replica pair has disagreed (anti-entropy), in milliseconds. */
  divergedMs: number;
}

export interface AlarmState {
  name: AlarmName;
  active: boolean;
  /** Shown with the alarm (GET /alarms) while it is active. */
  detail: string;
}

export interface ClaimInput {
  /** The members: the configured order for the first claim, sorted after a change (every
   * node computes the same claim from the same input). */
  members: NodeId[];
  /** Q: how many partitions to hand out. */
  partitionCount: number;
  /** N: the replica count the spacing aims for. */
  targetN: number;
  /** The owners before this change (a join or leave), undefined for the first claim. */
  currentOwners: NodeId[] | undefined;
}

export interface SloppyQuorumInput {
  /** The key's N primaries, in preference-list order. */
  primaries: NodeId[];
  /** Every other node, in the order the ring walk met them. */
  fallbacks: NodeId[];
  /** The coordinator's failure detector (the coordinator itself is always up). */
  isUp: (node: NodeId) => boolean;
  pw: number;
}

/** How a read presents the live siblings of a key in a bucket of one type. */
export type SiblingResolver = (
  siblings: readonly Sibling[],
  where: { bucket: string; key: string },
) => readonly Sibling[];

/** Every decision a lab may replace. */
export interface Policies {
  /**
   * The sibling resolver per bucket type (lesson 6). Called on every read that finds a live
   * value, with every live sibling (one or more); returns what the client sees, at least one sibling (it may
   * invent one, a merge of the others, say). It changes the answer, not what is stored: the
   * read's context still covers every sibling, so the client's next write supersedes them all.
   * Reference: keep every sibling (lww buckets hold one already).
   */
  resolveSiblings: Record<BucketMode, SiblingResolver>;
  /**
   * The claim (lesson 4): owners[i] is the member that owns partition i. Called for the first
   * ring (`currentOwners` undefined) and on every join and leave. Must return `partitionCount`
   * owners, each one of `members`, and the same answer on every node for the same input.
   * Reference: claim.ts (spaced and balanced; rebalance moves as few partitions as it can).
   */
  claim(input: ClaimInput): NodeId[];
  /**
   * The preference list (lesson 4): the N primaries of a key, then every other node as a
   * fallback. Must list each node at most once, and be the same on every node.
   * Reference: ring.ts's walk clockwise from the key's partition.
   */
  preferenceList(ring: Ring, keyHash: bigint, replicaCount: number): PreferenceList;
  /**
   * The sloppy quorum's targets (lesson 5): one per primary, in order; either the primary or a
   * fallback standing in for it with `hintFor` naming it. A node appears at most once.
   * Reference: each primary believed down gets the next fallback believed up; with PW = N
   * nothing is gained, so the targets stay the primaries.
   */
  sloppyQuorumTargets(input: SloppyQuorumInput): WriteTarget[];
  /**
   * The write quorum's verdict, asked after every acknowledgement or failure. `ok` answers the
   * client 204; `unavailable` answers 503 (indeterminate: some replica may have stored it).
   * Reference: PW primaries and W in all acknowledged => ok; too few can still answer => 503.
   */
  writeQuorum(tally: WriteTally): QuorumVerdict;
  /** The read quorum's verdict, asked after every reply or failure. Reference: R replies =>
   * ok; too few replicas left to reach R => 503. */
  readQuorum(tally: ReadTally): QuorumVerdict;
  /**
   * Admission and back pressure (lesson 9): take this client request, or refuse it at once
   * with a 503 `overload` and when to come back, instead of queuing without limit.
   * Reference: refuse past `requestsInFlightMax` on the node or
   * `partitionRequestsInFlightMax` on the key's partition; retry after 100 to 500 ms.
   */
  admit(input: AdmissionInput): AdmissionDecision;
  /**
   * The alarm rules (lesson 10): which alarms are active after this heartbeat round. An alarm
   * missing from the answer keeps its state. Reference: a peer down, hints past
   * `alarmThresholds.hintsPending`, any overload refusal, a replica pair diverged longer than
   * `alarmThresholds.divergedMs`.
   */
  alarmRules(measurements: HealthMeasurements): AlarmState[];
}

/** What a policies module exports: any of the functions, the rest stay the reference. */
export type PolicyOverrides = Partial<Omit<Policies, "resolveSiblings">> & {
  resolveSiblings?: Partial<Record<BucketMode, SiblingResolver>>;
};

/**
 * The client side's policy (lesson 7, "a retry strategy for every interface function"): what a
 * client is asked after an attempt that did not end ok. The harness's clients run it
 * (chaos/harness/client.ts's `RetryDecider` is this type; a test checks that they agree), and
 * `SimulatedRun`'s runtime carries a lab's (lab 07). Pure, like the node's policies.
 */
export interface RetryQuestion {
  kind: "read" | "write";
  /** Whether applying the request twice equals applying it once. Reads are; the workloads'
   * puts are (unique values merged by union); a PN-counter increment is NOT. */
  idempotent: boolean;
  /** `fail`: it certainly did not happen. `info`: it may have happened (a timeout, a 504). */
  outcome: "fail" | "info";
  /** False when trying again cannot help (a 400: the request itself is wrong). */
  retryable: boolean;
  /** A 503 overload's hint: the node asks not to hear from this client sooner. */
  retryAfterMs: number | undefined;
  /** Attempts made so far, the one that just ended included (1 after the first). */
  attempts: number;
  /** Milliseconds since the first attempt began. */
  elapsedMs: number;
}

/** The delay before the next attempt in milliseconds, or undefined to stop; `random` draws
 * from [0, 1) (full jitter needs it). */
export type RetryDecider = (question: RetryQuestion, random: () => number) => number | undefined;

export interface ClientPolicies {
  retry: RetryDecider;
}

/** Thresholds of the reference alarm rules (lesson 10, "monitoring for five nines"). */
export const alarmThresholds = { hintsPending: 1_000, divergedMs: 30_000 };

/** An overloaded node says "retry after" a random time in [min, max): random, so that the
 * clients it refused do not all come back in the same millisecond. */
export const retryAfterMinMs = 100;
export const retryAfterMaxMs = 500;

export const defaultPolicies: Policies = {
  resolveSiblings: { causal: (siblings) => siblings, lww: (siblings) => siblings },
  claim: ({ members, partitionCount, targetN, currentOwners }) =>
    currentOwners === undefined
      ? claimFromScratch(members, partitionCount, targetN)
      : rebalance(currentOwners, members, targetN),
  preferenceList: ringPreferenceList,
  sloppyQuorumTargets: ({ primaries, fallbacks, isUp, pw }) => {
    if (primaries.every(isUp) || pw >= primaries.length) return primaries.map((node) => ({ node }));
    const spare = fallbacks.filter(isUp);
    return primaries.map((node) => {
      if (isUp(node)) return { node };
      const fallback = spare.shift();
      return fallback === undefined ? { node } : { node: fallback, hintFor: node };
    });
  },
  writeQuorum: (tally) => {
    const { w, pw, targetCount, acknowledged, failed } = tally;
    const stillPossible = targetCount - acknowledged - failed;
    const primariesPossible = tally.primariesAcknowledged + tally.primariesPending;
    if (primariesPossible < pw) {
      return {
        kind: "unavailable",
        detail: `Only ${primariesPossible} primaries are reachable; PW=${pw} needs ${pw}`,
      };
    }
    if (acknowledged >= w && tally.primariesAcknowledged >= pw) return { kind: "ok" };
    if (acknowledged + stillPossible < w) {
      return {
        kind: "unavailable",
        detail: `Only ${acknowledged} of ${targetCount} replicas acknowledged the write; W=${w} needs ${w}`,
      };
    }
    return { kind: "pending" };
  },
  readQuorum: ({ r, replicaCount, answered, failed }) => {
    if (answered >= r) return { kind: "ok" };
    if (answered + (replicaCount - answered - failed) < r) {
      return {
        kind: "unavailable",
        detail: `Only ${answered} of ${replicaCount} replicas answered the read; R=${r} needs ${r}`,
      };
    }
    return { kind: "pending" };
  },
  admit: (input) => {
    const partitionFull = input.partitionRequestsAwaiting >= input.partitionRequestsInFlightMax;
    if (input.requestsAwaiting < input.requestsInFlightMax && !partitionFull)
      return { admit: true };
    const where = partitionFull
      ? `${input.partitionRequestsAwaiting} requests on partition ${input.partition}`
      : `${input.requestsAwaiting} requests`;
    return {
      admit: false,
      detail: `This node already waits on ${where} (the limit); retry later`,
      retryAfterMs:
        retryAfterMinMs + Math.floor(input.random() * (retryAfterMaxMs - retryAfterMinMs)),
    };
  },
  alarmRules: (measured) => [
    {
      name: "node-down",
      active: measured.peersDown.length > 0,
      detail: `unreachable from ${measured.nodeId}: ${measured.peersDown.join(", ")}`,
    },
    {
      name: "hints-growing",
      active: measured.hintsPending > alarmThresholds.hintsPending,
      detail: `${measured.hintsPending} hints waiting for their primaries`,
    },
    {
      name: "overload",
      active: measured.overloadRejections > 0,
      detail: `${measured.overloadRejections} requests refused since the last check`,
    },
    {
      name: "replicas-diverged",
      active: measured.divergedMs > alarmThresholds.divergedMs,
      detail: `a replica pair has disagreed for ${Math.round(measured.divergedMs)} ms`,
    },
  ],
};

// --- loading and guarding -----------------------------------------------------------------

/** A policy threw or broke its contract while the node ran: the request it served fails. */
export class PolicyError extends Error {
  override name = "PolicyError";
  constructor(
    readonly policy: string,
    message: string,
  ) {
    super(`policy \`${policy}\` ${message}`);
  }
}

/** A policies module that cannot be used at all: one line naming the file and the function. */
export class PolicyLoadError extends Error {
  override name = "PolicyLoadError";
}

const policyNames = Object.keys(defaultPolicies) as Array<keyof Policies>;
const bucketModes = Object.keys(defaultPolicies.resolveSiblings) as BucketMode[];

/**
 * The policies a module's exports stand for: its `policies` export, else its default export,
 * over the defaults. Throws PolicyLoadError (one line naming `file` and the function) when a
 * name is unknown or a value is not a function.
 */
export function checkPolicies(exports: unknown, file: string): Policies {
  const value = exported(exports);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PolicyLoadError(
      `${file}: expected an exported \`policies\` object (or a default export), got ${describe(value)}`,
    );
  }
  const overrides = value as Record<string, unknown>;
  for (const [name, entry] of Object.entries(overrides)) {
    if (!(policyNames as string[]).includes(name)) {
      throw new PolicyLoadError(
        `${file}: \`${name}\` is not a policy; the policies are ${policyNames.join(", ")}`,
      );
    }
    if (name === "resolveSiblings") checkResolvers(entry, file);
    else if (typeof entry !== "function") {
      throw new PolicyLoadError(
        `${file}: expected \`${name}\` to be a function, got ${describe(entry)}`,
      );
    }
  }
  return withDefaults(overrides as PolicyOverrides);
}

/** The `policies` export, else the default export (unwrapping the CommonJS interop object a
 * TypeScript loader may put around it), else the module itself. */
function exported(module: unknown): unknown {
  if (typeof module !== "object" || module === null) return module;
  const named = module as { policies?: unknown; default?: unknown; __esModule?: unknown };
  if (named.policies !== undefined) return named.policies;
  if (named.default === undefined) return module;
  const inner = named.default as { __esModule?: unknown } | null;
  return typeof inner === "object" && inner !== null && inner.__esModule === true
    ? exported(inner)
    : inner;
}

function checkResolvers(entry: unknown, file: string): void {
  if (typeof entry !== "object" || entry === null) {
    throw new PolicyLoadError(
      `${file}: expected \`resolveSiblings\` to map bucket types (${bucketModes.join(", ")}) to functions, got ${describe(entry)}`,
    );
  }
  for (const [mode, resolver] of Object.entries(entry)) {
    if (!(bucketModes as string[]).includes(mode)) {
      throw new PolicyLoadError(
        `${file}: \`resolveSiblings.${mode}\` is not a bucket type; the bucket types are ${bucketModes.join(", ")}`,
      );
    }
    if (typeof resolver !== "function") {
      throw new PolicyLoadError(
        `${file}: expected \`resolveSiblings.${mode}\` to be a function, got ${describe(resolver)}`,
      );
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value).slice(0, 40)}`;
}

/** The defaults with some functions replaced. */
export function withDefaults(overrides: PolicyOverrides = {}): Policies {
  return {
    ...defaultPolicies,
    ...overrides,
    resolveSiblings: { ...defaultPolicies.resolveSiblings, ...overrides.resolveSiblings },
  } as Policies;
}

/**
 * The policies as the node calls them: any throw becomes a PolicyError naming the function,
 * and answers that break a contract the node depends on are refused the same way. The
 * reference policies are trusted (their answers are checked by their own tests), so the
 * default object is returned as it is: the simulator's hot path pays nothing.
 */
export function guardPolicies(policies: Policies): Policies {
  if (policies === defaultPolicies) return policies;
  const guard =
    <Args extends unknown[], Result>(
      name: string,
      call: (...args: Args) => Result,
      check: (result: Result, ...args: Args) => string | undefined,
    ) =>
    (...args: Args): Result => {
      let result: Result;
      try {
        result = call(...args);
      } catch (error) {
        throw new PolicyError(name, `threw: ${firstLine(error)}`);
      }
      const problem = check(result, ...args);
      if (problem !== undefined) throw new PolicyError(name, problem);
      return result;
    };
  const resolveSiblings = Object.fromEntries(
    bucketModes.map((mode) => [
      mode,
      guard(`resolveSiblings.${mode}`, policies.resolveSiblings[mode], (result, siblings) =>
        Array.isArray(result) && (result.length > 0 || siblings.length === 0)
          ? undefined
          : `returned ${describe(result)}; expected at least one sibling`,
      ),
    ]),
  ) as Record<BucketMode, SiblingResolver>;
  return {
    resolveSiblings,
    claim: guard("claim", policies.claim, checkClaim),
    preferenceList: guard("preferenceList", policies.preferenceList, checkPreferenceList),
    sloppyQuorumTargets: guard("sloppyQuorumTargets", policies.sloppyQuorumTargets, checkTargets),
    writeQuorum: guard("writeQuorum", policies.writeQuorum, checkVerdict),
    readQuorum: guard("readQuorum", policies.readQuorum, checkVerdict),
    admit: guard("admit", policies.admit, checkAdmission),
    alarmRules: guard("alarmRules", policies.alarmRules, (result) =>
      Array.isArray(result) ? undefined : `returned ${describe(result)}; expected an array`,
    ),
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

function checkClaim(owners: NodeId[], input: ClaimInput): string | undefined {
  if (!Array.isArray(owners) || owners.length !== input.partitionCount) {
    return `returned ${describe(owners)}; expected ${input.partitionCount} owners`;
  }
  const stranger = owners.find((owner) => !input.members.includes(owner));
  return stranger === undefined
    ? undefined
    : `returned owner ${JSON.stringify(stranger)}, not a member (${input.members.join(", ")})`;
}

function checkPreferenceList(list: PreferenceList): string | undefined {
  if (typeof list !== "object" || list === null || !Array.isArray(list.primaries)) {
    return `returned ${describe(list)}; expected { primaries, fallbacks }`;
  }
  if (!Array.isArray(list.fallbacks)) return "returned no `fallbacks` array";
  const nodes = [...list.primaries.map((entry) => entry.node), ...list.fallbacks];
  if (list.primaries.length === 0) return "returned no primaries";
  return new Set(nodes).size === nodes.length ? undefined : "listed a node twice";
}

function checkTargets(targets: WriteTarget[], input: SloppyQuorumInput): string | undefined {
  if (!Array.isArray(targets) || targets.length !== input.primaries.length) {
    return `returned ${describe(targets)}; expected one target per primary (${input.primaries.length})`;
  }
  const nodes = targets.map((target) => target.node);
  if (new Set(nodes).size !== nodes.length) return "named a node twice";
  const wrong = targets.find((target, index) =>
    target.hintFor === undefined
      ? target.node !== input.primaries[index]
      : target.hintFor !== input.primaries[index],
  );
  return wrong === undefined
    ? undefined
    : `target ${JSON.stringify(wrong)} stands for neither its primary nor a hint for it`;
}

function checkVerdict(verdict: QuorumVerdict): string | undefined {
  const kind = (verdict as { kind?: unknown } | null)?.kind;
  if (kind === "pending" || kind === "ok") return undefined;
  if (kind === "unavailable" && typeof (verdict as { detail?: unknown }).detail === "string") {
    return undefined;
  }
  return `returned ${JSON.stringify(verdict)}; expected { kind: "pending" | "ok" | "unavailable" }`;
}

function checkAdmission(decision: AdmissionDecision): string | undefined {
  const value = decision as { admit?: unknown; detail?: unknown; retryAfterMs?: unknown } | null;
  if (value?.admit === true) return undefined;
  if (
    value?.admit === false &&
    typeof value.detail === "string" &&
    Number.isFinite(value.retryAfterMs)
  ) {
    return undefined;
  }
  return `returned ${JSON.stringify(decision)}; expected { admit: true } or { admit: false, detail, retryAfterMs }`;
}
