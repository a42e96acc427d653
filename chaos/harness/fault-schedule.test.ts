// Tests of the explicit fault schedule (lesson 3; the course site's player writes these): the
// text round-trips, mistakes are one line, and a simulated run applies the faults at their
// times, on top of the ones drawn from the seed, and replays with them.

import { describe, expect, it } from "vitest";
import { formatSchedule, parseSchedule } from "./fault-schedule.ts";
import { runSimulatedTest } from "./run-core.ts";
import { replayCommand, resolveRunOptions } from "./run-options.ts";

const nodes = ["n1", "n2", "n3", "n4", "n5"];

describe("fault schedules as text", () => {
  it("round-trips the membership and flaky-link faults (lessons 7 and 8)", () => {
    const text =
      "2s..9s flaky n1->n2,n2->n1 0.3; 2s..9s slow n3->n4 200ms 50ms; 3s..8s join n5 via=n1; 10s..12s leave n4 via=n2";
    const schedule = parseSchedule(text, nodes);
    expect(schedule.map((entry) => entry.fault)).toEqual([
      { name: "flaky", links: ["n1->n2", "n2->n1"], lossRate: 0.3 },
      { name: "slow", links: ["n3->n4"], latencyMs: 200, jitterMs: 50 },
      { name: "join", node: "n5", via: "n1" },
      { name: "leave", node: "n4", via: "n2" },
    ]);
    expect(formatSchedule(schedule)).toBe(text);
    expect(() => parseSchedule("1s..2s flaky n1->n2 2", nodes)).toThrow(
      "Expected flaky LINKS RATE",
    );
  });
  it("round-trips slow links and the join of a spare that is not a member yet (lessons 8, 9)", () => {
    const text = "1s..4s slow n1->n2,n3->n1 100ms 20ms; 5s..9s join n6 via=n1";
    const schedule = parseSchedule(text, nodes);
    expect(schedule.map((entry) => entry.fault)).toEqual([
      { name: "slow", links: ["n1->n2", "n3->n1"], latencyMs: 100, jitterMs: 20 },
      { name: "join", node: "n6", via: "n1" },
    ]);
    expect(formatSchedule(schedule)).toBe(text);
    expect(() => parseSchedule("1s..2s join n7 via=n1", nodes)).toThrow("Expected a node among");
  });
  it("parses every kind of fault and formats it back to the same text", () => {
    const text =
      "3s..8s skew n4 +30s; 4s..6s cut n1->n2 refuse; 5s..9s crash n3; 5s..9s pause n2; 12s..20s partition n1,n2|n3,n4,n5";
    const schedule = parseSchedule(text, nodes);
    expect(schedule.map((entry) => [entry.startMs, entry.stopMs, entry.fault.name])).toEqual([
      [3000, 8000, "skew"],
      [4000, 6000, "partition"],
      [5000, 9000, "crash"],
      [5000, 9000, "pause"],
      [12000, 20000, "partition"],
    ]);
    expect(schedule[0]!.fault).toEqual({ name: "skew", node: "n4", offsetMs: 30_000 });
    expect(schedule[1]!.fault).toEqual({
      name: "partition",
      description: "one-way n1 -/-> n2",
      how: "refuse",
      cut: ["n1->n2"],
    });
    const split = schedule[4]!.fault;
    expect(split.name === "partition" && split.description).toBe("split n1,n2 | n3,n4,n5");
    expect(split.name === "partition" && split.cut.length).toBe(12);
    expect(formatSchedule(schedule)).toBe(text);
    expect(parseSchedule(formatSchedule(schedule), nodes)).toEqual(schedule);
  });

  it("says what is wrong in one line", () => {
    expect(() => parseSchedule("5s crash n3", nodes)).toThrow(
      'Expected START..STOP like 5s..9s at the start of "5s crash n3"',
    );
    expect(() => parseSchedule("5s..9s crash n9", nodes)).toThrow(
      'Expected a node among n1, n2, n3, n4, n5 in "5s..9s crash n9", got "n9"',
    );
    expect(() => parseSchedule("9s..5s crash n1", nodes)).toThrow(
      "Expected the stop after the start",
    );
    expect(() => parseSchedule("1s..2s explode n1", nodes)).toThrow(
      'Expected partition, cut, crash, pause, skew, flaky, slow, join or leave in "1s..2s explode n1", got "explode"',
    );
    expect(() => parseSchedule("1s..2s skew n1 30s", nodes)).toThrow(
      "Expected an offset like +30s",
    );
  });

  it("a simulated run applies scheduled faults beside the drawn ones, and its replay command keeps them", () => {
    const schedule = parseSchedule("2s..4s crash n3; 6s..8s partition n1,n2|n3,n4,n5", nodes);
    const options = resolveRunOptions({
      workload: "set",
      seed: 11,
      timeMs: 10_000,
      client: { concurrency: 3, ratePerSecond: 5 },
      nemesis: { faults: ["pause"], intervalMs: 10_000, durationMs: 1_000, schedule },
    });
    const result = runSimulatedTest(options);
    expect(result.schedule.map((entry) => `${entry.startMs} ${entry.fault.name}`)).toEqual([
      "2000 crash",
      "6000 partition",
      "9000 pause",
    ]);
    const starts = result.history
      .filter((operation) => operation.process === "nemesis" && operation.type === "invoke")
      .map((operation) => `${Math.round(operation.time / 1e6)} ${operation.f}`);
    expect(starts).toEqual([
      "2000 start-crash",
      "4000 stop-crash",
      "6000 start-partition",
      "8000 stop-partition",
      "9000 start-pause",
      "10000 stop-pause",
    ]);
    const command = replayCommand(options);
    expect(command).toContain("--schedule '2s..4s crash n3; 6s..8s partition n1,n2|n3,n4,n5'");
  });
});
