// Mistake: the cart insists on a majority of primaries (W = PW = 2), so while the network is
// split the customers on the minority side cannot add to their carts at all.
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
      return { n: 3, r: 2, w: 2, pw: 2, mode: "causal" };
    case "session":
      return { n: 3, r: 2, w: 2, pw: 2, mode: "lww" };
    case "counter":
      return { n: 3, r: 2, w: 2, pw: 0, mode: "causal" };
  }
}
