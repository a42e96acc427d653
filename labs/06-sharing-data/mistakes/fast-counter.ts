// Mistake: the counter reads and writes one replica (R = W = 1): fast and always available,
// but a read on another replica misses increments that were acknowledged before it began.
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
      return { n: 3, r: 1, w: 1, pw: 0, mode: "causal" };
  }
}
