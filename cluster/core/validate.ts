// Validation at the boundary (lesson 7, "a retry strategy for every interface function": a
// request that can never succeed must be refused at once, with a message that says why).
// One message form everywhere: "Expected `w` to be an integer from 1 to `n` (3), got 5".

import type { ClientRequest, ClusterConfig } from "./types.ts";
import { crdtOperationProblem, type CrdtType } from "./crdt.ts";
import { contextTag, decodeContext } from "./versions.ts";

/** Data types live in buckets of their own: a control character (which client bucket names
 * may not hold) keeps `counter` in bucket "b" apart from the plain key b/counter. */
export function crdtBucket(type: CrdtType, bucket: string): string {
  return `\u0002${type}\u0002${bucket}`;
}

/** The bounds every client request is held to, here and at the HTTP boundary (http.ts imports
 * them: one definition). Names count UTF-8 bytes. */
export const bucketSizeMaxBytes = 128;
export const keySizeMaxBytes = 512;
/** The longest time bound a request may ask for. */
export const timeoutMsMax = 60_000;

function integerIn(
  name: string,
  value: number | undefined,
  low: number,
  high: number,
  highName?: string,
) {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < low || value > high) {
    const upper = highName === undefined ? `${high}` : `\`${highName}\` (${high})`;
    return `Expected \`${name}\` to be an integer from ${low} to ${upper}, got ${String(value)}`;
  }
  return undefined;
}

const encoder = new TextEncoder();

function nameProblem(
  what: "bucket" | "key",
  name: string,
  sizeMaxBytes: number,
): string | undefined {
  const length = encoder.encode(name).length; // every request: one encoder, not one per call
  if (length === 0) return `Expected \`${what}\` to be non-empty`;
  if (length > sizeMaxBytes) {
    return `Expected \`${what}\` to be at most ${sizeMaxBytes} bytes, got ${length}`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    return `Expected \`${what}\` to have no control characters`;
  }
  return undefined;
}

/** The reason a request can never succeed, or undefined when it is well formed. */
export function validateClientRequest(
  request: ClientRequest,
  config: ClusterConfig,
): string | undefined {
  const nodeCount = config.nodes.length;
  const n = request.n ?? config.defaults.n;
  const read = request.op === "get" || request.op === "crdt-get";
  const write = request.op === "put" || request.op === "delete";
  const contextBucket =
    request.op === "crdt-update" ? crdtBucket(request.crdt, request.bucket) : request.bucket;
  const problems = [
    nameProblem("bucket", request.bucket, bucketSizeMaxBytes),
    nameProblem("key", request.key, keySizeMaxBytes),
    integerIn("n", request.n, 1, nodeCount, "nodeCount"),
    read ? integerIn("r", request.r ?? config.defaults.r, 1, n, "n") : undefined,
    !read ? integerIn("w", request.w ?? config.defaults.w, 1, n, "n") : undefined,
    write ? integerIn("pw", request.pw, 0, request.w ?? config.defaults.w, "w") : undefined,
    integerIn("timeoutMs", request.timeoutMs, 1, timeoutMsMax),
    !read ? contextProblem(contextBucket, request.key, request.context) : undefined,
    request.op === "crdt-update" ? crdtOperationProblem(null, request.operation) : undefined,
    request.op === "crdt-update" &&
    (request.operation as { type?: unknown } | null)?.type !== request.crdt
      ? `Expected an operation on a ${request.crdt}, got one for another type`
      : undefined,
  ];
  return problems.find((problem) => problem !== undefined);
}

function contextProblem(bucket: string, key: string, context: string | undefined) {
  if (context === undefined) return undefined;
  const decoded = decodeContext(context);
  if (decoded === undefined) {
    return "Expected `context` to be a context returned by a get, got something else";
  }
  if (decoded.tag !== contextTag(bucket, key)) {
    return `Expected \`context\` to come from a get of ${bucket}/${key}, got a context of another key`;
  }
  return undefined;
}

/** Checks a cluster configuration; returns warnings that are legal but worth saying. */
export function validateClusterConfig(config: ClusterConfig): string[] {
  const nodeCount = config.nodes.length;
  if (nodeCount < 1) throw new RangeError("Expected at least one node in `nodes`");
  if (new Set(config.nodes).size !== nodeCount) {
    throw new RangeError(`Expected distinct node names, got ${config.nodes.join(", ")}`);
  }
  const { n, r, w, timeoutMs } = config.defaults;
  const problem =
    integerIn("n", n, 1, nodeCount, "nodeCount") ??
    integerIn("r", r, 1, n, "n") ??
    integerIn("w", w, 1, n, "n") ??
    integerIn("timeoutMs", timeoutMs, 1, timeoutMsMax);
  if (problem !== undefined) throw new RangeError(problem);
  const warnings: string[] = [];
  if (r + w <= n) {
    warnings.push(
      `R + W <= N (${r} + ${w} <= ${n}): a read quorum need not overlap the last write quorum, so reads may miss acknowledged writes`,
    );
  }
  return warnings;
}
