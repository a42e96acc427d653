// The harness's commands (every lab): `neverstop sim` (a simulated run, summarised) and
// `neverstop test WORKLOAD` (a checked run that exits by its verdict: 0 valid, 1 invalid,
// 2 unknown, 3 bad input). Both call runTest() (run.ts), as chaosTest() and the suite do, and
// both write store/<test>/<timestamp>/. cli/program.ts calls registerHarnessCommands(program).

import { Command, CommanderError, Option } from "commander";
import { checkerNames, type CheckerName } from "../chaos/harness/checks.ts";
import { retryStrategies, type RetryStrategy } from "../chaos/harness/client.ts";
import { parseDuration } from "../chaos/harness/duration.ts";
import { faultNames, type FaultName } from "../chaos/harness/faults.ts";
import { parseSchedule } from "../chaos/harness/fault-schedule.ts";
import { createProgressLine } from "../chaos/harness/progress.ts";
import type { RunResult } from "../chaos/harness/run-core.ts";
import {
  backendNames,
  nodeIds,
  RunOptionsError,
  type BackendName,
  type RunOptionsInput,
  type SyncPolicyName,
} from "../chaos/harness/run-options.ts";
import { runTest } from "../chaos/harness/run.ts";
import { writeRun } from "../chaos/harness/store-writer.ts";
import { workloadNames } from "../chaos/harness/workloads/index.ts";
import type { Policies } from "../cluster/core/policies.ts";
import { loadPoliciesOption, policiesPath } from "./options.ts";

// One exit-status contract for `check` and `test`: 0 valid, 1 invalid, 2 unknown, 3 bad input.
import {
  exitBadInput,
  exitInvalid,
  exitUnknown,
  exitValid,
} from "../chaos/checkers/check-command.ts";
export { exitBadInput, exitInvalid, exitUnknown, exitValid };

export interface RunFlags {
  backend: string;
  seed?: string;
  time: string;
  nodes: string;
  n?: string;
  r?: string;
  w?: string;
  pw?: string;
  inFlightMax?: string;
  minAvailability?: string;
  sync: string;
  faults: string;
  interval: string;
  faultDuration?: string;
  schedule?: string;
  concurrency: string;
  rate: string;
  retry: string;
  keys: string;
  partitions: string;
  checkers?: string;
  name?: string;
  store: string;
  json?: boolean;
  policies?: string;
}

export function registerHarnessCommands(program: Command): void {
  addRunFlags(
    program
      .command("sim")
      .description(
        "run a workload in the deterministic simulator and summarise it (ops, messages, simulated and wall time)",
      )
      .option("--workload <name>", `the workload: ${workloadNames.join(", ")}`, "register"),
  ).action(async (flags: RunFlags & { workload: string }) => {
    process.exitCode = await runCommand(
      flags.workload,
      { ...flags, backend: "sim", checkers: flags.checkers ?? "" },
      "sim",
    );
  });
  addRunFlags(
    program
      .command("test")
      .description("run a checked test; exit 0 valid, 1 invalid, 2 unknown, 3 bad input")
      .argument("<workload>", `the workload: ${workloadNames.join(", ")}`)
      .addOption(
        new Option("--backend <backend>", "where the cluster runs")
          .choices(backendNames)
          .default("sim"),
      ),
  ).action(async (workload: string, flags: RunFlags) => {
    process.exitCode = await runCommand(workload, flags, "test");
  });
}

