import { Command } from "commander";
import { describe, expect, test } from "vitest";
import { formatDuration, parseDuration } from "./duration.ts";
import { runOptionsFromFlags } from "../../cli/harness-commands.ts";
import { replayCommand, resolveRunOptions, RunOptionsError } from "./run-options.ts";

describe("durations", () => {
  test.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1.5s", 1_500],
    ["45", 45_000],
  ])("%s", (text, milliseconds) => {
    expect(parseDuration(text)).toBe(milliseconds);
    expect(parseDuration(formatDuration(milliseconds))).toBe(milliseconds);
  });
  test("garbage is one clear line", () => {
    expect(() => parseDuration("ten seconds", "--time")).toThrow(
      /Expected `--time` to be a duration like 500ms/,
    );
  });
});

describe("run options", () => {
  test("N, R and W are checked in the core's own words", () => {
    expect(() => resolveRunOptions({ workload: "set", cluster: { n: 3, r: 4 } })).toThrow(
      new RunOptionsError("Expected `r` to be an integer from 1 to `n` (3), got 4"),
    );
  });
  test("an unknown workload names the known ones", () => {
    expect(() => resolveRunOptions({ workload: "queue" })).toThrow(
      /Expected a workload among register, set/,
    );
  });
  test("an unknown fault is refused", () => {
    expect(() =>
      resolveRunOptions({ workload: "set", nemesis: { faults: ["meteor" as never] } }),
    ).toThrow(
      /Expected `faults` to be one of partition, crash, pause, skew, flaky, slow, join, leave, none/,
    );
  });
  test("small clusters get quorums that fit", () => {
    const options = resolveRunOptions({ workload: "set", cluster: { nodes: 1 } });
    expect([options.cluster.n, options.cluster.r, options.cluster.w]).toEqual([1, 1, 1]);
  });
});

/** Parses a replay command the way `neverstop test` does, through commander. */
function parseReplay(command: string) {
  let parsed: ReturnType<typeof runOptionsFromFlags> | undefined;
  const program = new Command().exitOverride();
  const test = program.command("test").argument("<workload>");
  for (const flag of [
    "backend",
    "seed",
    "time",
    "nodes",
    "n",
    "r",
    "w",
    "sync",
    "faults",
    "interval",
    "fault-duration",
    "concurrency",
    "rate",
    "retry",
    "keys",
    "partitions",
    "checkers",
    "name",
  ]) {
    test.option(`--${flag} <value>`);
  }
  test.action((workload: string, flags: Record<string, string>) => {
    parsed = runOptionsFromFlags(workload, {
      nodes: "5",
      sync: "always",
      faults: "",
      interval: "10s",
      concurrency: "10",
      rate: "10",
      retry: "none",
      keys: "3",
      partitions: "64",
      store: "store",
      ...flags,
    } as never);
  });
  program.parse(command.split(" ").slice(2), { from: "user" });
  return parsed!;
}

test("the replay command gives back exactly the same options", () => {
  const options = resolveRunOptions({
    workload: "register",
    seed: 4242,
    timeMs: 90_000,
    cluster: { nodes: 4, n: 3, r: 1, w: 1, sync: "interval", partitionCount: 128 },
    client: {
      concurrency: 3,
      ratePerSecond: 2.5,
      retry: "retry-with-idempotency-key",
      keyCount: 7,
    },
    nemesis: { faults: ["partition", "crash"], intervalMs: 6_000, durationMs: 1_500 },
    checkers: ["linearizable"],
    name: "my-test",
  });
  expect(resolveRunOptions(parseReplay(replayCommand(options)))).toEqual(options);
});

test("a run without checkers replays as `neverstop sim`", () => {
  const options = resolveRunOptions({ workload: "counter", seed: 5, checkers: [] });
  expect(replayCommand(options)).toMatch(
    /^npx neverstop sim --workload counter --seed 5 --time 30s /,
  );
});
