// Client requests as the coordinators run them (lesson 6, "sharing data"): a data-type request
// (a counter increment, a set's adds and removes, and their reads) becomes a key-value request
// on the type's own bucket (validate.ts's crdtBucket), carrying the operation the minting
// replica applies; the put and get coordinators then treat it like any other key. Pure.

import type { CrdtOperation, CrdtType } from "./crdt.ts";
import type { PolicyError } from "./policies.ts";
import type { ClientRequest, ClientResponse } from "./types.ts";
import { crdtBucket } from "./validate.ts";
import { decodeContext } from "./versions.ts";

/** A key-value request as the state machines run it. */
export type KeyValueRequest = Extract<ClientRequest, { op: "get" | "put" | "delete" }>;
export type GetRequest = Extract<ClientRequest, { op: "get" }>;
export type WriteRequest = Extract<ClientRequest, { op: "put" | "delete" }>;

export interface TranslatedRequest {
  request: KeyValueRequest;
  /** For a data type update: the operation the minting replica applies. */
  crdt: CrdtOperation | undefined;
  /** For a data type read: the type whose value the answer holds. */
  crdtType: CrdtType | undefined;
}

/** Data-type requests become key-value requests on the type's own bucket. */
export function translate(request: ClientRequest): TranslatedRequest {
  if (request.op === "crdt-get") {
    const { crdt, ...rest } = request;
    const translated = { ...rest, op: "get" as const, bucket: crdtBucket(crdt, request.bucket) };
    return { request: translated, crdt: undefined, crdtType: crdt };
  }
  if (request.op === "crdt-update") {
    const { crdt, operation, context, ...rest } = request;
    const translated = {
      ...rest,
      op: "put" as const,
      bucket: crdtBucket(crdt, request.bucket),
      value: null,
    };
    const contextClock = context === undefined ? undefined : decodeContext(context)?.clock;
    const withContext =
      crdt === "or-set" && contextClock !== undefined
        ? { ...(operation as CrdtOperation), context: contextClock }
        : (operation as CrdtOperation);
    return { request: translated, crdt: withContext, crdtType: crdt };
  }
  return { request, crdt: undefined, crdtType: undefined };
}

/** The answer to a request whose policy threw or broke its contract (policies.ts). A write
 * may have reached some replica by then: `indeterminate`. */
export function policyFailure(error: PolicyError, indeterminate: boolean): ClientResponse {
  return {
    status: 500,
    body: {
      error: "policy_failed",
      detail: error.message,
      ...(indeterminate ? { indeterminate } : {}),
    },
  };
}
