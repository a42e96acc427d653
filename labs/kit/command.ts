// `neverstop lab` (every lab): lists the labs with the learner's progress, or grades one.
//
//   npx neverstop lab                         the labs, and which ones you passed
//   npx neverstop lab 03                      grade labs/03-*/starter/<file> (the file you edit)
//   npx neverstop lab 03 --solution           grade the reference solution
//   npx neverstop lab 03 --file my-cart.ts    grade any file
//   npx neverstop lab 03 --backend local      cluster checks on real processes
//   npx neverstop lab 03 --seed 7 --only 03b  one check, another seed
//
// Exit status: 0 every check passed, 1 a check failed, 3 bad input (no such lab, a missing
// file, a file that does not compile or lacks an export, a bad option), each with one line.

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { backendNames as harnessBackends } from "../../chaos/harness/run-options.ts";
import { formatVerdict, gradeLab, seedDefault, type LabVerdict } from "./grade.ts";
import { backendNames, LabInputError, type Backend, type Lab } from "./lab.ts";
import { displayPath, loadLearnerModule, type ModuleImporter } from "./load.node.ts";
import { createProgressDisplay } from "./progress.node.ts";
import { findLab } from "./registry.ts";
import { nodeLabs } from "./registry.node.ts";
import { clusterRunner } from "./run.node.ts";
import { readProgress, recordProgress, writeCheckFailure } from "./store.node.ts";

export const exitPass = 0;
export const exitFail = 1;
export const exitBadInput = 3;

/** The folder holding every lab (labs/), next to this kit. */
export const labsRoot = fileURLToPath(new URL("..", import.meta.url));

interface LabFlags {
  solution?: boolean;
  file?: string;
  backend: string;
  seed?: string;
  only?: string;
  store: string;
  progressDir: string;
}

export function registerLabCommand(program: Command): void {
  program
    .command("lab")
    .description("list the labs and your progress, or grade one: exit 0 pass, 1 fail, 3 bad input")
    .argument("[lab]", "the lab to grade: 00 to 11, or its folder name")
    .option("--solution", "grade the reference solution instead of your starter file")
    .option("--file <path>", "grade this file instead of your starter file")
    .option("--backend <backend>", `where cluster checks run: ${backendNames.join(", ")}`, "sim")
    .option("--seed <seed>", "the seed of every simulated run and drawn fault")
    .option("--only <ids>", "run only these checks, comma-separated (03b,03c)")
    .option("--store <dir>", "where failing checks' runs and reports go", "store")
    .option("--progress-dir <dir>", "where labs.json keeps your progress", ".neverstop")
    .action(async (name: string | undefined, flags: LabFlags) => {
      try {
        process.exitCode =
          name === undefined ? listLabs(flags.progressDir) : await gradeCommand(name, flags);
      } catch (error) {
        if (!(error instanceof LabInputError)) throw error;
        process.stderr.write(`neverstop lab: ${error.message}\n`);
        process.exitCode = exitBadInput;
      }
    });
}

export function listLabs(progressDir: string, out: NodeJS.WritableStream = process.stdout): number {
  const progress = readProgress(progressDir);
  const rows = nodeLabs.map((lab) => {
    const entry = progress[lab.definition.id];
    const status =
      entry === undefined
        ? "not tried"
        : entry.passed
          ? "passed"
          : entry.everPassed
            ? "passed once, failing now"
            : "failing";
    const file = `labs/${lab.definition.slug}/starter/${lab.definition.learnerFile}`;
    return `${lab.definition.id}  ${lab.definition.title.padEnd(58)}  ${status.padEnd(24)}  ${file}`;
  });
  out.write(
    [
      `lab ${"title".padEnd(58)}  ${"status".padEnd(24)}  you write`,
      ...rows,
      "",
      "grade one: npx neverstop lab NN   (--solution for the reference, --file PATH for any file)",
      "",
    ].join("\n"),
  );
  return exitPass;
}

