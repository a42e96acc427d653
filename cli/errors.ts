// The one way a command fails (every lesson's first contact with the tool): a CliError carries
// a message that is one line for the learner and the exit status the command's contract names
// (1 for most commands; `check` and `test` use 3 for bad input). cli/main.ts prints it as
// `neverstop: <message>` and exits with that status, never with a stack trace.

/** A failure the command reports as one line with this exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
