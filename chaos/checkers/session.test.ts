// Tests of the session checker (lesson 6): read-your-writes and monotonic reads, siblings,
// indeterminate writes, reads of values never written, and a property on sequential histories.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildHistory } from "./history-view.ts";
import type { HistoryStep } from "./history-view.ts";
import { checkSession } from "./session.ts";

const write = (
  process: number,
  value: number,
  outcome: "ok" | "fail" | "info",
  key = "x",
): HistoryStep[] => [
  [process, "invoke", "write", value, key],
  [process, outcome, "write", value, key],
];
const read = (process: number, value: number | null | number[], key = "x"): HistoryStep[] => [
  [process, "invoke", "read", null, key],
  [process, "ok", "read", value, key],
];

describe("checkSession", () => {
  it("passes a session that reads its own writes in order", () => {
    const history = buildHistory([
      ...write(0, 1, "ok"),
      ...read(0, 1),
      ...write(1, 2, "ok"),
      ...read(0, 2),
    ]);
    expect(checkSession(history)).toMatchObject({ valid: true, readCount: 2, writeCount: 2 });
  });

  it("finds a read-your-writes violation and names the write and the read", () => {
    const history = buildHistory([...write(0, 1, "ok"), ...write(1, 2, "ok"), ...read(1, 1)]);
    const result = checkSession(history);
    expect(result.valid).toBe(false);
    expect(result.readYourWritesViolationCount).toBe(1);
    const violation = result.readYourWritesViolations[0]!;
    expect(violation.process).toBe(1);
    expect(violation.key).toBe("x");
    expect(violation.write.invoke.index).toBe(2);
    expect(violation.read.completion?.value).toBe(1);
  });

  it("treats reading nothing after an own write as a read-your-writes violation", () => {
    const result = checkSession(buildHistory([...write(0, 1, "ok"), ...read(0, null)]));
    expect(result.readYourWritesViolationCount).toBe(1);
  });

  it("accepts a concurrent write's value instead of the own write", () => {
    const history = buildHistory([
      [1, "invoke", "write", 2, "x"],
      ...write(0, 1, "ok"),
      [1, "ok", "write", 2, "x"],
      ...read(0, 2),
    ]);
    expect(checkSession(history).valid).toBe(true);
  });

  it("finds a monotonic-reads violation and names both reads", () => {
    const history = buildHistory([
      ...write(0, 1, "ok"),
      ...write(0, 2, "ok"),
      ...read(1, 2),
      ...read(1, 1),
    ]);
    const result = checkSession(history);
    expect(result.valid).toBe(false);
    expect(result.monotonicReadViolationCount).toBe(1);
    expect(result.readYourWritesViolationCount).toBe(0);
    const violation = result.monotonicReadViolations[0]!;
    expect(violation.newerValue).toBe(2);
    expect(violation.earlierRead.invoke.index).toBe(4);
    expect(violation.laterRead.invoke.index).toBe(6);
  });

  it("passes siblings that include a value not older than what was seen", () => {
    const history = buildHistory([
      ...write(0, 1, "ok"),
      ...write(0, 2, "ok"),
      ...read(1, 2),
      ...read(1, [1, 2]),
      ...write(2, 3, "info"),
      ...read(1, [1, 3]),
    ]);
    expect(checkSession(history).valid).toBe(true);
    const onlyOlder = buildHistory([
      ...write(0, 1, "ok"),
      ...write(0, 2, "ok"),
      ...read(1, 2),
      ...read(1, [1]),
    ]);
    expect(checkSession(onlyOlder).monotonicReadViolationCount).toBe(1);
  });

  it("keeps keys and processes apart", () => {
    const history = buildHistory([
      ...write(0, 1, "ok", "x"),
      ...write(0, 1, "ok", "y"),
      ...read(0, null, "z"),
      ...read(1, null, "x"),
    ]);
    expect(checkSession(history).valid).toBe(true);
  });

  it("reports reads of values never written or written only by a failed write", () => {
    const history = buildHistory([...write(0, 1, "fail"), ...read(1, 1), ...read(1, 9)]);
    const result = checkSession(history);
    expect(result.valid).toBe(false);
    expect(result.unexpectedReads.map((entry) => entry.value)).toEqual([1, 9]);
  });

  it("answers unknown without reads and refuses duplicate write values", () => {
    expect(checkSession(buildHistory(write(0, 1, "ok"))).valid).toBe("unknown");
    expect(() => checkSession(buildHistory([...write(0, 1, "ok"), ...write(1, 1, "ok")]))).toThrow(
      /unique per key/,
    );
  });

  it("is valid on any sequential history of a real register", () => {
    const action = fc.record({
      process: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom("write", "read"),
      key: fc.constantFrom("x", "y"),
    });
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        const registers = new Map<string, number>();
        const steps: HistoryStep[] = [];
        for (const [value, step] of actions.entries()) {
          if (step.kind === "write") {
            registers.set(step.key, value);
            steps.push(...write(step.process, value, "ok", step.key));
          } else steps.push(...read(step.process, registers.get(step.key) ?? null, step.key));
        }
        const result = checkSession(buildHistory(steps));
        expect(result.valid).not.toBe(false);
      }),
    );
  });
});
