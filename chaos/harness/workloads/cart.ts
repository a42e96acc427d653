/**
 * cart: the Dynamo paper's shopping cart (lesson 6, sharing data; paper section 4.4). Customers
 * add and remove items while nodes crash and the network splits; "add to cart" must never be
 * lost, so every write is accepted and concurrent versions are merged by the application.
 *
 * The paper's cart merges siblings by union of the items, and says what that costs: "deleted
 * items can resurface". A remove that deletes an item from one version is undone when that
 * version is merged with a concurrent version that still holds the item. This cart avoids it
 * the CRDT way: a remove ADDS a removal marker, both sets only grow and merge by union, and the
 * cart's contents are added minus removed (a two-phase set; the price: an item removed once
 * can never be added again, so items are unique). Replace `mergeCart` with the paper's naive
 * merge and this workload reports the resurfaced items.
 *
 * Operations (key `cart`; items are unique integers):
 *   add i     a get, then a put of the merged cart plus i in `added`, with the causal context
 *   remove i  (an item added earlier) a get, then a put of the merged cart plus i in `removed`
 *   read      the cart's contents: added minus removed, sorted
 * Generator: 60% adds, 25% removes of an earlier added item, 15% reads; after every fault
 * healed, one final read per node with R = N.
 * Checker: cart (below): the set checker on the items whose removal was never attempted, plus
 * "resurfaced": items whose remove was acknowledged before the final read began, yet present.
 */

import type { JsonValue } from "../../../cluster/core/types.ts";
import type { Operation } from "../history.ts";
import { checkSet, type SetCheckResult } from "../../checkers/set.ts";
import type { Completion } from "../recorder.ts";
import { distinctIntegers, type Workload, type WorkloadInstance } from "../workload.ts";

export const cartKey = "cart";

export interface Cart {
  added: number[];
  removed: number[];
}

/** Every sibling's cart merged: union of `added`, union of `removed`. */
export function mergeCart(siblings: readonly unknown[]): Cart {
  const added: unknown[] = [];
  const removed: unknown[] = [];
  for (const sibling of siblings) {
    if (typeof sibling !== "object" || sibling === null) continue;
    const cart = sibling as Partial<Record<keyof Cart, unknown>>;
    if (Array.isArray(cart.added)) added.push(...(cart.added as unknown[]));
    if (Array.isArray(cart.removed)) removed.push(...(cart.removed as unknown[]));
  }
  return { added: distinctIntegers(added), removed: distinctIntegers(removed) };
}

export function cartContents(cart: Cart): number[] {
  const removed = new Set(cart.removed);
  return cart.added.filter((item) => !removed.has(item));
}

export function createCartWorkload(): WorkloadInstance {
  let lastItem = 0;
  /** Items handed to an add, in order: removes pick among them. */
  const addedItems: number[] = [];
  return {
    next(random) {
      const draw = random.next();
      if (draw < 0.15) return { f: "read", value: null };
      if (draw < 0.4 && addedItems.length > 0) {
        const [item] = addedItems.splice(random.integer(addedItems.length), 1);
        return { f: "remove", value: item };
      }
      lastItem += 1;
      addedItems.push(lastItem);
      return { f: "add", value: lastItem };
    },
    perform(operation, { client, node, n }, done) {
      if (operation.f === "read") {
        const r = operation.value === "final" ? n : undefined;
        client.get(
          node,
          cartKey,
          (result) =>
            done(
              result.kind === "ok"
                ? { type: "ok", value: cartContents(mergeCart(result.siblings)), node: result.node }
                : { type: result.kind, value: null, node: result.node, reason: result.reason },
            ),
          r,
        );
        return;
      }
      const item = operation.value as number;
      const side: keyof Cart = operation.f === "add" ? "added" : "removed";
      client.update(
        node,
        cartKey,
        (siblings) => {
          const cart = mergeCart(siblings);
          cart[side] = distinctIntegers([...cart[side], item]);
          return cart as unknown as JsonValue;
        },
        (result) => {
          const completion: Completion =
            result.kind === "ok"
              ? { type: "ok", value: item, node: result.node }
              : { type: result.kind, value: item, node: result.node, reason: result.reason };
          done(completion);
        },
      );
    },
    finalOperations: (nodes) =>
      nodes.map((node) => ({ operation: { f: "read", value: "final" }, node })),
  };
}

export interface CartCheckResult extends SetCheckResult {
  /** Items whose remove was acknowledged before the final read began, present in it. */
  resurfacedCount: number;
  resurfaced: number[];
}

/**
 * The cart's verdict. Items with a remove that may have happened (ok or info) are judged only
 * for resurfacing; every other item is judged by the set checker (lost, unexpected, ...).
 */
export function checkCart(history: readonly Operation[]): CartCheckResult {
  const removeAttempted = new Set<number>();
  const removeAcknowledgedAt = new Map<number, number>();
  const openRemoves = new Map<number | "nemesis", Operation>();
  for (const [position, operation] of history.entries()) {
    if (operation.f !== "remove") continue;
    if (operation.type === "invoke") openRemoves.set(operation.process, operation);
    else {
      openRemoves.delete(operation.process);
      const item = operation.value as number;
      if (operation.type !== "fail") removeAttempted.add(item);
      if (operation.type === "ok" && !removeAcknowledgedAt.has(item))
        removeAcknowledgedAt.set(item, position);
    }
  }
  for (const open of openRemoves.values()) removeAttempted.add(open.value as number);
  const keep = (item: unknown): boolean => !removeAttempted.has(item as number);
  const setHistory: Operation[] = [];
  for (const operation of history) {
    if (operation.f === "remove") continue;
    if (operation.f === "add" && !keep(operation.value)) continue;
    if (operation.f === "read" && operation.type === "ok" && Array.isArray(operation.value)) {
      setHistory.push({ ...operation, value: (operation.value as unknown[]).filter(keep) });
    } else setHistory.push(operation);
  }
  const setResult = checkSet(setHistory);
  const resurfaced = findResurfaced(history, removeAcknowledgedAt);
  const result: CartCheckResult = {
    ...setResult,
    resurfacedCount: resurfaced.length,
    resurfaced: resurfaced.slice(0, 20),
  };
  if (resurfaced.length > 0) {
    result.valid = false;
    result.reason = `${resurfaced.length} removed item(s) resurfaced in the final read (first: ${resurfaced[0]}); ${setResult.reason}`;
  }
  return result;
}

function findResurfaced(
  history: readonly Operation[],
  removeAcknowledgedAt: Map<number, number>,
): number[] {
  let finalRead: { invokePosition: number; items: number[] } | undefined;
  const invokes = new Map<number | "nemesis", number>();
  for (const [position, operation] of history.entries()) {
    if (operation.f !== "read") continue;
    if (operation.type === "invoke") invokes.set(operation.process, position);
    else if (operation.type === "ok" && Array.isArray(operation.value)) {
      finalRead = {
        invokePosition: invokes.get(operation.process) ?? position,
        items: operation.value as number[],
      };
    }
  }
  if (finalRead === undefined) return [];
  const { invokePosition, items } = finalRead;
  return items.filter((item) => (removeAcknowledgedAt.get(item) ?? Infinity) < invokePosition);
}

export const cartWorkload: Workload = {
  name: "cart",
  property:
    "no acknowledged add is lost and no acknowledged remove is undone (the paper's resurfacing items)",
  bucket: "cart",
  checkers: ["cart", "availability"],
  create: () => createCartWorkload(),
};