/** Which file to grade and how the replay command names it. */
export function learnerFileFor(
  lab: Lab,
  flags: Pick<LabFlags, "solution" | "file">,
): { file: string; fileArgument: string | undefined } {
  if (flags.solution === true && flags.file !== undefined)
    throw new LabInputError("give --solution or --file, not both");
  const folder = resolve(labsRoot, lab.definition.slug);
  if (flags.solution === true)
    return {
      file: resolve(folder, "solution", lab.definition.learnerFile),
      fileArgument: "--solution",
    };
  if (flags.file !== undefined)
    return { file: resolve(flags.file), fileArgument: `--file ${flags.file}` };
  return { file: resolve(folder, "starter", lab.definition.learnerFile), fileArgument: undefined };
}

export function parseBackend(text: string): Backend {
  if (!(backendNames as readonly string[]).includes(text))
    throw new LabInputError(
      `Expected \`--backend\` to be one of ${backendNames.join(", ")}, got ${JSON.stringify(text)}`,
    );
  if (!(harnessBackends as readonly string[]).includes(text))
    throw new LabInputError(
      `--backend ${text}: chaos runs cannot use it yet (the harness runs ${harnessBackends.join(" and ")}); grade on one of those`,
    );
  return text as Backend;
}

export function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seed = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seed))
    throw new LabInputError(
      `Expected \`--seed\` to be a non-negative integer, got ${JSON.stringify(text)}`,
    );
  return seed;
}

async function gradeCommand(name: string, flags: LabFlags): Promise<number> {
  const lab = findLab(name, nodeLabs);
  if (lab === undefined) {
    const known = nodeLabs.map((candidate) => candidate.definition.id).join(", ");
    throw new LabInputError(`no lab ${JSON.stringify(name)}; the labs are ${known}`);
  }
  const backend = parseBackend(flags.backend);
  const seed = parseSeed(flags.seed);
  const only = flags.only?.split(",").map((id) => id.trim());
  for (const id of only ?? []) {
    if (!lab.checks.some((check) => check.id === id))
      throw new LabInputError(
        `lab ${lab.definition.id} has no check ${id}; it has ${lab.checks.map((check) => check.id).join(", ")}`,
      );
  }
  const { file, fileArgument } = learnerFileFor(lab, flags);
  const verdict = await gradeFile(lab, file, {
    backend,
    ...(seed === undefined ? {} : { seed }),
    ...(only === undefined ? {} : { only }),
    ...(fileArgument === undefined ? {} : { fileArgument }),
  });
  process.stdout.write(`${formatVerdict(verdict)}\n`);
  process.stdout.write(`${describeFailures(verdict, fileArgument, flags.store)}\n`);
  recordProgress(verdict, displayPath(file), flags.progressDir);
  return verdict.passed ? exitPass : exitFail;
}

/** Loads and grades one file with the live display (the CLI's path). */
export async function gradeFile(
  lab: Lab,
  file: string,
  options: {
    backend: Backend;
    seed?: number;
    only?: string[];
    fileArgument?: string;
    importer?: ModuleImporter;
  },
): Promise<LabVerdict> {
  const module = await loadLearnerModule(file, options.importer);
  const display = createProgressDisplay();
  try {
    return await gradeLab(lab, module, {
      backend: options.backend,
      seed: options.seed ?? lab.definition.seed ?? seedDefault,
      processChecks: true,
      learnerFile: file,
      runCluster: clusterRunner(options.backend),
      ...(options.only === undefined ? {} : { only: options.only }),
      ...(options.fileArgument === undefined ? {} : { fileArgument: options.fileArgument }),
      ...display,
    });
  } finally {
    display.stop();
  }
}

/** The end of the verdict: for each failure, its report and the command that replays it. */
export function describeFailures(
  verdict: LabVerdict,
  fileArgument: string | undefined,
  storeRoot: string,
): string {
  const failures = verdict.checks.filter((check) => !check.skipped && !check.ok);
  if (failures.length === 0) {
    return `lab ${verdict.lab}: every check passed (seed ${verdict.seed}, ${verdict.backend})`;
  }
  const lines = [`lab ${verdict.lab}: ${failures.length} check(s) failed`];
  for (const check of failures) {
    const folder = writeCheckFailure(verdict, check, fileArgument, storeRoot);
    lines.push(`  ${check.id} ${check.title}`);
    lines.push(`     report: ${displayPath(resolve(folder, "report.html"))}`);
    lines.push(`     replay: ${verdict.replayCommand} --only ${check.id}`);
  }
  return lines.join("\n");
}
