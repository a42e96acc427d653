// Lab 03, network splits (Seattle | London). The file you write: the shopping-cart resolver.
//
// A split lets both sides take writes: Seattle adds a book to alice's cart while London adds
// a pen. When the split heals, the key holds two siblings, two concurrent versions that the
// version vectors say neither supersedes. The node hands them all to your resolver on every
// read and the client writes back what you return (with a context covering them all), so what
// you drop here is gone for good.
//
// A cart is { added: number[], removed: number[] }: an item is in the cart when it is in
// `added` and not in `removed` (removing adds a marker, so both lists only grow).
//
// Grade it: npx neverstop lab 03      (the reference: npx neverstop lab 03 --solution)

import type { Cart, CartSibling } from "../cart-types.ts";

/**
 * Merges two or more concurrent versions of one cart into one.
 * The subtle point: "keep the newest" (last write wins) looks reasonable and loses a customer's
 * add whenever two carts were written concurrently, and timestamps come from clocks that skew.
 * Never lose an add; never bring back a removed item. The answer must not depend on the order
 * of `siblings`, and merging a merge again must change nothing.
 */
export function resolveCart(siblings: readonly CartSibling[]): Cart {
  throw new Error(`resolveCart is not written yet (${siblings.length} siblings)`);
}
