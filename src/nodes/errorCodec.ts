/**
 * Errors across the hop. A node's error must reach the caller with its class name, message and
 * the fields LangGraph's retry policy looks at (`status`, `code`, `response.status`,
 * `error.code`, `lc_error_code`), so that `retryPolicy` and the user's `catch` behave as if the
 * node had run locally.
 *
 * @module
 */
import { ParentCommand, _markInvalidResume, isCommand, isInvalidResume, isParentCommand } from "@langchain/langgraph";
import { decodeOutput, encodeOutput } from "./wireFormat.js";

/** An error as it travels in a reply. */
export interface ErrorData {
  /** The error's `name` (normally its class name). */
  name: string;
  message: string;
  /** The remote stack, for logs. */
  stack?: string;
  /** Own enumerable fields that survive JSON (depth-limited), e.g. `status`, `code`, `lc_error_code`. */
  fields?: Record<string, unknown>;
  /** The error was a rejected resume value (LangGraph marks those so it does not retry them). */
  invalidResume?: boolean;
  /** The error's `cause`, encoded the same way (one level per hop, up to a small depth). */
  cause?: ErrorData;
  /**
   * A `ParentCommand`'s command (as `encodeOutput` writes it): a subgraph served as a node throws
   * one for `Command({ graph: Command.PARENT })`, and the caller's task must apply it as LangGraph does.
   */
  command?: unknown;
}

const MAX_DEPTH = 3;

/** Encodes any thrown value. */
export function encodeError(error: unknown, depth = 0): ErrorData {
  if (!(error instanceof Error)) {
    return { name: "Error", message: typeof error === "string" ? error : safeString(error) };
  }
  const data: ErrorData = { name: error.name || error.constructor.name || "Error", message: error.message };
  if (error.stack) data.stack = error.stack;
  const fields = jsonSafeFields(error);
  if (fields) data.fields = fields;
  if (isInvalidResume(error)) data.invalidResume = true;
  if (error.cause !== undefined && depth < MAX_DEPTH) data.cause = encodeError(error.cause, depth + 1);
  if (isParentCommand(error)) data.command = encodeOutput(error.command);
  return data;
}

const BUILTIN: Record<string, new (message: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Marks errors rebuilt from a reply, and says where they came from. */
export interface RemoteErrorOrigin {
  node: string;
  replica: string;
}

/**
 * Rebuilds an error on the caller: a built-in class when the name is one (`TypeError`…), else an
 * `Error` whose `name` is the original class name. Fields are copied back; `remote` says which
 * node and replica threw; the remote stack is appended to the local one.
 */
export function decodeError(data: ErrorData, origin?: RemoteErrorOrigin): Error {
  if (data.name === "ParentCommand" && data.command !== undefined) {
    const command = decodeOutput(data.command);
    if (isCommand(command)) return new ParentCommand(command);
  }
  const Ctor = BUILTIN[data.name] ?? Error;
  const error = new Ctor(data.message);
  if (error.name !== data.name)
    Object.defineProperty(error, "name", { value: data.name, writable: true, configurable: true, enumerable: false });
  if (data.fields) {
    for (const [k, v] of Object.entries(data.fields)) {
      if (k === "name" || k === "message" || k === "stack") continue;
      (error as unknown as Record<string, unknown>)[k] = v;
    }
  }
  if (data.cause) (error as Error & { cause?: unknown }).cause = decodeError(data.cause, origin);
  if (data.invalidResume) _markInvalidResume(error);
  if (origin) Object.defineProperty(error, "remote", { value: origin, enumerable: false, configurable: true });
  if (data.stack && error.stack)
    error.stack = `${error.stack}\n    --- remote (${origin ? `${origin.node} on ${origin.replica}` : "replica"}) ---\n${data.stack}`;
  return error;
}

function jsonSafeFields(error: Error): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const key of Object.keys(error)) {
    if (key === "cause" || key === "pregelTaskId") continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    const safe = toJsonSafe(value, 0);
    if (safe !== undefined) {
      out[key] = safe;
      any = true;
    }
  }
  return any ? out : undefined;
}

/** A JSON-safe copy of small plain data; functions, class instances and deep structures are dropped. */
function toJsonSafe(value: unknown, depth: number): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (depth >= 4 || typeof value !== "object") return undefined;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => toJsonSafe(v, depth + 1) ?? null);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, 50)) {
    const safe = toJsonSafe(v, depth + 1);
    if (safe !== undefined) out[k] = safe;
  }
  return out;
}

function safeString(value: unknown): string {
  try {
    const json = JSON.stringify(value) as unknown; // undefined for undefined, functions, symbols
    return typeof json === "string" ? json : String(value);
  } catch {
    return String(value);
  }
}

const NO_RETRY_STATUS = new Set([400, 401, 402, 403, 404, 405, 406, 407, 409]);

/**
 * Whether LangGraph's default retry policy would retry this error. Errors it would not retry (bad
 * input: 4xx statuses, `GraphValueError`, aborts, rejected resume values) say nothing about the
 * replica that ran the node, so they do not count against its breaker either.
 */
export function isRetryableErrorData(data: ErrorData): boolean {
  if (data.invalidResume) return false;
  if (data.message.startsWith("Cancel") || data.message.startsWith("AbortError") || data.name === "AbortError") return false;
  if (data.name === "GraphValueError") return false;
  // Control flow, not failure: a subgraph node routing its parent (Command.PARENT).
  if (data.name === "ParentCommand" && data.command !== undefined) return false;
  const f = data.fields ?? {};
  if (f.code === "ECONNABORTED") return false;
  const response = f.response as { status?: unknown } | undefined;
  const status = Number(response?.status ?? f.status);
  if (NO_RETRY_STATUS.has(status)) return false;
  const inner = f.error as { code?: unknown } | undefined;
  if (inner?.code === "insufficient_quota") return false;
  return true;
}
