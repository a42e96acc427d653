// Every lab, in order (the course site's in-page labs and `neverstop lab` both read this).
// Browser-safe: each lab here carries only the checks that run without Node (pure functions
// and the simulator); registry.node.ts adds the checks that need real processes.
import type { Lab } from "./lab.ts";
import { labsA } from "./registry-a.ts";
import { labsB } from "./registry-b.ts";

export const labs: Lab[] = [...labsA, ...labsB].sort((left, right) =>
  left.definition.id.localeCompare(right.definition.id),
);

/** A lab by "3", "03" or its folder name "03-cart-resolver"; undefined when there is none. */
export function findLab(name: string, among: readonly Lab[] = labs): Lab | undefined {
  const wanted = /^\d{1,2}$/.test(name) ? name.padStart(2, "0") : name;
  return among.find((lab) => lab.definition.id === wanted || lab.definition.slug === wanted);
}
