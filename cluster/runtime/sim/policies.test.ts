// Policies in the simulator (every lab): a harness run (SimulatedRun, what `neverstop test
// --backend sim --policies FILE` drives) hands its policies to every node, and its node factory
// too; a resolver that keeps one sibling is visible in what clients read.
import { describe, expect, it } from "vitest";
import type { RetryDecider as HarnessRetryDecider } from "../../../chaos/harness/client.ts";
import { SimulatedRun } from "../../../chaos/harness/run-core.ts";
import { resolveRunOptions } from "../../../chaos/harness/run-options.ts";
import { DynamoNode } from "../../core/node.ts";
import type { PolicyOverrides, RetryDecider } from "../../core/policies.ts";
import type { NodeFactory } from "./simulator.ts";

/** A register run with concurrent blind writes: siblings appear under the reference policies. */
function registerRun(runtime: ConstructorParameters<typeof SimulatedRun>[1]): SimulatedRun {
  const options = resolveRunOptions({
    workload: "register",
    seed: 7,
    timeMs: 4_000,
    checkers: [],
    client: { concurrency: 6, ratePerSecond: 30, keyCount: 1 },
  });
  const run = new SimulatedRun(options, runtime);
  while (run.advance(10_000)) {
    // Each slice runs 10 s of virtual time.
  }
  return run;
}

function mostSiblingsRead(run: SimulatedRun): number {
  const reads = run.driver.recorder.operations.filter(
    (operation) => operation.type === "ok" && operation.f === "read",
  );
  return Math.max(0, ...reads.map((read) => (Array.isArray(read.value) ? read.value.length : 1)));
}

describe("SimulatedRun passes policies and node factories to every node", () => {
  it("a resolver that keeps one sibling: no read returns two", () => {
    const keepNewest: PolicyOverrides = {
      resolveSiblings: {
        causal: (siblings) => [
          siblings.reduce((newest, sibling) =>
            sibling.timestamp > newest.timestamp ? sibling : newest,
          ),
        ],
      },
    };
    const reference = registerRun({});
    expect(mostSiblingsRead(reference)).toBeGreaterThan(1);
    expect(mostSiblingsRead(registerRun({ policies: keepNewest }))).toBe(1);
  });

  it("a node factory sees the run's policies", () => {
    const seen: Array<PolicyOverrides | undefined> = [];
    const policies: PolicyOverrides = { admit: () => ({ admit: true }) };
    const nodeFactory: NodeFactory = (options) => {
      seen.push(options.policies);
      return new DynamoNode(options);
    };
    registerRun({ policies, nodeFactory });
    expect(seen.length).toBe(5);
    expect(seen.every((entry) => entry === policies)).toBe(true);
  });
});

describe("the client side's retry policy", () => {
  it("is the type the harness's clients run (each assignable to the other)", () => {
    const fromCore: RetryDecider = (question) => (question.retryable ? 10 : undefined);
    const asHarness: HarnessRetryDecider = fromCore;
    const backToCore: RetryDecider = asHarness;
    const question = {
      kind: "read" as const,
      idempotent: true,
      outcome: "fail" as const,
      retryable: true,
      retryAfterMs: undefined,
      attempts: 1,
      elapsedMs: 0,
    };
    expect(backToCore(question, () => 0)).toBe(10);
  });
});
