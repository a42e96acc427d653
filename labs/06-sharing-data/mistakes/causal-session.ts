// Mistake: the session keeps concurrent blind writes as siblings, so a read returns two
// sessions at once, which no single register could hold.
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
      return { n: 3, r: 2, w: 2, pw: 2, mode: "causal" };
    case "counter":
      return { n: 3, r: 2, w: 2, pw: 0, mode: "causal" };
  }
}
