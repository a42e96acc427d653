// `neverstop check FILE --model M` (every lesson that ends with "now check the history"): the
// command's flags. What it does (read the history, pick the checker by format and convention,
// print the verdict, exit 0 valid, 1 invalid, 2 unknown, 3 bad input) is runCheckCommand() in
// chaos/checkers/check-command.ts.

import type { Command } from "commander";
import {
  checkModelNames,
  checkTimeLimitMsDefault,
  conventionHelp,
  runCheckCommand,
  type CheckCommandOptions,
} from "../chaos/checkers/check-command.ts";

/** Adds `check <file> --model <m> [--json] [--time-limit <ms>] [--report <path>]`. */
export function registerCheckCommand(program: Command): void {
  program
    .command("check")
    .description("judge a recorded history (exit 0 valid, 1 invalid, 2 unknown, 3 bad input)")
    .argument(
      "<file>",
      "history: JSON Lines, Jepsen EDN or Jepsen log lines (told apart by content)",
    )
    .requiredOption("--model <model>", `the model: ${checkModelNames.join(", ")}`)
    .option("--json", "print one JSON object")
    .option(
      "--time-limit <ms>",
      "give up with `unknown` after this many milliseconds",
      String(checkTimeLimitMsDefault),
    )
    .option(
      "--report <path>",
      "where to write the counter-example drawing (default store/check/<timestamp>/)",
    )
    .addHelpText("after", conventionHelp)
    .action(
      async (
        file: string,
        flags: { model: string; json?: boolean; timeLimit: string; report?: string },
      ) => {
        const options: CheckCommandOptions = {
          model: flags.model,
          timeLimitMs: Number(flags.timeLimit),
        };
        if (flags.json === true) options.json = true;
        if (flags.report !== undefined) options.reportPath = flags.report;
        process.exit(await runCheckCommand(file, options));
      },
    );
}
