// The get coordinator (lessons 2 and 6; the Dynamo paper's sections 4.5 and 5): the state
// machine that runs one read, in the manner of riak_kv's get FSM, with read repair and reaping.
//
//   1. Ask. The read goes to all N replicas of the key (message: read -> read-reply).
//   2. Answer. After every reply or failure the `readQuorum` policy says: wait, answer, or give
//      up with 503. The answer is the merge of every reply so far (versions.ts), its live
//      siblings shown through the bucket type's `resolveSiblings` policy, and a context that
//      covers them all. The time bound answers 504.
//   3. Repair. The coordinator keeps listening until all N answer or time runs out, then sends
//      the merged version to every replica that answered with less (read repair, message:
//      repair), and, when every replica holds the same tombstone, asks them to drop it
//      (message: reap).
//
// Invariants asserted: a replica's reply is counted once (a duplicated message is ignored),
// replies and failures never exceed N, and a finished request gets no second reply.

import type { Admission } from "./admission.ts";
import { allDistinct, assert } from "./assert.ts";
import { crdtValue, type CrdtType } from "./crdt.ts";
import type { Gossip } from "./gossip.ts";
import { noFailures, withFailure, withoutFailure, type NodeContext } from "./node-context.ts";
import { outcomeOf, type NodeHealth } from "./node-health.ts";
import { PolicyError, type QuorumVerdict } from "./policies.ts";
import { policyFailure, type GetRequest } from "./requests.ts";
import type { ClientRequest, ClientResponse, NodeId, PeerMessage, TimerId } from "./types.ts";
import {
  contextTag,
  crdtStateOf,
  encodeContext,
  isDeleted,
  merge,
  sameVersion,
  type VersionedObject,
} from "./versions.ts";

interface GetFsm {
  id: string;
  requestId: string;
  /** The key's partition (admission took the request's budget there). */
  partition: number;
  request: GetRequest;
  countAs: ClientRequest["op"];
  /** Set for a data type read: the answer is the type's value, not siblings. */
  crdt: CrdtType | undefined;
  r: number;
  preferenceList: NodeId[];
  replies: Map<NodeId, VersionedObject | null>;
  /** The merge of every reply so far, in arrival order (kept as replies come: the answer at R
   * and the read repair after N both need it, and a version can hold many siblings). */
  merged: VersionedObject | null;
  failed: ReadonlySet<NodeId>;
  requestTimer: TimerId;
  replied: boolean;
}

export interface GetStart {
  requestId: string;
  countAs: ClientRequest["op"];
  request: GetRequest;
  crdtType: CrdtType | undefined;
  partition: number;
}

/** A read's verdict with its answer (the resolver runs inside the guarded call). */
type ReadVerdict = QuorumVerdict | { kind: "answer"; response: ClientResponse };

export class GetCoordinator {
  private readonly fsms = new Map<string, GetFsm>();

  constructor(
    private readonly context: NodeContext,
    private readonly gossip: Gossip,
    private readonly admission: Admission,
    private readonly health: NodeHealth,
  ) {}

  /** Reads in flight (stats' fsmActive). */
  get size(): number {
    return this.fsms.size;
  }

  start({ requestId, countAs, request, crdtType, partition }: GetStart): void {
    const { config, env } = this.context;
    const n = request.n ?? config.defaults.n;
    const list = this.gossip.placement(request.bucket, request.key, n).primaries;
    assert(allDistinct(list), "a quorum never counts one replica twice");
    this.admission.take(partition);
    const id = this.context.nextRequestId();
    const timeoutMs = request.timeoutMs ?? config.defaults.timeoutMs;
    const requestTimer = env.setTimer(timeoutMs, { kind: "request-timeout", fsmId: id });
    // One literal, not spreads of smaller ones: this runs for every read.
    const fsm: GetFsm = {
      id,
      requestId,
      partition,
      request,
      countAs,
      crdt: crdtType,
      r: request.r ?? config.defaults.r,
      preferenceList: list,
      replies: new Map(),
      merged: null,
      failed: noFailures,
      requestTimer,
      replied: false,
    };
    this.fsms.set(id, fsm);
    for (const replica of list) {
      this.context.send(replica, { type: "read", id, bucket: request.bucket, key: request.key });
    }
  }

  onReadReply(from: NodeId, id: string, object: VersionedObject | null): void {
    const fsm = this.fsms.get(id);
    if (fsm === undefined || !fsm.preferenceList.includes(from)) return;
    if (fsm.replies.has(from)) return; // a duplicated message
    fsm.replies.set(from, object);
    fsm.failed = withoutFailure(fsm.failed, from);
    fsm.merged = merge(fsm.merged, object);
    this.progress(fsm);
  }

  /** The request's time bound: 504 if not answered yet, then repair what was seen. False when
   * `fsmId` is not a read. */
  onRequestTimeout(fsmId: string): boolean {
    const fsm = this.fsms.get(fsmId);
    if (fsm === undefined) return false;
    if (!fsm.replied) {
      const timeoutMs = fsm.request.timeoutMs ?? this.context.config.defaults.timeoutMs;
      this.reply(fsm, {
        status: 504,
        body: {
          error: "timeout",
          detail: `Timed out after ${timeoutMs} ms with ${fsm.replies.size} of R=${fsm.r} replies`,
        },
      });
    }
    this.finish(fsm);
    return true;
  }

