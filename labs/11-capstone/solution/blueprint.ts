// Lab 11's reference blueprint (the requirements are in the starter).
//   nodes 5           N = 3 everywhere, so one node down leaves two fallbacks for every key.
//   cart              causal, R = W = 1, sloppy: any node takes an add, the merge keeps all;
//                     idempotent (unique items merged by union), so retried after a timeout.
//   session           lww, R = W = PW = 2: strict writes, never stale; a blind put of the same
//                     value twice is harmless, so retried after a timeout.
//   counter           causal, R = W = 2; increments are not idempotent: retried only after a
//                     definite failure.
//   budget 20         Little's law: 20 in flight x 10 ms = 200 ms at most, within 250 ms.
//   page at 1 down    the first crash costs nothing visible; the second is the outage.
export type RetryChoice = "none" | "retry-on-definite-failure" | "retry-with-idempotency-key";

export interface DataTypePlan {
  n: number;
  r: number;
  w: number;
  pw: number;
  mode: "causal" | "lww";
  retry: RetryChoice;
}

export interface Blueprint {
  nodes: number;
  cart: DataTypePlan;
  session: DataTypePlan;
  counter: DataTypePlan;
  requestsInFlightMax: number;
  pageWhenPeersDown: number;
}

export function blueprint(): Blueprint {
  return {
    nodes: 5,
    cart: { n: 3, r: 1, w: 1, pw: 0, mode: "causal", retry: "retry-with-idempotency-key" },
    session: { n: 3, r: 2, w: 2, pw: 2, mode: "lww", retry: "retry-with-idempotency-key" },
    counter: { n: 3, r: 2, w: 2, pw: 0, mode: "causal", retry: "retry-on-definite-failure" },
    requestsInFlightMax: 20,
    pageWhenPeersDown: 1,
  };
}
