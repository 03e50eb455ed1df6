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
 * @module
 */
import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";

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
  /** The JSON text of `value` when it is plain JSON data, else `undefined` (then use {@link dumpsTyped}). */
  plainText(value: unknown): string | undefined {
    return isPlainJson(value) ? JSON.stringify(value) : undefined;
  }

  /** Parses JSON text as `loadsTyped("json", text)` would, synchronously when nothing needs reviving. */
  async parseText(text: string): Promise<unknown> {
    const parsed: unknown = JSON.parse(text);
    return needsRevival(parsed) ? await super.loadsTyped("json", text) : parsed;
  }

  /** Parses and revives JSON text the general way (`JsonPlusSerializer`'s), for text that {@link needsRevival}. */
  async revive(text: string): Promise<unknown> {
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
