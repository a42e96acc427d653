// Lab 03 mistake: keeps only what every sibling agrees on ("the safe part"). An item added on
// one side of the split is in one sibling only, so it is dropped.

import type { Cart, CartSibling } from "../cart-types.ts";

export function resolveCart(siblings: readonly CartSibling[]): Cart {
  const inAll = (pick: (cart: Cart) => number[]) =>
    pick(siblings[0]!.value).filter((item) =>
      siblings.every(({ value }) => pick(value).includes(item)),
    );
  return { added: inAll((cart) => cart.added), removed: inAll((cart) => cart.removed) };
}
