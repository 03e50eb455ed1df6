/**
 * One error hierarchy for the whole package. Every error thrown on purpose by langgraph-fabric is a
 * {@link FabricError} with a stable `code` and a `hint` that tells the user what to do about it.
 * Guards check `code`/`name` rather than `instanceof`, so they also work across the ESM and
 * CommonJS builds (two copies of the class) and for errors rebuilt from the wire.
 *
 * @module
 */

/** Options accepted by every {@link FabricError} constructor. */
export interface FabricErrorOptions {
  /** What the user should do about the error. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of every error langgraph-fabric throws on purpose. */
export class FabricError extends Error {
  /** Stable machine-readable code, e.g. `"LOCK_NOT_HELD"`. */
  readonly code: string;
  /** What to do about it; also appended to `message`. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: FabricErrorOptions = {}) {
    super(options.hint ? `${message} (${options.hint})` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

const FABRIC_ERROR_MARK = Symbol.for("langgraph-fabric.error");
Object.defineProperty(FabricError.prototype, FABRIC_ERROR_MARK, { value: true });

/** True for any error of this package's hierarchy (works across the ESM and CJS builds). */
export function isFabricError(e: unknown): e is FabricError {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[FABRIC_ERROR_MARK] === true;
}

/** Invalid options or environment configuration. Thrown at construction time. */
export class ConfigurationError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("CONFIGURATION", message, options);
  }
}
/** True if `e` is a {@link ConfigurationError}. */
export const isConfigurationError = (e: unknown): e is ConfigurationError => isFabricError(e) && e.code === "CONFIGURATION";

/** A state-store or checkpointer operation failed against its backend (Redis unreachable, script error…). */
export class StateStoreError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("STATE_STORE", message, options);
  }
}
/** True if `e` is a {@link StateStoreError}. */
export const isStateStoreError = (e: unknown): e is StateStoreError => isFabricError(e) && e.code === "STATE_STORE";

/** A lock operation was attempted by a caller that does not hold the lock (expired or taken over). */
export class LockNotHeldError extends FabricError {
  /** The lock's name. */
  readonly lock: string;
  constructor(lock: string, options?: FabricErrorOptions) {
    super("LOCK_NOT_HELD", `lock "${lock}" is not held by this owner`, {
      hint: "the lease expired or another owner took it over; acquire it again and re-read the protected state",
      ...options,
    });
    this.lock = lock;
  }
}
/** True if `e` is a {@link LockNotHeldError}. */
export const isLockNotHeldError = (e: unknown): e is LockNotHeldError => isFabricError(e) && e.code === "LOCK_NOT_HELD";

/** A fenced write carried a fencing token older than one already accepted for that key. */
export class StaleFencingTokenError extends FabricError {
  /** The key that was written. */
  readonly key: string;
  /** The token the write carried. */
  readonly token: number;
  /** The highest token already accepted for the key. */
  readonly currentToken: number;
  constructor(key: string, token: number, currentToken: number) {
    super("STALE_FENCING_TOKEN", `write to "${key}" with fencing token ${token} rejected: token ${currentToken} was already accepted`, {
      hint: "this writer lost its lock to a newer owner; stop writing and re-acquire the lock",
    });
    this.key = key;
    this.token = token;
    this.currentToken = currentToken;
  }
}
/** True if `e` is a {@link StaleFencingTokenError}. */
export const isStaleFencingTokenError = (e: unknown): e is StaleFencingTokenError => isFabricError(e) && e.code === "STALE_FENCING_TOKEN";

/** A value could not be serialized to, or parsed from, its stored or wire form. */
export class SerializationError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("SERIALIZATION", message, options);
  }
}
/** True if `e` is a {@link SerializationError}. */
export const isSerializationError = (e: unknown): e is SerializationError => isFabricError(e) && e.code === "SERIALIZATION";

/** An operation that is scoped to a LangGraph thread was called without `configurable.thread_id`. */
export class MissingThreadIdError extends FabricError {
  constructor(operation: string) {
    super("MISSING_THREAD_ID", `${operation} needs config.configurable.thread_id`, {
      hint: 'pass { configurable: { thread_id: "…" } } to invoke/stream so the run is persisted under a thread',
    });
  }
}
/** True if `e` is a {@link MissingThreadIdError}. */
export const isMissingThreadIdError = (e: unknown): e is MissingThreadIdError => isFabricError(e) && e.code === "MISSING_THREAD_ID";
