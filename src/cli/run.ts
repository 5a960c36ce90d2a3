import { DeepenError, UsageError } from "../errors.js";

/** Runs a command body; a failure prints one line on stderr (the stack only with --verbose) and sets the exit code. */
export async function runCommand(verbose: boolean, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const known = err instanceof DeepenError;
    const line = known ? err.message : `unexpected ${err.name}: ${err.message}`;
    process.stderr.write(`deepen: ${line.replace(/\s*\n\s*/g, " ")}\n`);
    if (verbose) process.stderr.write(`${err.stack ?? ""}\n`);
    else if (!known) process.stderr.write("deepen: run again with --verbose for the stack trace\n");
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
