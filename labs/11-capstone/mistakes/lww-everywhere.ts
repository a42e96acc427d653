// Mistake: last-write-wins everywhere ("simpler, and the clocks are synced"). The cart
// keeps the newest version by clock, and of two concurrent adds one is thrown away.
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
    cart: { n: 3, r: 1, w: 1, pw: 0, mode: "lww", retry: "retry-with-idempotency-key" },
    session: { n: 3, r: 2, w: 2, pw: 2, mode: "lww", retry: "retry-with-idempotency-key" },
    counter: { n: 3, r: 2, w: 2, pw: 0, mode: "lww", retry: "retry-on-definite-failure" },
    requestsInFlightMax: 20,
    pageWhenPeersDown: 1,
  };
}