  /** A read could not be delivered: that replica will not answer. */
  onSendFailed(to: NodeId, message: PeerMessage): void {
    if (message.type !== "read") return;
    const fsm = this.fsms.get(message.id);
    if (fsm === undefined || fsm.replies.has(to)) return;
    fsm.failed = withFailure(fsm.failed, to);
    this.progress(fsm);
  }

  private progress(fsm: GetFsm): void {
    const n = fsm.preferenceList.length;
    const answered = fsm.replies.size;
    assert(answered + fsm.failed.size <= n, "replies never exceed N");
    if (!fsm.replied) {
      const verdict = this.verdict(fsm, () => {
        const tally = { r: fsm.r, replicaCount: n, answered, failed: fsm.failed.size };
        const verdict = this.context.policies.readQuorum(tally);
        return verdict.kind === "ok" ? { kind: "answer", response: this.answer(fsm) } : verdict;
      });
      if (verdict === undefined) return;
      if (verdict.kind === "answer") this.reply(fsm, verdict.response);
      else if (verdict.kind === "unavailable") {
        this.reply(fsm, { status: 503, body: { error: "unavailable", detail: verdict.detail } });
      }
    }
    if (n - answered - fsm.failed.size === 0) this.finish(fsm);
  }

  /** A policy that throws (the quorum or the resolver) fails this read with a 500. */
  private verdict(fsm: GetFsm, ask: () => ReadVerdict): ReadVerdict | undefined {
    try {
      return ask();
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      this.context.env.log("policy-failed", { policy: error.policy, detail: error.message });
      this.reply(fsm, policyFailure(error, false));
      this.retire(fsm);
      return undefined;
    }
  }

  /** The client's answer: not found, a data type's value, or the live siblings. */
  private answer(fsm: GetFsm): ClientResponse {
    const merged = fsm.merged;
    const { bucket, key } = fsm.request;
    const tag = contextTag(bucket, key);
    if (merged === null || isDeleted(merged)) {
      const detail = `${bucket}/${key} not found`;
      return merged === null
        ? { status: 404, body: { error: "not_found", detail } }
        : {
            status: 404,
            body: { error: "not_found", detail, context: encodeContext(merged.clock, tag) },
          };
    }
    if (fsm.crdt !== undefined) {
      const state = crdtStateOf(merged);
      const clock = state.type === "or-set" ? state.state.clock : {};
      return {
        status: 200,
        body: { crdt: fsm.crdt, value: crdtValue(state), context: encodeContext(clock, tag) },
      };
    }
    const resolve = this.context.policies.resolveSiblings[merged.mode === "lww" ? "lww" : "causal"];
    const stored = merged.siblings.filter((sibling) => !sibling.tombstone);
    const live = stored.length > 0 ? resolve(stored, { bucket, key }) : stored;
    return {
      status: 200,
      body: {
        siblings: live.map((sibling) => sibling.value),
        context: encodeContext(merged.clock, tag),
      },
    };
  }

  private reply(fsm: GetFsm, response: ClientResponse): void {
    assert(!fsm.replied, "a finished request gets no second reply");
    this.admission.release(fsm.partition);
    fsm.replied = true;
    this.health.count(fsm.countAs, outcomeOf(response));
    if (fsm.crdt === undefined && (response.status === 200 || response.status === 404)) {
      const siblings =
        response.status === 200 && "siblings" in response.body
          ? String(response.body.siblings.length)
          : "0";
      const { siblingsPerGet } = this.context.counters;
      siblingsPerGet[siblings] = (siblingsPerGet[siblings] ?? 0) + 1;
    }
    this.context.env.reply(fsm.requestId, response);
  }

  /** After every replica answered (or time ran out): read repair, then reap if all agree. */
  private finish(fsm: GetFsm): void {
    const merged = fsm.merged;
    const { bucket, key } = fsm.request;
    if (merged !== null) {
      for (const [replica, object] of fsm.replies) {
        if (sameVersion(object, merged)) continue;
        this.context.counters.readRepairsSent += 1;
        this.context.send(replica, { type: "repair", bucket, key, object: merged });
      }
      const everyReplicaHasIt = fsm.replies.size === fsm.preferenceList.length;
      if (everyReplicaHasIt && isDeleted(merged)) {
        const allSame = [...fsm.replies.values()].every((object) => sameVersion(object, merged));
        for (const replica of allSame ? fsm.preferenceList : []) {
          this.context.send(replica, { type: "reap", bucket, key, clock: merged.clock });
        }
      }
    }
    this.retire(fsm);
  }

  private retire(fsm: GetFsm): void {
    this.context.env.cancelTimer(fsm.requestTimer);
    this.fsms.delete(fsm.id);
  }
}
