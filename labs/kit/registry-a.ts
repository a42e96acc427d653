// Labs 00 to 05 (the labs-a half of the registry): the world is concurrent, copying state,
// network splits, the ring, systems that never stop. Browser-safe checks only; the node-only
// checks are in registry-a.node.ts.
import { lab00 } from "../00-tour/lab.ts";
import { lab01 } from "../01-crash-in-the-critical-section/lab.ts";
import { lab02 } from "../02-you-copy-state/lab.ts";
import { lab03 } from "../03-network-splits/lab.ts";
import { lab04 } from "../04-the-ring/lab.ts";
import { lab05 } from "../05-systems-that-never-stop/lab.ts";
import type { Lab } from "./lab.ts";

export const labsA: Lab[] = [lab00, lab01, lab02, lab03, lab04, lab05];
