// Mistake: the cart keeps the newest version by clock, so of two concurrent adds
// (or an add on a node whose clock runs behind) one is thrown away.
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
      return { n: 3, r: 1, w: 1, pw: 0, mode: "lww" };
    case "session":
      return { n: 3, r: 2, w: 2, pw: 2, mode: "lww" };
    case "counter":
      return { n: 3, r: 2, w: 2, pw: 0, mode: "causal" };
  }
}
