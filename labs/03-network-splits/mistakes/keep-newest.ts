// Lab 03 mistake: last write wins. Keeps the sibling with the newest timestamp and drops the
// others: when Seattle and London both added an item during the split, one add is lost. With a
// skewed clock the "newest" is not even the last one written.

import type { Cart, CartSibling } from "../cart-types.ts";

export function resolveCart(siblings: readonly CartSibling[]): Cart {
  const newest = siblings.reduce((best, sibling) =>
    sibling.timestamp > best.timestamp ? sibling : best,
  );
  return newest.value;
}
