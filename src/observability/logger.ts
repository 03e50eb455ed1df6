/**
 * Logging seam. Every component takes an optional {@link Logger}; the default writes structured
 * lines to stderr at `warn` and above (set `FABRIC_LOG_LEVEL=debug|info|warn|error|silent`).
 *
 * @module
 */

/** Severity of a log line, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** What langgraph-fabric logs through. Compatible with most structured loggers (pino, winston…). */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Options of {@link createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Lowest level written. Default: `FABRIC_LOG_LEVEL`, else `"warn"`. */
  level?: LogLevel | "silent";
  /** Component name put in front of each line. Default `"fabric"`. */
  name?: string;
}

/** A logger writing `[name] level message {fields}` lines to stderr. */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const envLevel = process.env.FABRIC_LOG_LEVEL as LogLevel | "silent" | undefined;
  const level = options.level ?? (envLevel && envLevel in ORDER ? envLevel : "warn");
  if (!(level in ORDER)) throw new RangeError(`level must be one of debug, info, warn, error, silent (got ${level})`);
  const name = options.name ?? "fabric";
  const write = (l: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[l] < ORDER[level]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : "";
    process.stderr.write(`[${name}] ${l} ${message}${extra}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

function noop(): void {
  // intentionally empty
}

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v));
  } catch {
    return "[unserializable fields]";
  }
}
