// Lab 03, network splits (reference solution): the cart resolver that never loses an add.
// Union of `added`, union of `removed`: both only grow, so the merge is commutative,
// associative and idempotent (a state-based CRDT, a two-phase set), and no sibling's add or
// removal is lost, whatever the clocks say.

import type { Cart, CartSibling } from "../cart-types.ts";

export function resolveCart(siblings: readonly CartSibling[]): Cart {
  const added = new Set<number>();
  const removed = new Set<number>();
  for (const { value } of siblings) {
    for (const item of value.added) added.add(item);
    for (const item of value.removed) removed.add(item);
  }
  const sorted = (items: Set<number>) => [...items].sort((left, right) => left - right);
  return { added: sorted(added), removed: sorted(removed) };
}
