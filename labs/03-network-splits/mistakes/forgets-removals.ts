// Lab 03 mistake: merges the adds and forgets the removals (the Dynamo paper's own cart: "deleted
// items can resurface"). Every add survives; so does every item a customer removed.

import type { Cart, CartSibling } from "../cart-types.ts";

export function resolveCart(siblings: readonly CartSibling[]): Cart {
  const added = new Set<number>();
  for (const { value } of siblings) for (const item of value.added) added.add(item);
  return { added: [...added].sort((left, right) => left - right), removed: [] };
}
