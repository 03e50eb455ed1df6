/**
 * LangGraph's `JsonPlusSerializer` with a fast path for plain JSON data.
 *
 * `JsonPlusSerializer` writes through `fast-safe-stringify` with a replacer (a cycle walk, then a
 * callback per value) and reads through an async reviver that awaits every value of the tree.
 * For state made of plain objects, arrays, strings, numbers, booleans and null — most checkpoint
 * records and most node payloads — neither does anything, yet together they cost more than the
 * rest of a checkpoint `put` or a remote node call. This class checks in one synchronous walk
 * whether a value is plain and then uses `JSON.stringify` / `JSON.parse` alone; anything else
 * (LangChain objects, `undefined`, `Map`, `Set`, `Uint8Array`, `Date`, `Send`, cycles, class
 * instances, `lc` records, `__proto__` keys) goes through `JsonPlusSerializer` unchanged.
 *
 * The bytes are identical to `JsonPlusSerializer`'s for every value (a property test holds it to
 * that), so data written by either is read by either.
 *
 * Reading is restricted: `JsonPlusSerializer` hands every `lc: 1` constructor record to
 * LangChain's `load()`, which builds any class of `@langchain/core` from the data (LangChain says
 * never to `load()` untrusted input). Before anything is revived, this class walks the parsed data
 * and refuses ({@link RevivalRefusedError}) a record whose class is not on its allowlist
 * ({@link DEFAULT_REVIVABLE_CLASSES} plus the `revivable` option), and every `secret` or
 * `not_implemented` record. Network payloads and checkpoints read back from Redis both come
 * through here.
 *
 * @module
 */
import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import { RevivalRefusedError } from "../errors.js";

/**
 * The LangChain classes a graph state needs, revived by default: messages and their chunks (tool
 * calls travel inside AI messages as plain data) and documents, by their serialized id path.
 */
export const DEFAULT_REVIVABLE_CLASSES: readonly string[] = Object.freeze(
  [
    "AIMessage",
    "AIMessageChunk",
    "HumanMessage",
    "HumanMessageChunk",
    "SystemMessage",
    "SystemMessageChunk",
    "ToolMessage",
    "ToolMessageChunk",
    "FunctionMessage",
    "FunctionMessageChunk",
    "ChatMessage",
    "ChatMessageChunk",
    "RemoveMessage",
  ]
    .map((name) => `langchain_core/messages/${name}`)
    .concat(["langchain_core/documents/Document"]),
);

/** Options of {@link FastJsonPlusSerializer}. */
export interface FastJsonPlusSerializerOptions {
  /**
   * More classes to revive from `lc: 1` records, beside {@link DEFAULT_REVIVABLE_CLASSES}, as id
   * paths joined by `/` (e.g. `"langchain_core/prompts/PromptTemplate"`). Only add classes whose
   * constructor is harmless with attacker-chosen arguments. Default: none.
   */
  revivable?: readonly string[];
}

/** Deeper values go the general way: it also bounds the walk of a cyclic value. */
const MAX_DEPTH = 256;

/**
 * Whether `JSON.stringify(value)` gives exactly the text `JsonPlusSerializer` writes: true only
 * for trees of plain objects, arrays and JSON primitives, without `undefined` (which
 * `JsonPlusSerializer` records as `{ lc: 2, type: "undefined" }`), `toJSON` methods or objects
 * that its replacer rewrites (`Send`s, recognised by `lg_name`).
 */
export function isPlainJson(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return true;
    case "object":
      break;
    default:
      return false; // undefined, functions, symbols, bigints
  }
  if (value === null) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    // Indexed loop: a hole reads as undefined and sends the array the general way, as it must.
    for (let i = 0; i < value.length; i += 1) if (!isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const record = value as Record<string, unknown>;
  if (typeof record.toJSON === "function" || record.lg_name === "Send") return false;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) return false; // an enumerable inherited key: let the general path decide
    if (!isPlainJson(record[key], depth + 1)) return false;
  }
  return true;
}

/**
 * Whether parsed JSON holds something `JsonPlusSerializer`'s reviver would change: an object
 * with an `lc` key (its records and LangChain's), or an own `__proto__` key (which its reviver
 * assigns, setting the prototype). When false, the parsed value is already what it would return.
 */
