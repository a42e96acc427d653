// The `neverstop` command line (every lesson starts here): cluster lifecycle (up, down, status),
// the history checker and the embedded Toxiproxy server. bin/neverstop.js loads this file
// through tsx. Usage errors exit with status 1 (commander's default); commands that define their
// own statuses (such as `check`: 0 valid, 1 invalid, 2 unknown, 3 bad input) set them.

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { CliError, registerClusterCommands } from "../cluster/runtime/real/commands.ts";

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
await registerOptional(
  "check",
  "../chaos/checkers/check-command.ts",
  "registerCheckCommand",
  "judge a recorded history",
);
await registerOptional(
  "toxiproxy",
  "../chaos/toxiproxy/command.ts",
  "registerToxiproxyCommand",
  "run the embedded Toxiproxy server",
);

/** Commands other parts of neverstop provide: registered when their module exists, otherwise a
 * placeholder that says so (the rest of the command line keeps working meanwhile). */
async function registerOptional(
  name: string,
  path: string,
  exportName: string,
  description: string,
): Promise<void> {
  const url = new URL(path, import.meta.url);
  let module: Record<string, unknown>;
  try {
    module = (await import(url.href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const missing =
      code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(path.slice(3));
    if (!missing) throw error;
    program
      .command(name)
      .description(`${description} (not available yet)`)
      .allowUnknownOption()
      .argument("[arguments...]")
      .action(() => {
        throw new CliError(`\`neverstop ${name}\` is not available yet in this version`);
      });
    return;
  }
  const register = module[exportName];
  if (typeof register !== "function") throw new Error(`${path} does not export ${exportName}`);
  (register as (program: Command) => void)(program);
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
