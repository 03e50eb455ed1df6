/**
 * The error the CLI (and the demo's runner and worker) report to a person at a terminal: a
 * message, what to do about it, and the process exit code. Anything else that escapes a command is
 * turned into one by {@link toCliError}.
 *
 * @module
 */
import { isFabricError } from "../src/index.js";

/** Exit codes, in one place. */
export const EXIT = {
  ok: 0,
  /** Something failed at run time (a service went away, a graph run failed). */
  failure: 1,
  /** The command line or the configuration is wrong (unknown flag, unknown node, missing export). */
  usage: 2,
  /** Kafka or Redis could not be reached. */
  unavailable: 3,
  /** Stopped by SIGINT. */
  interrupted: 130,
} as const;

/** What to tell someone whose Kafka or Redis does not answer. */
export const SERVICES_HINT = "start local Kafka and Redis with `npm run services:up` (see `npm run services:status`)";

/** An error for a person: `message`, then `hint` on its own line. */
export class CliError extends Error {
  /** What to do about it. */
  readonly hint: string | undefined;
  /** The process exit code to end with. */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.failure;
  }
}

/** True for a {@link CliError} (by name, so it also holds across module copies). */
export function isCliError(e: unknown): e is CliError {
  return e instanceof Error && e.name === "CliError" && typeof (e as Partial<CliError>).exitCode === "number";
}

/**
 * Any error as a {@link CliError}: fabric errors keep their hint (split off the message, where
 * `FabricError` appends it); `RangeError`s of option validation are usage errors.
 */
export function toCliError(e: unknown): CliError {
  if (isCliError(e)) return e;
  if (isFabricError(e)) {
    const suffix = e.hint === undefined ? "" : ` (${e.hint})`;
    const message = suffix && e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
    const unavailable = e.code === "FABRIC_UNAVAILABLE";
    const hint = unavailable ? `${SERVICES_HINT}${e.hint === undefined ? "" : `; ${e.hint}`}` : e.hint;
    return new CliError(`${e.name}: ${message}`, {
      ...(hint === undefined ? {} : { hint }),
      exitCode: unavailable ? EXIT.unavailable : e.code === "CONFIGURATION" || e.code === "UNKNOWN_NODE" ? EXIT.usage : EXIT.failure,
      cause: e,
    });
  }
  if (e instanceof RangeError) return new CliError(e.message, { exitCode: EXIT.usage, cause: e });
  if (e instanceof Error) return new CliError(`${e.name}: ${e.message}`, { cause: e });
  return new CliError(String(e));
}

/** The lines to print for `e` (message, then the hint indented). */
export function formatCliError(e: CliError): string {
  return `error: ${e.message}\n${e.hint === undefined ? "" : `  hint: ${e.hint}\n`}`;
}

/**
 * Runs a command's body and turns its outcome into the process exit code: its return value, or
 * the code of the {@link CliError} it threw (printed to stderr). `process.exitCode` is set rather
 * than `process.exit()` called, so that output still being written is not cut off.
 * `FABRIC_CLI_DEBUG=1` also prints the stack of the underlying error.
 */
export async function runMain(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (e) {
    const error = toCliError(e);
    process.stderr.write(formatCliError(error));
    if (process.env.FABRIC_CLI_DEBUG === "1" && error.cause instanceof Error) process.stderr.write(`${error.cause.stack ?? ""}\n`);
    process.exitCode = error.exitCode;
  }
  // A client library that leaves a socket or timer behind must not keep a finished command hanging;
  // unref'd, this timer itself keeps nothing alive.
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}

const EXIT_GRACE_MS = 1_000; // ms after a command finished before the process is ended regardless
