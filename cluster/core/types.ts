// The node's contract with its runtime (lesson 1, "the world is concurrent"): a node is a state
// machine that receives events one at a time and acts only through an injected Environment.
// cluster/core never reads the clock, sets a timer, draws a random number, opens a socket or
// touches a file itself; the real runtime (cluster/runtime/real) and the deterministic simulator
// (cluster/runtime/sim) both implement Environment, so the same code runs in both.

import type { KeyValueStore } from "../storage/store.ts";
import type { CrdtOperation, CrdtType } from "./crdt.ts";
import type { VersionedObject, VersionVector } from "./versions.ts";

export type NodeId = string;
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** How a bucket resolves concurrent writes. */
export type BucketMode =
  /** Dotted version vectors: concurrent writes become siblings; nothing is silently lost. */
  | "causal"
  /** Last write wins by the coordinator's clock: simple, and it loses updates under skew. */
  | "lww";

export interface ClusterConfig {
  /** Every member, in a stable order (the claim depends on it). */
  nodes: NodeId[];
  /** Q: the number of equal partitions of the 2^160 keyspace (power of two, 8..1024). */
  partitionCount: number;
  /** Defaults for requests that do not say. */
  defaults: { n: number; r: number; w: number; timeoutMs: number };
  /** Buckets whose mode is not the default `causal`. */
  bucketModes: Record<string, BucketMode>;
  /** The never-stop mechanisms' clocks and bounds; defaults in node.ts (`defaultTiming`). */
  timing?: Partial<Timing> | undefined;
}

export interface Timing {
  /** How often a node pings every peer (failure detection). */
  heartbeatIntervalMs: number;
  /** Silence after which a peer is considered down. */
  suspicionMs: number;
  /** How often hints are offered back to their primaries. */
  handoffIntervalMs: number;
  /** Hints handed off per primary per round. */
  handoffBatchMax: number;
  /** How often a node runs one anti-entropy exchange (0 turns anti-entropy off). */
  antiEntropyIntervalMs: number;
  /** Requests a node coordinates and has not answered yet; past it, new ones are refused
   * with `overload`. */
  requestsInFlightMax: number;
  /** The same bound per partition (vnode): one hot key range cannot take the whole budget. */
  partitionRequestsInFlightMax: number;
  /** Hints a fallback keeps at most; past it, it refuses to stand in (the write may fail). */
  hintCountMax: number;
}

/** A client operation, already parsed from HTTP (or issued by a simulated client). */
export type ClientRequest =
  | {
      op: "get";
      bucket: string;
      key: string;
      n?: number | undefined;
      r?: number | undefined;
      timeoutMs?: number | undefined;
    }
  | {
      op: "put";
      bucket: string;
      key: string;
      value: JsonValue;
      /** The opaque causal context from an earlier get, if any. */
      context?: string | undefined;
      n?: number | undefined;
      w?: number | undefined;
      /** Primary write quorum (Riak's PW): acknowledgements that must come from primaries, not
       * fallbacks. 0 (the default) is Dynamo's sloppy quorum. */
      pw?: number | undefined;
      timeoutMs?: number | undefined;
    }
  | {
      op: "delete";
      bucket: string;
      key: string;
      context?: string | undefined;
      n?: number | undefined;
      w?: number | undefined;
      pw?: number | undefined;
      timeoutMs?: number | undefined;
    }
  /** An update of a data type (lesson 6): a PN-counter increment or OR-set adds and removes.
   * `operation` comes from the client and is validated (crdt.ts's crdtOperationProblem). */
  | {
      op: "crdt-update";
      bucket: string;
      key: string;
      crdt: CrdtType;
      operation: unknown;
      /** For OR-set removes: the context of the read that saw the elements. */
      context?: string | undefined;
      n?: number | undefined;
      w?: number | undefined;
      timeoutMs?: number | undefined;
    }
  | {
      op: "crdt-get";
      bucket: string;
      key: string;
      crdt: CrdtType;
      n?: number | undefined;
      r?: number | undefined;
      timeoutMs?: number | undefined;
    };

/** Error kinds, each with one HTTP status. */
export type ErrorKind =
  | "bad_request" // 400: the request itself is wrong; nothing was written
  | "not_found" // 404
  | "unavailable" // 503: too few replicas could be reached
  | "timeout" // 504: replicas did not answer within the time bound
  | "overload" // 503 with Retry-After: the node sheds load instead of queuing
  | "policy_failed"; // 500: a lab's policy (policies.ts) threw or broke its contract

