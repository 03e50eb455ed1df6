/**
 * `langgraph-fabric keygen [id]`: prints a new message-signing key in the `FABRIC_SIGNING_KEYS`
 * form (`id:base64`, 32 random bytes). To rotate, append it to every process's list, then (once
 * all run with it) drop the old key; see docs/security.md.
 *
 * @module
 */
import { generateSigningKey } from "../src/index.js";
import { CliError, EXIT } from "./cliError.js";

/** Runs `keygen`; returns the exit code. */
export function keygenCommand(argv: readonly string[]): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write("Usage: langgraph-fabric keygen [id]\n\nPrints a new signing key as id:base64 for FABRIC_SIGNING_KEYS.\n");
    return Promise.resolve(EXIT.ok);
  }
  if (argv.length > 1) throw new CliError("keygen takes at most one argument (the key id)", { exitCode: EXIT.usage });
  try {
    process.stdout.write(`${argv[0] === undefined ? generateSigningKey() : generateSigningKey(argv[0])}\n`);
  } catch (e) {
    throw new CliError((e as Error).message, { exitCode: EXIT.usage });
  }
  return Promise.resolve(EXIT.ok);
}
