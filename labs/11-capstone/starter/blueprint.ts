// Lab 11, the capstone: the ten steps, as one cluster blueprint. Everything the earlier labs
// taught becomes one decision here, and the grader validates the whole with chaos runs across
// workloads and faults on a simulated cluster built to your blueprint.
//
// The requirements (the grader checks each):
// - Any single node may crash, and the network may split, at any time. Then:
//   cart     "add to cart" stays available (99% of requests) and no acknowledged add is lost;
//   session  a read never returns anything but the latest acknowledged session;
//   counter  every read lies between the acknowledged and the possible increments, and every
//            increment counts once: an increment is a POST to /crdt/counter, NOT idempotent.
// - With one node down, every key still has a node to stand in for it: nodes > N.
// - A node serves 100 requests a second (10 ms each). Offered three times that, the requests
//   it accepts must be answered within 250 ms: put back pressure where it keeps that promise.
// - Page the operator on the leading indicator, before availability falls below 99% in any
//   second (the incident of lab 10: one node crashes, then a second one).
// THE SUBTLE POINT: the choices interact. The retry strategy is chosen per interface function,
// not per client; the same quorum that protects the session would make the cart unavailable.
export type RetryChoice = "none" | "retry-on-definite-failure" | "retry-with-idempotency-key";

export interface DataTypePlan {
  n: number;
  r: number;
  w: number;
  /** Acknowledgements that must come from primaries (0: sloppy quorum). */
  pw: number;
  mode: "causal" | "lww";
  /** How clients of this data type retry. */
  retry: RetryChoice;
}

export interface Blueprint {
  /** Cluster size, 3 to 8. */
  nodes: number;
  cart: DataTypePlan;
  session: DataTypePlan;
  counter: DataTypePlan;
  /** Requests a node coordinates at once before it refuses with 503 overload. */
  requestsInFlightMax: number;
  /** The node-down alarm is raised when at least this many peers are down. */
  pageWhenPeersDown: number;
}

export function blueprint(): Blueprint {
  throw new Error("blueprint is not written yet");
}
