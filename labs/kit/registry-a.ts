// Labs 00 to 05 (the labs-a half of the registry): the world is concurrent, copying state,
// network splits, the ring, systems that never stop. Browser-safe checks only; the node-only
// checks are in registry-a.node.ts.
import { lab00 } from "../00-tour/lab.ts";
import { lab01 } from "../01-crash-in-the-critical-section/lab.ts";
import type { Lab } from "./lab.ts";

export const labsA: Lab[] = [lab00, lab01];