function addRunFlags(command: Command): Command {
  return command
    .option("--seed <n>", "the seed (default: a new random one, printed for replay)")
    .option("--time <duration>", "how long clients run (500ms, 30s, 2m)", "30s")
    .option("--nodes <n>", "cluster size", "5")
    .option("--n <n>", "replicas per key (N)")
    .option("--r <n>", "read quorum (R)")
    .option("--w <n>", "write quorum (W)")
    .option("--pw <n>", "primary write quorum (PW, strict quorum; default 0: sloppy)")
    .option(
      "--in-flight-max <n>",
      "client requests a node coordinates at once before it sheds load",
    )
    .option(
      "--min-availability <fraction>",
      "fail the run when fewer operations than this (0..1) complete ok",
    )
    .option("--sync <policy>", "fsync policy: always, interval, never", "always")
    .option("--faults <list>", `comma-separated faults: ${faultNames.join(", ")}`, "")
    .option("--interval <duration>", "one fault starts every interval", "10s")
    .option("--fault-duration <duration>", "how long each fault lasts (default half the interval)")
    .option(
      "--schedule <text>",
      'faults at fixed times: "5s..9s crash n3; 12s..20s partition n1,n2|n3,n4,n5"',
    )
    .option("--concurrency <n>", "client processes", "10")
    .option("--rate <n>", "operations per second per client", "10")
    .option("--retry <strategy>", `client retries: ${retryStrategies.join(", ")}`, "none")
    .option("--keys <n>", "keys of keyed workloads (register, session)", "3")
    .option("--partitions <n>", "ring partitions Q", "64")
    .option(
      "--checkers <list>",
      `comma-separated checkers: ${checkerNames.join(", ")} (default: the workload's)`,
    )
    .option("--name <name>", "the test's folder under store/ (default: the workload)")
    .option("--store <dir>", "where runs are written", "store")
    .option("--json", "print the summary as JSON")
    .option("--policies <file>", "a module of replacement policies (a lab's solution) to run")
    .exitOverride((error: CommanderError) => {
      // Help and version exit 0; every usage error (already printed by commander) exits 3.
      process.exit(error.exitCode === 0 ? 0 : exitBadInput);
    });
}

/** Runs, stores, prints; returns the exit status. Bad input is one line on stderr, status 3. */
async function runCommand(
  workload: string,
  flags: RunFlags,
  kind: "sim" | "test",
): Promise<number> {
  let input: RunOptionsInput;
  let policies: Policies | undefined;
  try {
    input = runOptionsFromFlags(workload, flags);
    // Loaded here for a simulated run; local nodes load the same file from its path.
    if (input.policies !== undefined)
      policies = (await loadPoliciesOption(input.policies, exitBadInput)).policies;
  } catch (error) {
    return badInput(error);
  }
  const progress = createProgressLine(`${kind} ${workload}`);
  let result: RunResult;
  try {
    result = await runTest(input, {
      onProgress: (snapshot) => progress.update(snapshot),
      pause: () => new Promise((resolve) => setImmediate(resolve)),
      policies,
    });
  } catch (error) {
    progress.stop();
    if (error instanceof RunOptionsError || error instanceof RangeError) return badInput(error);
    throw error;
  } finally {
    progress.stop();
  }
  const folder = writeRun(result, { root: flags.store });
  if (flags.json === true) console.log(JSON.stringify({ ...result.summary, folder }));
  else console.log(formatSummary(result, folder, kind));
  if (kind === "sim") return exitValid;
  const verdict = result.summary.verdict;
  return verdict === true ? exitValid : verdict === false ? exitInvalid : exitUnknown;
}

function badInput(error: unknown): number {
  console.error(`neverstop: ${error instanceof Error ? error.message : String(error)}`);
  return exitBadInput;
}

function integerFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim()))
    throw new RunOptionsError(
      `Expected \`--${name}\` to be an integer, got ${JSON.stringify(text)}`,
    );
  return Number(text);
}

function fractionFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = /^(0|1|0?\.[0-9]{1,6}|1\.0{1,6})$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(value >= 0 && value <= 1))
    throw new RunOptionsError(
      `Expected \`--${name}\` to be a number from 0 to 1, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  return value;
}

function listFlag<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new RunOptionsError(
        `Expected \`--${name}\` to list some of ${allowed.join(", ")}, got ${JSON.stringify(item)}`,
      );
    }
  }
  return items as T[];
}

