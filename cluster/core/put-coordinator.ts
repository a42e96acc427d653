// The put coordinator (lesson 5, "systems that never stop"; the Dynamo paper's sections 4.3,
// 4.5 and 4.6): the state machine that runs one write, in the manner of riak_kv's put FSM. Any
// node may coordinate any request.
//
//   1. Mint. One replica in the key's preference list *mints* the new version (this node when
//      it is a replica; else the first primary believed up, then the next if that one cannot be
//      reached in its share of the time bound). Minting needs the replica's own copy: see
//      versions.ts for why. Messages: mint -> mint-ok | mint-refused (replica.ts answers).
//   2. Replicate. The minted version goes to the other targets: the primaries, with a fallback
//      standing in (a hint) for each primary believed down: the sloppy quorum, chosen by the
//      `sloppyQuorumTargets` policy. Messages: replicate -> replicate-ok.
//   3. Verdict. After every acknowledgement or failure the `writeQuorum` policy says: wait,
//      answer 204, or answer 503. The time bound answers 504. A write that fails after step 1
//      may still be on some replica, so the error says `indeterminate`: the client must not
//      assume it did not happen.
//   4. Reap. A delete every primary acknowledged leaves the same tombstone everywhere: the
//      coordinator asks them to drop it (message: reap).
//
// Invariants asserted: a quorum never counts one replica twice (targets are distinct, and an
// acknowledgement is counted once per target), acknowledgements never exceed N, and a
// finished request gets no second reply.

import type { Admission } from "./admission.ts";
import { allDistinct, assert } from "./assert.ts";
import type { CrdtOperation } from "./crdt.ts";
import type { Gossip } from "./gossip.ts";
import { noFailures, withFailure, withoutFailure, type NodeContext } from "./node-context.ts";
import { outcomeOf, type NodeHealth } from "./node-health.ts";
import { PolicyError, type QuorumVerdict, type WriteTarget } from "./policies.ts";
import { policyFailure, type WriteRequest } from "./requests.ts";
import type { ClientRequest, ClientResponse, NodeId, PeerMessage, TimerId } from "./types.ts";
import { contextTag, decodeContext, encodeContext, type VersionedObject } from "./versions.ts";

interface PutFsm {
  id: string;
  requestId: string;
  /** The key's partition (admission took the request's budget there). */
  partition: number;
  request: WriteRequest;
  /** The client's own operation name, for counting. */
  countAs: ClientRequest["op"];
  /** For a data type update: the operation the minting replica applies. */
  crdt: CrdtOperation | undefined;
  w: number;
  /** Acknowledgements that must come from primaries (PW); 0 = sloppy quorum. */
  pw: number;
  preferenceList: NodeId[];
  /** Where the version goes: the primaries, with fallbacks for those believed down. */
  targets: WriteTarget[];
  /** Replicas that may mint the version, in the order they are tried. */
  candidates: NodeId[];
  attempt: number;
  mintTimer: TimerId | undefined;
  requestTimer: TimerId;
  /** Some attempt timed out: that replica may have stored the write. */
  maybeWritten: boolean;
  object: VersionedObject | undefined;
  acknowledged: Set<NodeId>;
  failed: ReadonlySet<NodeId>;
  replied: boolean;
}

/** What a new write needs: the request, and the partition admission already looked up. */
export interface PutStart {
  requestId: string;
  countAs: ClientRequest["op"];
  request: WriteRequest;
  crdt: CrdtOperation | undefined;
  partition: number;
}

export class PutCoordinator {
  private readonly fsms = new Map<string, PutFsm>();

  constructor(
    private readonly context: NodeContext,
    private readonly gossip: Gossip,
    private readonly admission: Admission,
    private readonly health: NodeHealth,
  ) {}

  /** Writes in flight (stats' fsmActive). */
  get size(): number {
    return this.fsms.size;
  }

