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
// Callback-driven, no async/await and no timers of its own: see port.ts for why.
// No Node built-ins: this file runs in the browser too.

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
  };
}

/** What one request (after retries) amounts to. */
export type RequestResult =
  | { kind: "ok"; node: NodeId; siblings: JsonValue[]; context: string | undefined }
  | { kind: "fail"; node: NodeId; reason: string; retryable: boolean }
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
  const isRead = request.op === "get";
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

export interface KvClientOptions {
  bucket: string;
  /** How long the client waits for one answer. */
  requestTimeoutMs: number;
  retry: RetryPolicy;
  /** Draws the backoff jitter (seeded in the simulator). */
  random: Random;
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
    const { retry, requestTimeoutMs, random } = this.options;
    const nodes = this.port.nodes;
    const firstIndex = Math.max(0, nodes.indexOf(firstNode));
    const startedNs = this.port.now();
    let maybeApplied = false;
    const attempt = (number: number): void => {
      const node = nodes[(firstIndex + number) % nodes.length]!;
      this.port.request(node, request, requestTimeoutMs, (outcome) => {
        const result = classifyOutcome(request, outcome, node);
        if (result.kind === "info") maybeApplied = true;
        const retryable =
          (result.kind === "fail" && result.retryable && retry.strategy !== "none") ||
          (result.kind === "info" && retry.strategy === "retry-with-idempotency-key");
        if (retryable && number + 1 < retry.attemptsMax) {
          const delayMs = backoffDelayMs(retry, number, random);
          const elapsedMs = (this.port.now() - startedNs) / 1e6;
          if (elapsedMs + delayMs <= retry.totalTimeMaxMs) {
            this.port.after(delayMs, () => attempt(number + 1));
            return;
          }
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
}
