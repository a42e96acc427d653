import { describe, expect, test } from "vitest";
import type { ClientRequest, ClientResponse } from "../../cluster/core/types.ts";
import { Random } from "../../cluster/runtime/sim/random.ts";
import {
  backoffDelayMs,
  classifyOutcome,
  KvClient,
  retryPolicy,
  type RequestResult,
} from "./client.ts";
import type { ClientOutcome, KvPort } from "./port.ts";

const get: ClientRequest = { op: "get", bucket: "b", key: "k" };
const put: ClientRequest = { op: "put", bucket: "b", key: "k", value: 1 };
const respond = (response: ClientResponse): ClientOutcome => ({ kind: "response", response });
const unavailable = (indeterminate?: boolean): ClientOutcome =>
  respond({
    status: 503,
    body: {
      error: "unavailable",
      detail: "too few",
      ...(indeterminate === undefined ? {} : { indeterminate }),
    },
  });

describe("classifyOutcome: Jepsen's ok, fail and info", () => {
  const cases: [string, ClientRequest, ClientOutcome, RequestResult["kind"]][] = [
    ["200 read", get, respond({ status: 200, body: { siblings: [1], context: "c" } }), "ok"],
    ["204 write", put, respond({ status: 204, context: "c" }), "ok"],
    [
      "404 read: an ok read of nothing",
      get,
      respond({ status: 404, body: { error: "not_found", detail: "" } }),
      "ok",
    ],
    [
      "400 write",
      put,
      respond({ status: 400, body: { error: "bad_request", detail: "no" } }),
      "fail",
    ],
    ["503 write without indeterminate", put, unavailable(), "fail"],
    ["503 write with indeterminate: false", put, unavailable(false), "fail"],
    ["503 write with indeterminate", put, unavailable(true), "info"],
    ["504 write", put, respond({ status: 504, body: { error: "timeout", detail: "" } }), "info"],
    ["client timeout on a write", put, { kind: "timeout" }, "info"],
    ["refused write: never reached a node", put, { kind: "refused" }, "fail"],
    ["503 read", get, unavailable(true), "fail"],
    ["504 read", get, respond({ status: 504, body: { error: "timeout", detail: "" } }), "fail"],
    ["client timeout on a read", get, { kind: "timeout" }, "fail"],
  ];
  for (const [name, request, outcome, kind] of cases) {
    test(name, () => expect(classifyOutcome(request, outcome, "n1").kind).toBe(kind));
  }
  test("a 404 read carries no siblings and the tombstone's context", () => {
    const result = classifyOutcome(
      get,
      respond({ status: 404, body: { error: "not_found", detail: "", context: "t" } }),
      "n1",
    );
    expect(result).toEqual({ kind: "ok", node: "n1", siblings: [], context: "t" });
  });
});

/** A port that answers from a script, one outcome per request, and runs `after` at once. */
function scriptedPort(outcomes: ClientOutcome[]): KvPort & { sentTo: string[] } {
  const sentTo: string[] = [];
  let nowNs = 0;
  return {
    nodes: ["n1", "n2", "n3"],
    sentTo,
    request(nodeId, _request, _timeoutMs, done) {
      sentTo.push(nodeId);
      const outcome = outcomes.shift();
      if (outcome === undefined) throw new Error("the script ran out of outcomes");
      done(outcome);
    },
    now: () => nowNs,
    after(delayMs, action) {
      nowNs += delayMs * 1e6;
      action();
    },
  };
}

function putWith(strategy: Parameters<typeof retryPolicy>[0], outcomes: ClientOutcome[]) {
  const port = scriptedPort(outcomes);
  const client = new KvClient(port, {
    bucket: "b",
    requestTimeoutMs: 100,
    retry: retryPolicy(strategy),
    random: new Random(1),
  });
  let result: RequestResult | undefined;
  client.put("n1", "k", 1, undefined, (outcome) => (result = outcome));
  return { result: result!, sentTo: port.sentTo };
}

describe("retry strategies", () => {
  const ok = respond({ status: 204, context: "c" });
  test("none: one attempt", () => {
    const { result, sentTo } = putWith("none", [{ kind: "refused" }]);
    expect(result.kind).toBe("fail");
    expect(sentTo).toEqual(["n1"]);
  });
  test("retry-on-definite-failure retries a fail on the next node", () => {
    const { result, sentTo } = putWith("retry-on-definite-failure", [{ kind: "refused" }, ok]);
    expect(result.kind).toBe("ok");
    expect(sentTo).toEqual(["n1", "n2"]);
  });
  test("retry-on-definite-failure never retries an info (it may have happened)", () => {
    const { result, sentTo } = putWith("retry-on-definite-failure", [{ kind: "timeout" }, ok]);
    expect(result.kind).toBe("info");
    expect(sentTo).toEqual(["n1"]);
  });
  test("retry-with-idempotency-key retries an info", () => {
    const { result, sentTo } = putWith("retry-with-idempotency-key", [{ kind: "timeout" }, ok]);
    expect(result.kind).toBe("ok");
    expect(sentTo).toHaveLength(2);
  });
  test("a fail after an earlier info stays info: the earlier attempt may have landed", () => {
    const { result } = putWith("retry-with-idempotency-key", [
      { kind: "timeout" },
      unavailable(),
      unavailable(),
      unavailable(),
    ]);
    expect(result.kind).toBe("info");
  });
  test("a 400 is never retried: it can never succeed", () => {
    const { sentTo } = putWith("retry-on-definite-failure", [
      respond({ status: 400, body: { error: "bad_request", detail: "" } }),
    ]);
    expect(sentTo).toHaveLength(1);
  });
  test("attempts are bounded", () => {
    const { result, sentTo } = putWith(
      "retry-on-definite-failure",
      Array.from({ length: 10 }, () => ({ kind: "refused" }) as const),
    );
    expect(result.kind).toBe("fail");
    expect(sentTo).toHaveLength(retryPolicy("retry-on-definite-failure").attemptsMax);
  });
});

test("full jitter stays under the exponential ceiling and the cap", () => {
  const policy = retryPolicy("retry-on-definite-failure");
  const random = new Random(7);
  for (let retry = 0; retry < 12; retry += 1) {
    const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** retry);
    for (let draw = 0; draw < 50; draw += 1) {
      const delay = backoffDelayMs(policy, retry, random);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(ceiling);
    }
  }
});
