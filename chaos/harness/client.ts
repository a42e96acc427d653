// The client (lesson 7, "a retry strategy for every interface function"): it turns what a
// request came back with into Jepsen's three outcomes, and retries by a stated policy.
//
//   ok    the node said it happened (2xx), or a read found nothing (404: the value is null)
//   fail  it certainly did not happen: 400 (the request can never succeed), 503 without
//         `indeterminate` (no replica stored anything), a refused connection (the request
//         never reached a node), and any read that did not answer (reads change nothing, so an
//         unanswered read is simply a read that did not happen)
//   info  it may have happened: a write's 503 with `indeterminate`, 504, a timeout, a reset
//         connection. The write may land later, or never; the checkers must allow both.
//
// Retry strategies, each with exponential backoff and full jitter (AWS's "Exponential Backoff
// And Jitter": sleep a uniform draw from [0, min(cap, base * 2^attempt)), so that clients that
// failed together do not retry together), bounded by attempts and by total time:
//   none                        one attempt
//   retry-on-definite-failure   retry only a `fail` (it did not happen, so trying again is safe)
//   retry-with-idempotency-key  retry an `info` too, re-sending the very same request. That is
//                               only safe when applying it twice equals applying it once: the
//                               workloads make it so (every value written is unique, and set,
//                               counter and cart merge by union), so the request itself is the
//                               idempotency key. The node has no idempotency-key header yet.
// A retried write that ends in `fail` after an earlier `info` attempt is still `info`: the
// earlier attempt may have landed.
//
// Two more requests the data-type routes need (lesson 6 and 7): `increment` adds to a PN-counter
// (POST /crdt/counter/:bucket/:key) and `readCounter` reads it. An increment is NOT idempotent:
// the node mints a new increment for every request it receives, so re-sending one whose answer
// was lost adds twice. Under `retry-with-idempotency-key` it is retried all the same (the
// strategy trusts the request to be safe to repeat), which is exactly the naive mistake the
// counter checker catches in lab 07.
//
// Back pressure (lesson 9): a 503 `overload` says when to come back (`retryAfterMs`, Retry-After
// over HTTP). The client never retries sooner than that: the next attempt waits the larger of
// the backoff draw and the server's hint, so shed load is not sent straight back.
//
// Callback-driven, no async/await and no timers of its own: see port.ts for why.
// No Node built-ins: this file runs in the browser too.

import type { RetryDecider, RetryQuestion } from "../../cluster/core/policies.ts";
import type { ClientRequest, ClientResponse, JsonValue, NodeId } from "../../cluster/core/types.ts";
import type { Random } from "../../cluster/runtime/sim/random.ts";
import type { ClientOutcome, KvPort } from "./port.ts";

export const retryStrategies = [
  "none",
  "retry-on-definite-failure",
  "retry-with-idempotency-key",
] as const;
export type RetryStrategy = (typeof retryStrategies)[number];

