// Lab 03's contract types (lesson 3, network splits): one version of a shopping cart as the
// resolver sees it, and how a resolver of carts becomes the node's sibling resolver for every
// causal bucket. No Node built-ins: the course site grades this lab in the browser too.

import type { SiblingResolver } from "../../cluster/core/policies.ts";
import type { Cart } from "../../chaos/harness/workloads/cart.ts";

export type { Cart };

/** One sibling: a cart written by some client, with the writing coordinator's clock (which
 * may be skewed) and its dot (who minted it: [node, counter]). */
export interface CartSibling {
  value: Cart;
  timestamp: number;
  dot: [string, number];
}

export type CartResolver = (siblings: readonly CartSibling[]) => Cart;

/** The node-side resolver: several live siblings become one, the learner's merge. The read's
 * context still covers them all, so the client's next write supersedes every one. */
export function cartSiblingResolver(resolveCart: CartResolver): SiblingResolver {
  return (siblings) => {
    if (siblings.length <= 1) return siblings;
    const merged = resolveCart(
      siblings.map((sibling) => ({
        value: sibling.value as unknown as Cart,
        timestamp: sibling.timestamp,
        dot: sibling.dot,
      })),
    );
    return [{ ...siblings[0]!, value: merged as unknown as (typeof siblings)[0]["value"] }];
  };
}