export const statusOfError: Record<ErrorKind, number> = {
  bad_request: 400,
  not_found: 404,
  unavailable: 503,
  timeout: 504,
  overload: 503,
  policy_failed: 500,
};

export type ClientResponse =
  | { status: 200; body: { siblings: JsonValue[]; context: string } } // get
  | { status: 200; body: { crdt: CrdtType; value: number | string[]; context: string } } // crdt-get
  | { status: 204; context: string } // put, delete
  | {
      status: 400 | 404 | 500 | 503 | 504;
      body: {
        error: ErrorKind;
        detail: string;
        /** A write that failed after some replica may have stored it: the client must treat
         * the outcome as unknown (Jepsen's `info`), not as "did not happen". */
        indeterminate?: boolean;
        /** For a 404 of a deleted key: the context that supersedes the tombstone. */
        context?: string;
        /** With `overload`: when to try again (the HTTP layer sends it as Retry-After). */
        retryAfterMs?: number;
      };
    };

/** Messages between nodes. `id` ties a reply to the coordinator's state machine. Every message,
 * its fields and the mechanism that sends it: docs/protocol.md. */
export type PeerMessage =
  | {
      type: "mint";
      id: string;
      bucket: string;
      key: string;
      mode: BucketMode;
      value: JsonValue;
      tombstone: boolean;
      context: VersionVector;
      timestamp: number;
      /** Set for a data type update: applied to the replica's state instead of a new sibling. */
      crdt?: CrdtOperation;
    }
  | { type: "mint-refused"; id: string; detail: string }
  | { type: "mint-ok"; id: string; object: VersionedObject }
  | {
      type: "replicate";
      id: string;
      bucket: string;
      key: string;
      object: VersionedObject;
      /** Set when the receiver stands in for an unreachable primary (sloppy quorum). */
      hintFor?: NodeId;
    }
  | { type: "replicate-ok"; id: string }
  | { type: "read"; id: string; bucket: string; key: string }
  | { type: "read-reply"; id: string; object: VersionedObject | null }
  | { type: "repair"; bucket: string; key: string; object: VersionedObject }
  | { type: "reap"; bucket: string; key: string; clock: VersionVector }
  | { type: "ping" }
  | { type: "ring"; ring: import("./membership.ts").MemberRing }
  | { type: "join-request" }
  | { type: "pong" }
  | { type: "handoff"; id: string; bucket: string; key: string; object: VersionedObject }
  | { type: "handoff-ok"; id: string }
  | { type: "transfer"; id: string; bucket: string; key: string; object: VersionedObject }
  | { type: "transfer-ok"; id: string }
  | { type: "aae-root"; partition: number; root: string }
  | { type: "aae-segments"; partition: number; segments: string[] }
  | { type: "aae-keys"; partition: number; segment: number; keys: Record<string, string> }
  | { type: "aae-want"; storageKeys: string[] };

/** Timers the node asks for; the runtime hands the same value back when it fires. */
export type TimerPayload =
  | { kind: "request-timeout"; fsmId: string }
  | { kind: "mint-timeout"; fsmId: string; attempt: number }
  | { kind: "heartbeat" }
  | { kind: "handoff" }
  | { kind: "anti-entropy" };

export type NodeEvent =
  | { type: "client"; requestId: string; request: ClientRequest }
  | { type: "peer"; from: NodeId; message: PeerMessage }
  /** The runtime could not hand a message to `to` (connection refused, link down): a definite
   * non-delivery, so a coordinator can stop waiting for that replica. */
  | { type: "send-failed"; to: NodeId; message: PeerMessage }
  | { type: "timer"; timer: TimerPayload };

export type TimerId = number;

export interface Environment {
  /** Milliseconds on this node's clock. It may be skewed on purpose (lesson 6 and the clock
   * nemesis); it only ever feeds lww timestamps and logs, never safety decisions. */
  now(): number;
  /** A uniform draw from [0, 1): seeded in the simulator. */
  random(): number;
  send(to: NodeId, message: PeerMessage): void;
  setTimer(afterMs: number, timer: TimerPayload): TimerId;
  cancelTimer(id: TimerId): void;
  reply(requestId: string, response: ClientResponse): void;
  store: KeyValueStore;
  /** One structured line per notable event. */
  log(event: string, fields?: Record<string, unknown>): void;
}
