// Lab 06's reference sharing strategies (the contract is in the starter):
//   cart     causal, W = 1 and R = 1, sloppy: any one node can take an add, and the cart's
//            merge (union) keeps every concurrent add; the final read with R = N sees them all.
//   session  lww, R = W = 2 with PW = 2: a write needs two primaries, so the minority side of a
//            split refuses it instead of hiding it on fallbacks; every read meets it.
//   counter  causal, R = W = 2: every read meets every acknowledged increment (R + W > N), and
//            concurrent increments become siblings whose entries are merged, never dropped.
export type DataType = "cart" | "session" | "counter";

export interface SharingStrategy {
  n: number;
  r: number;
  w: number;
  pw: number;
  mode: "causal" | "lww";
}

export function sharingStrategy(dataType: DataType): SharingStrategy {
  switch (dataType) {
    case "cart":
      return { n: 3, r: 1, w: 1, pw: 0, mode: "causal" };
    case "session":
      return { n: 3, r: 2, w: 2, pw: 2, mode: "lww" };
    case "counter":
      return { n: 3, r: 2, w: 2, pw: 0, mode: "causal" };
  }
}
