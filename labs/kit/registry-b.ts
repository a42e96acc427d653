// Labs 06 to 11 (the labs-b half of the registry): sharing data, retries, scaling out,
// capacity, monitoring, the capstone. Browser-safe checks only; node-only ones are in
// registry-b.node.ts.
import type { Lab } from "./lab.ts";

export const labsB: Lab[] = [];
