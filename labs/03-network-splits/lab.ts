// Lab 03, network splits: Seattle | London (the grader; browser-safe). The learner writes the
// shopping-cart resolver the nodes run on every read that finds siblings. The pure checks merge
// random concurrent carts; the cluster check splits the network and skews clocks while
// customers add and remove items, and the cart checker looks for a lost add.

import type { Operation } from "../../chaos/harness/history.ts";
import { cartContents, type Cart } from "../../chaos/harness/workloads/cart.ts";
import { Random } from "../../cluster/runtime/sim/random.ts";
import { runFailure } from "../kit/evidence.ts";
import { callLearner, defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import { importLearner } from "../kit/policies.ts";
import { cartSiblingResolver, type CartResolver, type CartSibling } from "./cart-types.ts";

interface CartModule {
  resolveCart: CartResolver;
}

/** Concurrent versions of one cart: each sibling added some of 1..16 and removed some of
 * those; timestamps from skewed clocks. */
export function randomSiblings(random: Random): CartSibling[] {
  const count = 2 + random.integer(3);
  return Array.from({ length: count }, (_, index) => {
    const added = Array.from({ length: 16 }, (_, item) => item + 1).filter(() =>
      random.chance(0.3),
    );
    const removed = added.filter(() => random.chance(0.3));
    return {
      value: { added, removed },
      timestamp: 1_000 + random.integer(5_000),
      dot: [`n${index + 1}`, 1 + random.integer(9)],
    };
  });
}

/** A merge scenario as a history: each sibling's put, then the resolve (for shrinking). */
function asHistory(siblings: readonly CartSibling[], result: Cart | string): Operation[] {
  const history: Operation[] = [];
  const push = (fields: Omit<Operation, "index" | "time">) =>
    history.push({ index: history.length, time: history.length * 1_000_000, ...fields });
  siblings.forEach((sibling, process) => {
    push({ process, type: "invoke", f: "put", value: sibling, node: sibling.dot[0] });
    push({ process, type: "ok", f: "put", value: sibling.value, node: sibling.dot[0] });
  });
  const process = siblings.length;
  push({ process, type: "invoke", f: "resolve", value: null });
  push(
    typeof result === "string"
      ? { process, type: "fail", f: "resolve", value: result }
      : { process, type: "ok", f: "resolve", value: result },
  );
  return history;
}

function siblingsOf(history: readonly Operation[]): CartSibling[] {
  return history
    .filter((operation) => operation.type === "invoke" && operation.f === "put")
    .map((operation) => operation.value as CartSibling);
}

/** Runs `property` on many random sibling sets; the first problem, shrinkable by siblings. */
function forRandomSiblings(
  module: CartModule,
  seed: string,
  property: (siblings: readonly CartSibling[], merged: Cart) => string | undefined,
): CheckOutcome {
  const judge = (siblings: readonly CartSibling[]) => {
    const merged = callLearner("resolveCart", () => module.resolveCart(siblings));
    if (!merged.ok) return { result: merged.message, problem: merged.message };
    const shape = merged.value as Partial<Cart> | null;
    if (!Array.isArray(shape?.added) || !Array.isArray(shape?.removed))
      return {
        result: JSON.stringify(merged.value) ?? "undefined",
        problem: `resolveCart returned ${JSON.stringify(merged.value)}, not a cart { added, removed }`,
      };
    return { result: merged.value, problem: property(siblings, merged.value) };
  };
  const random = new Random(seed);
  const trials = 200;
  for (let trial = 0; trial < trials; trial += 1) {
    const siblings = randomSiblings(random);
    const { result, problem } = judge(siblings);
    if (problem === undefined) continue;
    return {
      ok: false,
      message: problem,
      history: asHistory(siblings, result),
      stillFails: (history) =>
        siblingsOf(history).length > 0 && judge(siblingsOf(history)).problem !== undefined,
      reproduce: (history) => asHistory(siblingsOf(history), judge(siblingsOf(history)).result),
    };
  }
  return { ok: true, detail: `${trials} merges` };
}

function keepsEveryAdd(siblings: readonly CartSibling[], merged: Cart): string | undefined {
  for (const sibling of siblings) {
    const lost = sibling.value.added.find((item) => !merged.added.includes(item));
    if (lost !== undefined)
      return `item ${lost} was added in the sibling written by ${sibling.dot[0]} (timestamp ${sibling.timestamp}), and the merge dropped it`;
  }
  return undefined;
}

function removalsStay(module: CartModule) {
  return (siblings: readonly CartSibling[], merged: Cart): string | undefined => {
    const removed = siblings.flatMap((sibling) => sibling.value.removed);
    const back = cartContents(merged).find((item) => removed.includes(item));
    if (back !== undefined)
      return `item ${back} was removed in a sibling, and the merge puts it back in the cart`;
    // A version from before the removal: it holds the item and no marker.
    const item = removed[0];
    if (item === undefined) return undefined;
    const older: CartSibling = {
      value: { added: [item], removed: [] },
      timestamp: 1,
      dot: ["n9", 1],
    };
    const again = callLearner("resolveCart", () =>
      module.resolveCart([{ value: merged, timestamp: 2, dot: ["n8", 1] }, older]),
    );
    if (!again.ok) return again.message;
    return cartContents(again.value).includes(item)
      ? `item ${item} was removed, yet merging the merge with an older version that still holds it brings it back: keep the removal's marker`
      : undefined;
  };
}

function orderFree(module: CartModule) {
  return (siblings: readonly CartSibling[], merged: Cart): string | undefined => {
    const contents = JSON.stringify([...cartContents(merged)].sort((a, b) => a - b));
    const reversed = callLearner("resolveCart", () => module.resolveCart([...siblings].reverse()));
    if (!reversed.ok) return reversed.message;
    if (JSON.stringify([...cartContents(reversed.value)].sort((a, b) => a - b)) !== contents)
      return `the same siblings in the reverse order give a different cart (${JSON.stringify(cartContents(reversed.value))} instead of ${contents})`;
    const twice = callLearner("resolveCart", () =>
      module.resolveCart([
        { value: merged, timestamp: 1, dot: ["n1", 1] },
        { value: merged, timestamp: 2, dot: ["n2", 1] },
      ]),
    );
    if (!twice.ok) return twice.message;
    return JSON.stringify([...cartContents(twice.value)].sort((a, b) => a - b)) === contents
      ? undefined
      : "merging a merged cart with itself changes it";
  };
}

export const lab03 = defineLab<CartModule>({
  id: "03",
  slug: "03-network-splits",
  title: "Network splits (Seattle | London): the shopping cart",
  learnerFile: "cart-resolver.ts",
  talkSlide: "Network splits: Seattle | London (both sides keep taking writes)",
  paperSection:
    "Dynamo 4.4 (data versioning, vector clocks, the shopping cart) and 6.1 (reconciliation)",
  validate: (module) => requireFunctions(module, ["resolveCart"]) as unknown as CartModule,
  checks: [
    {
      id: "03a",
      title: "a merge keeps every item added in any sibling",
      needs: "pure",
      run: ({ module, seed }) => forRandomSiblings(module, `lab03a:${seed}`, keepsEveryAdd),
    },
    {
      id: "03b",
      title: "no add is lost across a split",
      needs: "cluster",
      run: async ({ module, seed, learnerFile, runCluster }) => {
        const wrapper = new URL("./cart-types.ts", import.meta.url).href;
        const run = await runCluster(
          {
            workload: "cart",
            seed,
            timeMs: 10_000,
            cluster: { n: 3, r: 2, w: 2 },
            client: { concurrency: 5 },
            nemesis: { faults: ["partition", "skew"], intervalMs: 3_000 },
          },
          {
            value: { resolveSiblings: { causal: cartSiblingResolver(module.resolveCart) } },
            ...(learnerFile === undefined
              ? {}
              : {
                  moduleSource: `${importLearner(learnerFile)}\nimport { cartSiblingResolver } from ${JSON.stringify(wrapper)};\nexport const policies = { resolveSiblings: { causal: cartSiblingResolver(learner.resolveCart) } };\n`,
                }),
          },
        );
        const cart = run.results.cart;
        if (cart?.valid !== true)
          return runFailure(
            run,
            "cart",
            `the cart checker says ${String(cart?.valid)}: ${String(cart?.reason)}`,
          );
        return { ok: true, detail: `${run.summary.ok} operations acknowledged, every add kept` };
      },
    },
    {
      id: "03c",
      title: "a removed item stays removed, even merged with an older version",
      needs: "pure",
      run: ({ module, seed }) => forRandomSiblings(module, `lab03c:${seed}`, removalsStay(module)),
    },
    {
      id: "03d",
      title: "the merge ignores sibling order, and merging a merge changes nothing",
      needs: "pure",
      run: ({ module, seed }) => forRandomSiblings(module, `lab03d:${seed}`, orderFree(module)),
    },
  ],
  mistakes: {
    "keep-newest.ts": {
      fails: "03b",
      why: "last write wins loses the add made on the other side of the split",
    },
    "intersection.ts": { fails: "03a", why: "an item added on one side only is dropped" },
    "forgets-removals.ts": { fails: "03c", why: "deleted items resurface (the paper's own cart)" },
    "added-minus-removed.ts": {
      fails: "03c",
      why: "the removal marker is thrown away, so an older version brings the item back",
    },
  },
});
