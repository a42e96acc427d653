import { expect, test } from "vitest";
import { buildHistory } from "../../checkers/history-view.ts";
import { cartContents, checkCart, mergeCart } from "./cart.ts";

test("merging carts keeps every add and every removal marker", () => {
  const merged = mergeCart([
    { added: [1, 2], removed: [] },
    { added: [1, 3], removed: [2] },
  ]);
  expect(merged).toEqual({ added: [1, 2, 3], removed: [2] });
  expect(cartContents(merged)).toEqual([1, 3]);
});

test("a cart that kept its promises is valid", () => {
  const history = buildHistory([
    [0, "invoke", "add", 1],
    [0, "ok", "add", 1],
    [0, "invoke", "add", 2],
    [0, "ok", "add", 2],
    [0, "invoke", "remove", 2],
    [0, "ok", "remove", 2],
    [1, "invoke", "read", null],
    [1, "ok", "read", [1]],
  ]);
  expect(checkCart(history).valid).toBe(true);
});

test("an acknowledged remove undone by a merge is reported as resurfaced", () => {
  const history = buildHistory([
    [0, "invoke", "add", 1],
    [0, "ok", "add", 1],
    [0, "invoke", "remove", 1],
    [0, "ok", "remove", 1],
    [1, "invoke", "read", null],
    [1, "ok", "read", [1]],
  ]);
  const result = checkCart(history);
  expect(result.valid).toBe(false);
  expect(result.resurfaced).toEqual([1]);
});

test("an acknowledged add missing from the final read is lost", () => {
  const history = buildHistory([
    [0, "invoke", "add", 1],
    [0, "ok", "add", 1],
    [0, "invoke", "add", 2],
    [0, "ok", "add", 2],
    [1, "invoke", "read", null],
    [1, "ok", "read", [2]],
  ]);
  const result = checkCart(history);
  expect(result.valid).toBe(false);
  expect(result.lost).toEqual([1]);
});