  start({ requestId, countAs, request, crdt, partition }: PutStart): void {
    const { config, env, nodeId } = this.context;
    const n = request.n ?? config.defaults.n;
    const placement = this.gossip.placement(request.bucket, request.key, n);
    const list = placement.primaries;
    const pw = request.pw ?? 0;
    const now = env.now();
    let primariesUp = 0;
    for (const node of list) if (this.gossip.isUp(node, now)) primariesUp += 1;
    if (primariesUp < pw) {
      // Riak's pw_val_unsatisfied: refuse before writing anything, so the client knows the
      // write did not happen (a definite failure, not an indeterminate one).
      this.health.count(countAs, "unavailable");
      env.reply(requestId, {
        status: 503,
        body: {
          error: "unavailable",
          detail: `Only ${primariesUp} of ${list.length} primaries are reachable from ${nodeId}; PW=${pw} needs ${pw}`,
        },
      });
      return;
    }
    const targets = this.context.policies.sloppyQuorumTargets({
      primaries: list,
      fallbacks: placement.fallbacks,
      isUp: isUpAt(this.gossip, now),
      pw,
    });
    assert(
      allDistinct(targets.map((target) => target.node)),
      "a quorum never counts one replica twice",
    );
    this.admission.take(partition);
    const id = this.context.nextRequestId();
    const timeoutMs = request.timeoutMs ?? config.defaults.timeoutMs;
    const requestTimer = env.setTimer(timeoutMs, { kind: "request-timeout", fsmId: id });
    // One literal, not spreads of smaller ones: this runs for every write, and spreading copies
    // each field twice (the simulator's profile had 6% of its time here).
    const fsm: PutFsm = {
      id,
      requestId,
      partition,
      request,
      countAs,
      crdt,
      w: request.w ?? config.defaults.w,
      pw,
      preferenceList: list,
      targets,
      candidates: this.mintingCandidates(list),
      attempt: -1,
      mintTimer: undefined,
      requestTimer,
      maybeWritten: false,
      object: undefined,
      acknowledged: new Set<NodeId>(),
      failed: noFailures,
      replied: false,
    };
    this.fsms.set(id, fsm);
    this.tryNextMinter(fsm);
  }

  /** Primaries that may mint a version: this node first if it is one, then those believed up. */
  private mintingCandidates(primaries: NodeId[]): NodeId[] {
    // Plain loops, one array: this runs for every write (filters and spreads made five).
    const self = this.context.nodeId;
    const now = this.context.env.now();
    const isCandidate = primaries.includes(self);
    const candidates: NodeId[] = [];
    if (isCandidate && this.gossip.isUp(self, now)) candidates.push(self);
    for (const node of primaries) {
      if (node !== self && this.gossip.isUp(node, now)) candidates.push(node);
    }
    if (isCandidate && !this.gossip.isUp(self, now)) candidates.push(self);
    for (const node of primaries) {
      if (node !== self && !this.gossip.isUp(node, now)) candidates.push(node);
    }
    return candidates;
  }

  private tryNextMinter(fsm: PutFsm): void {
    const { env, config } = this.context;
    if (fsm.mintTimer !== undefined) env.cancelTimer(fsm.mintTimer);
    fsm.mintTimer = undefined;
    fsm.attempt += 1;
    const candidate = fsm.candidates[fsm.attempt];
    if (candidate === undefined) {
      this.finish(fsm, {
        status: 503,
        body: {
          error: "unavailable",
          detail: `No replica of the preference list (${fsm.preferenceList.join(", ")}) could be reached to coordinate the write`,
          indeterminate: fsm.maybeWritten,
        },
      });
      return;
    }
    const { request } = fsm;
    const timeoutMs = request.timeoutMs ?? config.defaults.timeoutMs;
    // Each candidate gets an equal share of the time bound, so the last one still has time.
    const shareMs = Math.max(1, Math.floor(timeoutMs / fsm.candidates.length));
    fsm.mintTimer = env.setTimer(shareMs, {
      kind: "mint-timeout",
      fsmId: fsm.id,
      attempt: fsm.attempt,
    });
    const mint: Extract<PeerMessage, { type: "mint" }> = {
      type: "mint",
      id: fsm.id,
      bucket: request.bucket,
      key: request.key,
      mode: config.bucketModes[request.bucket] ?? "causal",
      value: request.op === "put" ? request.value : null,
      tombstone: request.op === "delete",
      context: request.context === undefined ? {} : (decodeContext(request.context)?.clock ?? {}),
      timestamp: env.now(),
    };
    // Set after, not spread in: a spread copies the object again (every write sends a mint).
    if (fsm.crdt !== undefined) mint.crdt = fsm.crdt;
    this.context.send(candidate, mint);
  }

