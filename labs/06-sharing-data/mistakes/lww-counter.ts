// Mistake: the counter's read-modify-write runs in a last-write-wins bucket: two clients add
// at once, both put their new set, and the older put's increment is gone.
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
      return { n: 3, r: 2, w: 2, pw: 0, mode: "lww" };
  }
}