export function needsRevival(value: unknown, depth = 0): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth >= MAX_DEPTH) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (needsRevival(item, depth + 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, "lc") || Object.hasOwn(record, "__proto__")) return true;
  for (const key in record) if (needsRevival(record[key], depth + 1)) return true;
  return false;
}

const decoder = new TextDecoder();

/**
 * A drop-in `JsonPlusSerializer`: same format, same results, a synchronous fast path for plain
 * JSON data. `RedisSaver` and the fabric's payload codec use it; pass it to any checkpointer.
 *
 * ```ts
 * const checkpointer = new PostgresSaver(pool, undefined, { serde: new FastJsonPlusSerializer() });
 * ```
 */
export class FastJsonPlusSerializer extends JsonPlusSerializer {
  private readonly revivable: ReadonlySet<string>;

  /** @throws RangeError when a `revivable` entry is not a `/`-joined id path. */
  constructor(options: FastJsonPlusSerializerOptions = {}) {
    super();
    for (const id of options.revivable ?? []) {
      if (typeof id !== "string" || !/^[A-Za-z0-9_]+(\/[A-Za-z0-9_]+)+$/.test(id))
        throw new RangeError(`revivable entries are id paths like "langchain_core/messages/AIMessage" (got ${JSON.stringify(id)})`);
    }
    this.revivable = new Set([...DEFAULT_REVIVABLE_CLASSES, ...(options.revivable ?? [])]);
  }

  /**
   * Throws {@link RevivalRefusedError} when parsed JSON holds an `lc: 1` record that LangChain's
   * `load()` would act on and that this serializer does not allow: a constructor of a class off
   * the allowlist, a secret (which `load()` resolves), or a `not_implemented` record.
   */
  assertRevivable(parsed: unknown): void {
    const stack: unknown[] = [parsed];
    while (stack.length > 0) {
      const value = stack.pop();
      if (typeof value !== "object" || value === null) continue;
      if (Array.isArray(value)) {
        for (const item of value) stack.push(item);
        continue;
      }
      const record = value as Record<string, unknown>;
      if (record.lc === 1) {
        const type = record.type;
        const id = record.id;
        const path = Array.isArray(id) && id.every((p) => typeof p === "string") ? id.join("/") : JSON.stringify(id);
        if (type === "secret" || type === "not_implemented") throw new RevivalRefusedError(`${type}:${path}`);
        if (type === "constructor" && !this.revivable.has(path)) throw new RevivalRefusedError(path);
      }
      for (const key in record) if (Object.hasOwn(record, key)) stack.push(record[key]);
    }
  }

  /** The JSON text of `value` when it is plain JSON data, else `undefined` (then use {@link dumpsTyped}). */
  plainText(value: unknown): string | undefined {
    return isPlainJson(value) ? JSON.stringify(value) : undefined;
  }

  /** Parses JSON text as `loadsTyped("json", text)` would, synchronously when nothing needs reviving. */
  async parseText(text: string): Promise<unknown> {
    const parsed: unknown = JSON.parse(text);
    if (!needsRevival(parsed)) return parsed;
    this.assertRevivable(parsed);
    return await super.loadsTyped("json", text);
  }

  /**
   * Parses and revives JSON text the general way (`JsonPlusSerializer`'s), for text that
   * {@link needsRevival}; `parsed` (the text already parsed) saves a parse for the allowlist check.
   */
  async revive(text: string, parsed: unknown = JSON.parse(text)): Promise<unknown> {
    this.assertRevivable(parsed);
    return await super.loadsTyped("json", text);
  }

  override async dumpsTyped(value: unknown): Promise<[string, Uint8Array]> {
    const text = value instanceof Uint8Array ? undefined : this.plainText(value);
    return text !== undefined ? ["json", Buffer.from(text)] : await super.dumpsTyped(value);
  }

  override async loadsTyped(type: string, data: Uint8Array | string): Promise<unknown> {
    if (type !== "json") return await super.loadsTyped(type, data);
    return await this.parseText(typeof data === "string" ? data : decoder.decode(data));
  }
}