  onMintOk(from: NodeId, id: string, object: VersionedObject): void {
    const fsm = this.fsms.get(id);
    if (fsm === undefined) return;
    if (fsm.object !== undefined) return; // a slow earlier attempt answered late: one is enough
    if (fsm.mintTimer !== undefined) this.context.env.cancelTimer(fsm.mintTimer);
    fsm.mintTimer = undefined;
    fsm.object = object;
    // The minter was believed down when targets were chosen: it is a target again.
    fsm.targets = fsm.targets.map((target) => (target.hintFor === from ? { node: from } : target));
    assert(
      fsm.targets.some((target) => target.node === from),
      "the minting replica is one of the write's targets",
    );
    fsm.acknowledged.add(from);
    fsm.failed = withoutFailure(fsm.failed, from);
    for (const target of fsm.targets) {
      if (target.node === from) continue;
      const replicate: Extract<PeerMessage, { type: "replicate" }> = {
        type: "replicate",
        id: fsm.id,
        bucket: fsm.request.bucket,
        key: fsm.request.key,
        object,
      };
      if (target.hintFor !== undefined) replicate.hintFor = target.hintFor;
      this.context.send(target.node, replicate);
    }
    this.progress(fsm);
  }

  onMintRefused(id: string, detail: string): void {
    const fsm = this.fsms.get(id);
    if (fsm === undefined || fsm.object !== undefined) return;
    this.finish(fsm, { status: 400, body: { error: "bad_request", detail } });
  }

  onReplicateOk(from: NodeId, id: string): void {
    const fsm = this.fsms.get(id);
    if (fsm === undefined || !fsm.targets.some((target) => target.node === from)) return;
    fsm.acknowledged.add(from); // a set: a duplicated acknowledgement counts once
    fsm.failed = withoutFailure(fsm.failed, from);
    this.progress(fsm);
  }

  /** The time share of mint attempt `attempt` ran out: that replica may have minted. */
  onMintTimeout(fsmId: string, attempt: number): void {
    const fsm = this.fsms.get(fsmId);
    if (fsm === undefined || fsm.object !== undefined || attempt !== fsm.attempt) return;
    fsm.mintTimer = undefined;
    fsm.maybeWritten = true;
    // A CRDT operation is not idempotent: the silent replica may have applied the increment, and
    // a second minter would apply it again (two dots, counted twice). Wait for a late mint-ok or
    // the request's time bound (504, indeterminate) instead. A plain put may try the next
    // replica: a second minting only leaves two equal siblings, which a read merges.
    if (fsm.crdt !== undefined) return;
    this.tryNextMinter(fsm);
  }

  /** The request's time bound: 504. False when `fsmId` is not a write. */
  onRequestTimeout(fsmId: string): boolean {
    const fsm = this.fsms.get(fsmId);
    if (fsm === undefined) return false;
    const timeoutMs = fsm.request.timeoutMs ?? this.context.config.defaults.timeoutMs;
    this.finish(fsm, {
      status: 504,
      body: {
        error: "timeout",
        detail: `Timed out after ${timeoutMs} ms with ${fsm.acknowledged.size} of W=${fsm.w} acknowledgements`,
        indeterminate: fsm.maybeWritten || fsm.object !== undefined,
      },
    });
    return true;
  }

  /** A mint or replicate could not be delivered: a definite failure of that replica. */
  onSendFailed(to: NodeId, message: PeerMessage): void {
    if (message.type !== "mint" && message.type !== "replicate") return;
    const fsm = this.fsms.get(message.id);
    if (fsm === undefined) return;
    if (message.type === "mint") {
      if (fsm.object === undefined && fsm.candidates[fsm.attempt] === to) {
        // Only a target counts against the quorum: a primary a fallback stands in for does not.
        if (fsm.targets.some((target) => target.node === to)) {
          fsm.failed = withFailure(fsm.failed, to);
        }
        this.tryNextMinter(fsm);
      }
    } else if (!fsm.acknowledged.has(to)) {
      fsm.failed = withFailure(fsm.failed, to);
      this.progress(fsm);
    }
  }