export interface RetryPolicy {
  strategy: RetryStrategy;
  /** Wait at least as long as a 503 overload's Retry-After before the next attempt. */
  followRetryAfter?: boolean;
  /** Attempts in all, the first one included. */
  attemptsMax: number;
  /** No retry starts later than this after the first attempt began. */
  totalTimeMaxMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const attemptsMaxLimit = 20;

export function retryPolicy(strategy: RetryStrategy): RetryPolicy {
  return {
    strategy,
    attemptsMax: strategy === "none" ? 1 : 4,
    totalTimeMaxMs: 5_000,
    backoffBaseMs: 20,
    backoffMaxMs: 1_000,
    followRetryAfter: true,
  };
}

/** The longest Retry-After the client honours; a larger hint is cut to this. */
export const retryAfterMaxMs = 30_000;

/** What one request (after retries) amounts to. */
export type RequestResult =
  | { kind: "ok"; node: NodeId; siblings: JsonValue[]; context: string | undefined }
  | {
      kind: "fail";
      node: NodeId;
      reason: string;
      retryable: boolean;
      /** A 503 overload's hint: try again no sooner than this. */
      retryAfterMs?: number;
    }
  | { kind: "info"; node: NodeId; reason: string };

/**
 * The outcome of one attempt, Jepsen's way (see the header). A 404 is an ok read of nothing:
 * `siblings` is empty, and `context` is the tombstone's when the key was deleted.
 */
export function classifyOutcome(
  request: ClientRequest,
  outcome: ClientOutcome,
  node: NodeId,
): RequestResult {
  const isRead = request.op === "get" || request.op === "crdt-get";
  if (outcome.kind === "refused") {
    return { kind: "fail", node, reason: "connection refused", retryable: true };
  }
  if (outcome.kind === "timeout") {
    return isRead
      ? { kind: "fail", node, reason: "read timed out", retryable: true }
      : { kind: "info", node, reason: "timed out: the write may have landed" };
  }
  const response: ClientResponse = outcome.response;
  switch (response.status) {
    case 200:
      return {
        kind: "ok",
        node,
        siblings: "siblings" in response.body ? response.body.siblings : [response.body.value],
        context: response.body.context,
      };
    case 204:
      return { kind: "ok", node, siblings: [], context: response.context };
    case 404:
      if (isRead) return { kind: "ok", node, siblings: [], context: response.body.context };
      return { kind: "fail", node, reason: `404 ${response.body.detail}`, retryable: false };
    case 400:
      return { kind: "fail", node, reason: `400 ${response.body.detail}`, retryable: false };
    case 500: // a lab's policy failed the request (policies.ts); a write may have landed
    case 503:
    case 504: {
      const reason = `${response.status} ${response.body.error}: ${response.body.detail}`;
      if (response.body.error === "overload") {
        // Shed before any work began: it certainly did not happen, read or write.
        const hintMs = response.body.retryAfterMs;
        return hintMs === undefined || !(hintMs >= 0)
          ? { kind: "fail", node, reason, retryable: true }
          : {
              kind: "fail",
              node,
              reason,
              retryable: true,
              retryAfterMs: Math.min(hintMs, retryAfterMaxMs),
            };
      }
      if (isRead) return { kind: "fail", node, reason, retryable: true };
      const maybeApplied = response.status === 504 || response.body.indeterminate === true;
      return maybeApplied
        ? { kind: "info", node, reason }
        : { kind: "fail", node, reason, retryable: true };
    }
  }
}

/** Full jitter: a uniform draw from [0, min(cap, base * 2^retry)). `retry` counts from 0. */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: Random): number {
  const ceilingMs = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** retry);
  return random.next() * ceilingMs;
}

/** The wait before retry number `retry`: the backoff draw, raised to the server's Retry-After
 * when the policy follows it (the draw is still made, so the jitter stream stays in step). */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  random: Random,
  result: RequestResult,
): number {
  const backoffMs = backoffDelayMs(policy, retry, random);
  const hintMs = result.kind === "fail" ? result.retryAfterMs : undefined;
  if (policy.followRetryAfter !== true || hintMs === undefined) return backoffMs;
  return Math.max(backoffMs, hintMs);
}

// What a client retry policy is asked, and its answer (lab 07), are defined once, with the
// node's policies, in cluster/core/policies.ts.
export type { RetryDecider, RetryQuestion };

export interface KvClientOptions {
  bucket: string;
  /** How long the client waits for one answer. */
  requestTimeoutMs: number;
  retry: RetryPolicy;
  /** Draws the backoff jitter (seeded in the simulator). */
  random: Random;
  /** Riak's PW for every put and delete: acknowledgements that must come from primaries
   * (strict quorum). Unset or 0: sloppy quorum. */
  pw?: number | undefined;
  /** A retry policy written as a function (lab 07); when set it decides instead of `retry`. */
  retryDecider?: RetryDecider | undefined;
}

/** One client's connection to the cluster: gets and puts with the retry policy applied. */
export class KvClient {
  constructor(
    readonly port: KvPort,
    readonly options: KvClientOptions,
  ) {
    const { attemptsMax } = options.retry;
    if (!Number.isSafeInteger(attemptsMax) || attemptsMax < 1 || attemptsMax > attemptsMaxLimit) {
      throw new RangeError(
        `Expected \`attemptsMax\` to be an integer from 1 to ${attemptsMaxLimit}, got ${attemptsMax}`,
      );
    }
  }

  get(node: NodeId, key: string, done: (result: RequestResult) => void, r?: number): void {
    const request: ClientRequest = { op: "get", bucket: this.options.bucket, key };
    if (r !== undefined) request.r = r;
    this.send(node, request, done);
  }

  put(
    node: NodeId,
    key: string,
    value: JsonValue,
    context: string | undefined,
    done: (result: RequestResult) => void,
  ): void {
    const request: ClientRequest = { op: "put", bucket: this.options.bucket, key, value };
    if (context !== undefined) request.context = context;
    if (this.options.pw !== undefined && this.options.pw > 0) request.pw = this.options.pw;
    this.send(node, request, done);
  }

  /** Adds `delta` to the PN-counter at `key`: not idempotent (see the header). */
  increment(node: NodeId, key: string, delta: number, done: (result: RequestResult) => void): void {
    const request: ClientRequest = {
      op: "crdt-update",
      bucket: this.options.bucket,
      key,
      crdt: "pn-counter",
      operation: { type: "pn-counter", increment: delta },
    };
    this.send(node, request, done);
  }

