// The `neverstop` command line's entry (every lesson starts here): builds the program
// (cli/program.ts lists every command), runs it, and turns a failure into one line. bin/neverstop.js
// loads the compiled form of this file (dist/cli.js, built by `npm install`) or, without a build,
// this file through tsx. Usage errors exit with status 1 (commander's default); commands that
// define their own statuses (such as `check`: 0 valid, 1 invalid, 2 unknown, 3 bad input) set
// them.

import { CliError } from "./errors.ts";
import { createProgram } from "./program.ts";

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`neverstop: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`neverstop: ${message.split("\n")[0]}\n`);
  process.exit(1);
}
