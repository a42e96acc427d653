// Lab 03 mistake: applies the removals and throws the markers away ("the cart is cleaner"). The
// merge looks right, but the next merge with a version written before the removal, one that
// still holds the item, brings it back: the marker was the only memory of the removal.

import type { Cart, CartSibling } from "../cart-types.ts";

export function resolveCart(siblings: readonly CartSibling[]): Cart {
  const added = new Set<number>();
  const removed = new Set<number>();
  for (const { value } of siblings) {
    for (const item of value.added) added.add(item);
    for (const item of value.removed) removed.add(item);
  }
  return {
    added: [...added].filter((item) => !removed.has(item)).sort((left, right) => left - right),
    removed: [],
  };
}