export function runOptionsFromFlags(workload: string, flags: RunFlags): RunOptionsInput {
  const policies =
    flags.policies === undefined ? undefined : policiesPath(flags.policies, exitBadInput);
  const rate = Number(flags.rate);
  if (!Number.isFinite(rate))
    throw new RunOptionsError(
      `Expected \`--rate\` to be a number, got ${JSON.stringify(flags.rate)}`,
    );
  const input: RunOptionsInput = {
    workload,
    backend: flags.backend as BackendName,
    seed: integerFlag("seed", flags.seed) ?? Math.floor(Math.random() * 2 ** 31),
    timeMs: parseDuration(flags.time, "--time"),
    cluster: {
      nodes: integerFlag("nodes", flags.nodes)!,
      n: integerFlag("n", flags.n),
      r: integerFlag("r", flags.r),
      w: integerFlag("w", flags.w),
      pw: integerFlag("pw", flags.pw),
      requestsInFlightMax: integerFlag("in-flight-max", flags.inFlightMax),
      sync: flags.sync as SyncPolicyName,
      partitionCount: integerFlag("partitions", flags.partitions)!,
    },
    client: {
      concurrency: integerFlag("concurrency", flags.concurrency)!,
      ratePerSecond: rate,
      retry: flags.retry as RetryStrategy,
      keyCount: integerFlag("keys", flags.keys)!,
    },
    nemesis: {
      faults: listFlag<FaultName>("faults", flags.faults, faultNames),
      intervalMs: parseDuration(flags.interval, "--interval"),
      durationMs:
        flags.faultDuration === undefined
          ? undefined
          : parseDuration(flags.faultDuration, "--fault-duration"),
      schedule:
        flags.schedule === undefined
          ? undefined
          : parseSchedule(flags.schedule, nodeIds(integerFlag("nodes", flags.nodes)!)),
    },
    checkers:
      flags.checkers === undefined
        ? undefined
        : listFlag<CheckerName>("checkers", flags.checkers, checkerNames),
    name: flags.name,
    minimumAvailability: fractionFlag("min-availability", flags.minAvailability),
    ...(policies === undefined ? {} : { policies }),
  };
  return input;
}

function verdictWord(valid: unknown): string {
  return valid === true ? "valid" : valid === false ? "INVALID" : "unknown";
}

export function formatSummary(result: RunResult, folder: string, kind: "sim" | "test"): string {
  const { summary, options } = result;
  const { cluster } = options;
  const wallSeconds = summary.wallMs / 1000;
  const simulatedSeconds = summary.simulatedMs / 1000;
  const lines = [
    `neverstop ${kind} ${options.workload}: seed ${options.seed}, ${cluster.nodes} nodes, N=${cluster.n} R=${cluster.r} W=${cluster.w}, sync ${cluster.sync}, faults ${options.nemesis.faults.join(",") || "none"}`,
    `  operations  ${summary.operationCount} invoked: ${summary.ok} ok, ${summary.fail} fail, ${summary.info} info`,
    `  faults      ${summary.faultCount} scheduled`,
    `  messages    ${summary.messages.sent} sent, ${summary.messages.delivered} delivered, ${summary.messages.dropped} dropped, ${summary.messages.refused} refused`,
    options.backend === "sim"
      ? `  time        ${simulatedSeconds.toFixed(1)} s simulated in ${wallSeconds.toFixed(2)} s wall (${(simulatedSeconds / Math.max(wallSeconds, 0.001)).toFixed(1)}x)`
      : `  time        ${wallSeconds.toFixed(1)} s`,
  ];
  const checkers = Object.entries(summary.checkers);
  if (checkers.length > 0) {
    lines.push(
      `  checkers    ${checkers.map(([name, valid]) => `${name} ${verdictWord(valid)}`).join(", ")}`,
    );
    for (const [name, result2] of Object.entries(result.results)) {
      if (result2.valid !== true && typeof result2.reason === "string")
        lines.push(`              ${name}: ${result2.reason}`);
    }
    lines.push(`  verdict     ${verdictWord(summary.verdict)}`);
  }
  lines.push(`  stored      ${folder}`);
  lines.push(`  replay      ${summary.replayCommand}`);
  return lines.join("\n");
}
