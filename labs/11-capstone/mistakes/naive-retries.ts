// Mistake: one retry strategy for every client: re-send after a timeout. Right for the
// cart and the session, wrong for the counter: an increment that had landed counts twice.
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
    counter: { n: 3, r: 2, w: 2, pw: 0, mode: "causal", retry: "retry-with-idempotency-key" },
    requestsInFlightMax: 20,
    pageWhenPeersDown: 1,
  };
}
