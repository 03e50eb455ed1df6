/**
 * Argument checks shared by the coordination APIs: each throws a `RangeError` naming the field and
 * the value it got, as every constructor and option in this package does.
 *
 * @module
 */
import type { Logger } from "../observability/logger.js";

/** A value as it appears in an error message: JSON where possible (cut at 80 characters), else its type. */
export function show(value: unknown): string {
  if (typeof value === "number" || value === undefined) return String(value);
  try {
    // JSON.stringify returns undefined for functions and symbols, whatever its declared type says.
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) return typeof value;
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}

/** `value` if it is a positive safe integer. @throws RangeError naming `field`. */
export function positiveInt(field: string, value: unknown, unit = ""): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${field} must be a positive integer${unit ? ` of ${unit}` : ""} (got ${show(value)})`);
  }
  return value;
}

/** `value` if it is a finite number in [min, max]. @throws RangeError naming `field`. */
export function finiteIn(field: string, value: unknown, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range =
      min === Number.NEGATIVE_INFINITY
        ? max === Number.POSITIVE_INFINITY
          ? ""
          : ` <= ${max}`
        : max === Number.POSITIVE_INFINITY
          ? ` >= ${min}`
          : ` in [${min}, ${max}]`;
    throw new RangeError(`${field} must be a finite number${range} (got ${show(value)})`);
  }
  return value;
}

/** `value` if it is a non-empty string (and not `"__proto__"`, which cannot key a JSON record safely). @throws RangeError naming `field`. */
export function nonEmpty(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value === "__proto__") {
    throw new RangeError(`${field} must be a non-empty string (got ${show(value)})`);
  }
  return value;
}

/** `value` if it is a function. @throws RangeError naming `field`. */
export function fn<T>(field: string, value: T): T {
  if (typeof value !== "function") throw new RangeError(`${field} must be a function (got ${typeof value})`);
  return value;
}

/** `options` without its `undefined` fields, so `{ ...DEFAULTS, ...definedOnly(options) }` keeps the defaults. */
export function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The message of an error, or the value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Timer functions; inject them (with a clock) to make time-dependent tests deterministic. */
export interface CoordinationTimers {
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: coordination timers alone never keep a process alive. */
export const realCoordinationTimers: CoordinationTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Checks an injected timers object. @throws RangeError naming `field`. */
export function timersOf(field: string, value: unknown): CoordinationTimers {
  const t = value as Partial<CoordinationTimers> | undefined;
  if (typeof t?.setTimeout !== "function" || typeof t.clearTimeout !== "function") {
    throw new RangeError(`${field} must have setTimeout and clearTimeout functions (got ${typeof value})`);
  }
  return t as CoordinationTimers;
}

/** Runs a listener, logging (never propagating) what it throws: a listener's failure must not break the caller. */
export function safely(logger: Logger, what: string, run: () => unknown): void {
  try {
    const result = run();
    if (result instanceof Promise) result.catch((e: unknown) => logger.error(`${what} failed`, { error: errorText(e) }));
  } catch (e) {
    logger.error(`${what} failed`, { error: errorText(e) });
  }
}
