// Mistake: R + W > N for the session, but with a sloppy quorum: a write on the minority side
// of a split lands on fallbacks, and a read on the majority side misses it.
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
      return { n: 3, r: 2, w: 2, pw: 0, mode: "lww" };
    case "counter":
      return { n: 3, r: 2, w: 2, pw: 0, mode: "causal" };
  }
}
