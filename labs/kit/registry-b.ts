// Labs 06 to 11 (the labs-b half of the registry): sharing data, retries, scaling out,
// capacity, monitoring, the capstone. Browser-safe checks only; node-only ones are in
// registry-b.node.ts.
import { lab06 } from "../06-sharing-data/lab.ts";
import { lab07 } from "../07-retry-strategy/lab.ts";
import { lab08 } from "../08-scaling-out/lab.ts";
import { lab09 } from "../09-capacity-planning/lab.ts";
import { lab10 } from "../10-monitoring/lab.ts";
import { lab11 } from "../11-capstone/lab.ts";
import type { Lab } from "./lab.ts";

export const labsB: Lab[] = [lab06, lab07, lab08, lab09, lab10, lab11];
