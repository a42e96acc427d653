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

/** Bytes of `text` in UTF-8, as TextEncoder counts them (a lone surrogate becomes U+FFFD, 3). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    const next = text.charCodeAt(index + 1);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

function nameProblem(
  what: "bucket" | "key",
  name: string,
  sizeMaxBytes: number,
): string | undefined {
  // Every request passes here: count UTF-8 bytes only when the limit could be reached (a UTF-16
  // unit is at most 3 bytes), and count them without encoding.
  const length = name.length * 3 <= sizeMaxBytes ? name.length : utf8Length(name);
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
  // The first problem, in this order; a chain rather than a list searched afterwards, which
  // cost every request an array and a closure (each check is pure: stopping early changes
  // nothing but the work done).
  return (
    nameProblem("bucket", request.bucket, bucketSizeMaxBytes) ??
    nameProblem("key", request.key, keySizeMaxBytes) ??
    integerIn("n", request.n, 1, nodeCount, "nodeCount") ??
    (read ? integerIn("r", request.r ?? config.defaults.r, 1, n, "n") : undefined) ??
    (!read ? integerIn("w", request.w ?? config.defaults.w, 1, n, "n") : undefined) ??
    (write ? integerIn("pw", request.pw, 0, request.w ?? config.defaults.w, "w") : undefined) ??
    integerIn("timeoutMs", request.timeoutMs, 1, timeoutMsMax) ??
    (!read ? contextProblem(contextBucket, request.key, request.context) : undefined) ??
    (request.op === "crdt-update" ? crdtOperationProblem(null, request.operation) : undefined) ??
    (request.op === "crdt-update" &&
    (request.operation as { type?: unknown } | null)?.type !== request.crdt
      ? `Expected an operation on a ${request.crdt}, got one for another type`
      : undefined)
  );
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
