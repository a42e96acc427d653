// Mistake: the session gets R + W > N with a sloppy quorum. A write on the minority side of
// a split lands on fallbacks, and a read on the majority side misses it.
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
    session: { n: 3, r: 2, w: 2, pw: 0, mode: "lww", retry: "retry-with-idempotency-key" },
    counter: { n: 3, r: 2, w: 2, pw: 0, mode: "causal", retry: "retry-on-definite-failure" },
    requestsInFlightMax: 20,
    pageWhenPeersDown: 1,
  };
}
