/**
 * Command-line flags on `node:util`'s `parseArgs` (strict: an unknown or malformed flag is an
 * error, not silently ignored), with its errors turned into {@link CliError}s that name the command
 * and point at its `--help`, and helpers for the values the commands take.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliError, EXIT } from "./cliError.js";

/** The options of `parseArgs` (string and boolean flags). */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/** The flags every connecting command takes. */
export const CONNECTION_FLAGS = {
  kafka: { type: "string" },
  redis: { type: "string" },
  prefix: { type: "string" },
  "kafka-ssl": { type: "boolean" },
  "kafka-ca": { type: "string" },
  "kafka-sasl-mechanism": { type: "string" },
  "kafka-sasl-username": { type: "string" },
  "kafka-sasl-password-file": { type: "string" },
  "redis-ca": { type: "string" },
} as const satisfies FlagSpec;

/** Help text of {@link CONNECTION_FLAGS}. */
export const CONNECTION_HELP = `Connection (flags win over the environment; neither means embedded):
  --kafka <host:port,…>   Kafka bootstrap brokers            (env KAFKA_BROKERS)
  --redis <url>           Redis URL, redis://host:6379       (env REDIS_URL)
  --prefix <name>         prefix of topics, groups and keys  (env FABRIC_PREFIX; default: the adapters')
Connection security (default: plaintext, no authentication; see docs/security.md):
  --kafka-ssl                          TLS to the brokers                  (env KAFKA_SSL=1)
  --kafka-ca <file>                    CA of the brokers' certificates     (env KAFKA_SSL_CA_FILE; implies TLS)
  --kafka-sasl-mechanism <m>           scram-sha-256|scram-sha-512|plain   (env KAFKA_SASL_MECHANISM)
  --kafka-sasl-username <user>         SASL user                           (env KAFKA_SASL_USERNAME)
  --kafka-sasl-password-file <file>    file holding its password           (env KAFKA_SASL_PASSWORD_FILE or KAFKA_SASL_PASSWORD)
  --redis-ca <file>                    CA of Redis's certificate           (env REDIS_TLS_CA_FILE; TLS: a rediss:// URL)
  Client certificates, user names and passwords of Redis: REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE, the URL
  (rediss://user:password@host:port) or REDIS_USERNAME, REDIS_PASSWORD(_FILE); of Kafka: KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE.

Message signing (distributed only): env FABRIC_SIGNING_KEYS=id:base64,… (\`langgraph-fabric keygen\`),
  or FABRIC_INSECURE=1 to run unsigned on a trusted network.`;

/**
 * Parses `argv` against `options`.
 *
 * @throws CliError (exit code 2) for an unknown flag, a missing value or a stray positional.
 */
export function parseFlags<O extends FlagSpec>(
  command: string,
  argv: readonly string[],
  options: O,
  positionals = 0,
): { values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>["values"]; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs explains how to pass a positional that starts with "-"; nobody here needs that.
    const message = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new CliError(`${command}: ${message}`, { hint: "run it with --help for its options", exitCode: EXIT.usage });
  }
  if (parsed.positionals.length > positionals) {
    throw new CliError(`${command}: unexpected argument "${parsed.positionals[positionals] ?? ""}"`, {
      hint: "run it with --help for its usage",
      exitCode: EXIT.usage,
    });
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/**
 * `value` as an integer in [min, max], or `fallback` when absent.
 *
 * @throws CliError (exit code 2) naming the flag and the value.
 */
export function intFlag(flag: string, value: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(
      `--${flag} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`} (got "${value}")`,
      {
        exitCode: EXIT.usage,
      },
    );
  }
  return n;
}

/** A comma-separated list, trimmed, without empty entries (`undefined` when absent). */
export function listFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
