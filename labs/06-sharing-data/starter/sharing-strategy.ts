// Lab 06, sharing data: one sharing strategy per data type. Three kinds of data live in the
// same cluster of five nodes, and each needs a different promise:
//
//   cart     the Dynamo paper's shopping cart: "add to cart" must always be accepted, even
//            while the network is split, and no add may ever be lost (the cart checker). An
//            unavailable cart is lost revenue; a duplicate item is a shrug.
//   session  a login session, written blind (a put with no get first): a read must return
//            the latest acknowledged write, even while the network is split (the
//            linearizability checker). A login that fails can be tried again; a session that
//            silently goes back in time logs the user out, or worse, in as someone else.
//   counter  a page-view counter kept as a set of unique increments: every read lies between
//            the acknowledged and the possibly applied increments (the counter checker).
//
// For each, choose N (replicas), R and W (read and write quorums), PW (how many of the W
// acknowledgements must come from primaries: 0 is Dynamo's sloppy quorum, where a fallback
// node may stand in for an unreachable primary), and the bucket's mode: "causal" keeps
// concurrent writes as siblings that the application merges; "lww" keeps the newest by clock.
//
// Contract: 1 <= R, W <= N <= 5 and 0 <= PW <= W.
// THE SUBTLE POINT: R + W > N is not enough under partitions. With a sloppy quorum, a write on
// the minority side is acknowledged by fallbacks, and a read on the majority side asks the
// primaries, which never saw it. And last-write-wins does not merge: of two concurrent adds,
// one is thrown away.
export type DataType = "cart" | "session" | "counter";

export interface SharingStrategy {
  n: number;
  r: number;
  w: number;
  pw: number;
  mode: "causal" | "lww";
}

export function sharingStrategy(dataType: DataType): SharingStrategy {
  // Choose per data type. As it stands, every type gets Dynamo's usual (3, 2, 2), sloppy,
  // last-write-wins.
  void dataType;
  return { n: 3, r: 2, w: 2, pw: 0, mode: "lww" };
}