  private progress(fsm: PutFsm): void {
    const n = fsm.targets.length;
    const acknowledged = fsm.acknowledged.size;
    assert(acknowledged + fsm.failed.size <= n, "acknowledgements never exceed N");
    if (!fsm.replied && !this.answerIfDecided(fsm)) return;
    if (n - acknowledged - fsm.failed.size > 0) return;
    // Every replica answered. A tombstone that every primary holds can be reaped.
    const allPrimaries = fsm.targets.every((target) => target.hintFor === undefined);
    if (fsm.request.op === "delete" && allPrimaries && acknowledged === n && fsm.object) {
      const { bucket, key } = fsm.request;
      for (const replica of fsm.preferenceList) {
        this.context.send(replica, { type: "reap", bucket, key, clock: fsm.object.clock });
      }
    }
    this.retire(fsm);
  }

  /** Asks the `writeQuorum` policy and answers the client if it decided; false when the
   * policy failed (the request is finished with a 500). */
  private answerIfDecided(fsm: PutFsm): boolean {
    // Counted in one loop, without named helper closures: this runs on every acknowledgement.
    let primariesAcknowledged = 0;
    let primariesPending = 0;
    for (const target of fsm.targets) {
      if (target.hintFor !== undefined) continue; // a fallback holding a hint, not a primary
      if (fsm.acknowledged.has(target.node)) primariesAcknowledged += 1;
      else if (!fsm.failed.has(target.node)) primariesPending += 1;
    }
    const verdict = this.verdict(fsm, () =>
      this.context.policies.writeQuorum({
        w: fsm.w,
        pw: fsm.pw,
        targetCount: fsm.targets.length,
        acknowledged: fsm.acknowledged.size,
        failed: fsm.failed.size,
        primariesAcknowledged,
        primariesPending,
      }),
    );
    if (verdict === undefined) return false;
    if (verdict.kind === "ok") {
      const tag = contextTag(fsm.request.bucket, fsm.request.key);
      // Not remembered as decoded: a write's context is seldom handed back (versions.ts).
      const context = encodeContext(fsm.object!.clock, tag, false);
      this.reply(fsm, { status: 204, context });
    } else if (verdict.kind === "unavailable") {
      this.reply(fsm, {
        status: 503,
        body: { error: "unavailable", detail: verdict.detail, indeterminate: true },
      });
    }
    return true;
  }

  /** A quorum policy that throws fails this request with a 500 (a write may have landed on
   * some replica: indeterminate), and the state machine ends. */
  private verdict(fsm: PutFsm, ask: () => QuorumVerdict): QuorumVerdict | undefined {
    try {
      return ask();
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      this.context.env.log("policy-failed", { policy: error.policy, detail: error.message });
      this.finish(fsm, policyFailure(error, true));
      return undefined;
    }
  }

  private reply(fsm: PutFsm, response: ClientResponse): void {
    assert(!fsm.replied, "a finished request gets no second reply");
    this.admission.release(fsm.partition);
    fsm.replied = true;
    this.health.count(fsm.countAs, outcomeOf(response));
    this.context.env.reply(fsm.requestId, response);
  }

  private finish(fsm: PutFsm, response: ClientResponse): void {
    if (!fsm.replied) this.reply(fsm, response);
    this.retire(fsm);
  }

  private retire(fsm: PutFsm): void {
    this.context.env.cancelTimer(fsm.requestTimer);
    if (fsm.mintTimer !== undefined) this.context.env.cancelTimer(fsm.mintTimer);
    this.fsms.delete(fsm.id);
  }
}

/** "Is this node up now?" for the sloppy-quorum policy. Returned from here, not written inline
 * in start(): a function written as an object's property is a named one, and tsx (which runs
 * the benchmarks) names each such function made at run time, a property definition per write. */
function isUpAt(gossip: Gossip, now: number): (node: NodeId) => boolean {
  return (node) => gossip.isUp(node, now);
}
