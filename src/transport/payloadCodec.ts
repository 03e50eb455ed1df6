/**
 * The payload serializer: LangGraph's own format (`JsonPlusSerializer`), so LangChain messages
 * (with tool calls), `Uint8Array`, `Set`, `Map`, `RegExp` and `undefined` round-trip exactly as
 * they do through a checkpointer, plus `Date`, which LangGraph's serializer turns into a string
 * (JSON calls `toJSON` before any replacer sees the value). A node's return value must come back
 * from a replica as the same value it would have been locally.
 *
 * @module
 */
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { isRevivalRefusedError, SerializationError } from "../errors.js";
import { FastJsonPlusSerializer, needsRevival, type FastJsonPlusSerializerOptions } from "../serde/FastJsonPlusSerializer.js";

const decoder = new TextDecoder();

/** Record written for a `Date`; the same shape as LangGraph's own constructor records. */
interface DateRecord {
  lc: 2;
  type: "constructor";
  id: ["Date"];
  method: null;
  args: [string];
  kwargs: Record<string, never>;
}

function isDateRecord(value: unknown): value is DateRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Partial<DateRecord>;
  const id: unknown = r.id;
  const args: unknown = r.args;
  return (
    r.lc === 2 && r.type === "constructor" && Array.isArray(id) && id[0] === "Date" && Array.isArray(args) && typeof args[0] === "string"
  );
}

/**
 * LangGraph's serializer with `Date` support. Dates are replaced by constructor records before
 * the value reaches `JsonPlusSerializer` and revived after it; LangGraph's reviver leaves records
 * it does not know as plain objects, which is what makes this layering safe.
 */
export class FabricSerializer implements SerializerProtocol {
  private readonly inner: FastJsonPlusSerializer;

  /** @param options - `revivable`: LangChain classes revived beside the default allowlist (see `FastJsonPlusSerializer`). */
  constructor(options: FastJsonPlusSerializerOptions = {}) {
    this.inner = new FastJsonPlusSerializer(options);
  }

  async dumpsTyped(data: unknown): Promise<[string, Uint8Array]> {
    try {
      // Plain data (no Date among it) needs no tagging: straight to JSON.
      const text = data instanceof Uint8Array ? undefined : this.inner.plainText(data);
      if (text !== undefined) return ["json", Buffer.from(text)];
      return await this.inner.dumpsTyped(tagDates(data, new Set()));
    } catch (e) {
      throw new SerializationError(`cannot serialize the payload: ${(e as Error).message}`, {
        hint: "node inputs and outputs must be serializable like graph state (plain data, LangChain messages, Map, Set, Date, Uint8Array)",
        cause: e,
      });
    }
  }

  async loadsTyped(type: string, data: Uint8Array | string): Promise<unknown> {
    try {
      if (type !== "json") return reviveDates(await this.inner.loadsTyped(type, data));
      const text = typeof data === "string" ? data : decoder.decode(data);
      // Parsed JSON without records (Date records included) is the result as it stands.
      const parsed: unknown = JSON.parse(text);
      return needsRevival(parsed) ? reviveDates(await this.inner.revive(text, parsed)) : parsed;
    } catch (e) {
      if (isRevivalRefusedError(e)) throw e;
      throw new SerializationError(`cannot parse the payload (${type}): ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * Copies plain containers on the way down and swaps each Date for a record. Class instances other
 * than the containers LangGraph serializes (LangChain messages, Commands…) are left alone: they
 * serialize themselves.
 */
function tagDates(value: unknown, seen: Set<object>): unknown {
  if (value instanceof Date) {
    return { lc: 2, type: "constructor", id: ["Date"], method: null, args: [value.toISOString()], kwargs: {} } satisfies DateRecord;
  }
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return value; // a cycle: let the serializer report or handle it
  if (Array.isArray(value)) {
    seen.add(value);
    const out = value.map((v) => tagDates(v, seen));
    seen.delete(value);
    return out;
  }
  if (value instanceof Map) {
    seen.add(value);
    const out = new Map([...value].map(([k, v]) => [tagDates(k, seen), tagDates(v, seen)]));
    seen.delete(value);
    return out;
  }
  if (value instanceof Set) {
    seen.add(value);
    const out = new Set([...value].map((v) => tagDates(v, seen)));
    seen.delete(value);
    return out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, k, tagDates(v, seen));
  seen.delete(value);
  return out;
}

function reviveDates(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (isDateRecord(value)) return new Date(value.args[0]);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) value[i] = reviveDates(value[i]);
    return value;
  }
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => [reviveDates(k), reviveDates(v)] as const);
    value.clear();
    for (const [k, v] of entries) value.set(k, v);
    return value;
  }
  if (value instanceof Set) {
    const items = [...value].map(reviveDates);
    value.clear();
    for (const v of items) value.add(v);
    return value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) {
    const item = record[k];
    const revived = reviveDates(item);
    if (revived !== item) setOwn(record, k, revived); // only Date records change
  }
  return record;
}

/** Sets an own property, so a `__proto__` key stays data instead of changing the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key !== "__proto__") {
    target[key] = value; // defineProperty costs far more, and only this key needs it
    return;
  }
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
