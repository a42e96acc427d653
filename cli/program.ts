// Every `neverstop` command, in one list (every lesson starts here): cluster lifecycle (up,
// down, status), membership (join, leave), faults against a running cluster (partition, heal,
// kill, restart, pause, resume, latency, bandwidth, flaky, skew, reset), checked and simulated
// runs (test, sim), the history checker (check), the embedded Toxiproxy server alone
// (toxiproxy) and the Docker image builders (docker-base, docker-image).
//
// Each command lives in one module of this folder that exports `registerXCommands(program)`;
// the imports below are static, so a module that fails to load stops the command line with its
// own error instead of turning into a command that says it is unavailable.
//
// To add a command: write `cli/<name>-command.ts` exporting
// `export function register<Name>Command(program: Command): void`, then import it here and
// call it in createProgram(). A command fails by throwing CliError (cli/errors.ts): one line,
// the exit status its contract names.

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerCheckCommand } from "./check-command.ts";
import { registerClusterCommands } from "./cluster-commands.ts";
import { registerDockerCommands } from "./docker-commands.ts";
import { registerHarnessCommands } from "./harness-commands.ts";
import { registerMembershipCommands } from "./membership-commands.ts";
import { registerNemesisCommands } from "./nemesis-commands.ts";
import { registerToxiproxyCommand } from "./toxiproxy-command.ts";
import { registerLabCommand } from "../labs/kit/command.ts";

/** The `neverstop` program with every command registered, ready for parseAsync(). */
export function createProgram(): Command {
  const packageJson = JSON.parse(
    readFileSync(new URL("../package.json", import.meta.url), "utf8"),
  ) as { version: string };
  const program = new Command()
    .name("neverstop")
    .description(
      "A chaos-testing and distributed-systems teaching lab: a Dynamo-style cluster you can break on purpose.",
    )
    .version(packageJson.version)
    .showSuggestionAfterError()
    .showHelpAfterError("(run `neverstop --help` for usage)");
  registerClusterCommands(program);
  registerCheckCommand(program);
  registerToxiproxyCommand(program);
  registerHarnessCommands(program);
  registerNemesisCommands(program);
  registerMembershipCommands(program);
  registerDockerCommands(program);
  registerLabCommand(program);
  return program;
}