  /** The PN-counter's value at `key`: `siblings` holds the one number (empty when absent). */
  readCounter(node: NodeId, key: string, done: (result: RequestResult) => void, r?: number): void {
    const request: ClientRequest = {
      op: "crdt-get",
      bucket: this.options.bucket,
      key,
      crdt: "pn-counter",
    };
    if (r !== undefined) request.r = r;
    this.send(node, request, done);
  }

  /**
   * Dynamo's read-modify-write: get the siblings and their causal context, compute the new
   * value from every sibling (the application's merge), put it with that context. The context
   * tells the replicas which versions the new value supersedes; without it the put would
   * become one more sibling. A get that fails means nothing was written: the whole operation
   * fails.
   */
  update(
    node: NodeId,
    key: string,
    change: (siblings: JsonValue[]) => JsonValue,
    done: (result: RequestResult) => void,
  ): void {
    this.get(node, key, (read) => {
      if (read.kind !== "ok") {
        done(
          read.kind === "info"
            ? { kind: "fail", node: read.node, reason: read.reason, retryable: true }
            : read,
        );
        return;
      }
      this.put(read.node, key, change(read.siblings), read.context, done);
    });
  }

  /** One request under the retry policy; retries go to the next node in the port's order. */
  private send(
    firstNode: NodeId,
    request: ClientRequest,
    done: (result: RequestResult) => void,
  ): void {
    const { requestTimeoutMs } = this.options;
    const nodes = this.port.nodes;
    const firstIndex = Math.max(0, nodes.indexOf(firstNode));
    const startedNs = this.port.now();
    let maybeApplied = false;
    const attempt = (number: number): void => {
      const node = nodes[(firstIndex + number) % nodes.length]!;
      this.port.request(node, request, requestTimeoutMs, (outcome) => {
        const result = classifyOutcome(request, outcome, node);
        if (result.kind === "info") maybeApplied = true;
        const elapsedMs = (this.port.now() - startedNs) / 1e6;
        const delayMs =
          result.kind === "ok"
            ? undefined
            : this.options.retryDecider === undefined
              ? this.strategyDelayMs(result, number, elapsedMs)
              : this.deciderDelayMs(request, result, number + 1, elapsedMs);
        if (delayMs !== undefined) {
          this.port.after(delayMs, () => attempt(number + 1));
          return;
        }
        if (result.kind === "fail" && maybeApplied) {
          done({
            kind: "info",
            node,
            reason: `${result.reason} (an earlier attempt may have landed)`,
          });
          return;
        }
        done(result);
      });
    };
    attempt(0);
  }

  /** The named strategies (see the header): the delay before the next attempt, or undefined. */
  private strategyDelayMs(
    result: Exclude<RequestResult, { kind: "ok" }>,
    retryNumber: number,
    elapsedMs: number,
  ): number | undefined {
    const { retry, random } = this.options;
    const retryable =
      (result.kind === "fail" && result.retryable && retry.strategy !== "none") ||
      (result.kind === "info" && retry.strategy === "retry-with-idempotency-key");
    if (!retryable || retryNumber + 1 >= retry.attemptsMax) return undefined;
    const delayMs = retryDelayMs(retry, retryNumber, random, result);
    return elapsedMs + delayMs <= retry.totalTimeMaxMs ? delayMs : undefined;
  }

  /** A lab's retry policy decides (lab 07). Its answer is checked: a delay must be a finite
   * number from 0 up, and attempts stay under the client's hard bound whatever it says. */
  private deciderDelayMs(
    request: ClientRequest,
    result: Exclude<RequestResult, { kind: "ok" }>,
    attempts: number,
    elapsedMs: number,
  ): number | undefined {
    if (attempts >= attemptsMaxLimit) return undefined;
    const question: RetryQuestion = {
      kind: request.op === "get" || request.op === "crdt-get" ? "read" : "write",
      idempotent: request.op !== "crdt-update",
      outcome: result.kind,
      retryable: result.kind === "info" || result.retryable,
      retryAfterMs: result.kind === "fail" ? result.retryAfterMs : undefined,
      attempts,
      elapsedMs,
    };
    const random = this.options.random;
    const delayMs = this.options.retryDecider!(question, () => random.next());
    if (delayMs === undefined) return undefined;
    if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(
        `Expected the retry policy to answer a delay in ms from 0 up or undefined, got ${String(delayMs)}`,
      );
    }
    return delayMs;
  }
}
