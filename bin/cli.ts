// The `neverstop` command line (every lesson starts here): cluster lifecycle (up, down, status),
// faults against a running cluster (partition, heal, kill, restart, pause, resume, latency,
// bandwidth, flaky, skew, reset), membership (join, leave), checked and simulated runs, the
// history checker, the embedded Toxiproxy server and the Docker helpers. bin/neverstop.js loads
// this file through tsx. Usage errors exit with status 1 (commander's default); commands that
// define their own statuses (such as `check`: 0 valid, 1 invalid, 2 unknown, 3 bad input) set
// them.

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerCheckCommand } from "../chaos/checkers/check-command.ts";
import { registerToxiproxyCommand } from "../chaos/toxiproxy/command.ts";
import { CliError, registerClusterCommands } from "../cluster/runtime/real/commands.ts";
import { registerLabCommand } from "../labs/kit/command.ts";

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
registerLabCommand(program);
await registerOptional(
  ["sim", "test"],
  "../chaos/harness/commands.ts",
  "registerHarnessCommands",
  "simulated and checked runs",
);
await registerOptional(
  [
    "partition",
    "heal",
    "kill",
    "restart",
    "pause",
    "resume",
    "latency",
    "bandwidth",
    "flaky",
    "skew",
    "reset",
  ],
  "../chaos/nemesis/commands.ts",
  "registerNemesisCommands",
  "faults against a running cluster",
);
await registerOptional(
  ["join", "leave"],
  "../cluster/runtime/real/membership-commands.ts",
  "registerMembershipCommands",
  "scaling out and in",
);
await registerOptional(
  ["docker-base", "docker-image"],
  "../chaos/nemesis/docker/docker-base.ts",
  "registerDockerCommands",
  "Docker images for workshops",
);

/** Commands whose module may fail to load on some machines (or while it is being written): a
 * failure there must not take `up`, `down` and `status` with it. Each of its commands becomes a
 * placeholder that says, in one line, why it is unavailable. */
async function registerOptional(
  names: string[],
  path: string,
  exportName: string,
  description: string,
): Promise<void> {
  let reason: string;
  try {
    const module = (await import(new URL(path, import.meta.url).href)) as Record<string, unknown>;
    const register = module[exportName];
    if (typeof register === "function") {
      (register as (program: Command) => void)(program);
      return;
    }
    reason = `${path} does not export ${exportName}`;
  } catch (error) {
    reason = (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
  }
  for (const name of names) {
    program
      .command(name)
      .description(`${description} (not available: ${reason})`)
      .allowUnknownOption()
      .argument("[arguments...]")
      .action(() => {
        throw new CliError(`\`neverstop ${name}\` is not available: ${reason}`);
      });
  }
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`neverstop: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`neverstop: ${message.split("\n")[0]}\n`);
  process.exit(1);
}
