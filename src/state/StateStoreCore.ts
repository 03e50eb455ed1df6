/**
 * What every {@link StateStore} implementation shares: argument validation, JSON encoding, the key
 * layout, namespaces, queue handles, subscription error handling and the closed state. An
 * implementation supplies only {@link RawStateOps}: atomic operations on already-encoded strings
 * and full storage keys.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { LockNotHeldError, SerializationError, StaleFencingTokenError, StateStoreError } from "../errors.js";
import type {
  ClaimOptions,
  ClaimedItem,
  KeyValueStore,
  Lock,
  LockOptions,
  MessageHandler,
  PushOptions,
  QueueReceipt,
  QueueStats,
  SetOptions,
  StateQueue,
  StateStore,
  StateStoreOptions,
  Unsubscribe,
  WriteOptions,
} from "./StateStore.js";
import { StateKeys, validateStateKeyPrefix, type QueueKeys } from "./stateKeys.js";

/** A claim as a backend returns it; the receipt is `String(attempts)`. */
export interface RawClaim {
  id: string;
  payload: string;
  attempts: number;
  leaseExpiresAt: number;
}

/**
 * The atomic operations a backend implements (each one step, or one Lua script in Redis). Values
 * are JSON text; keys are full storage keys from {@link StateKeys}. TTLs are positive integers or
 * `undefined` for "no expiry". Not part of the public API: implement a store by extending
 * {@link StateStoreCore}.
 *
 * @internal
 */
export interface RawStateOps {
  get(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** True if written (always true unless `onlyIfAbsent`). With `notify`, publishes it in the same atomic step when written. */
  set(key: string, value: string, ttlMs: number | undefined, onlyIfAbsent: boolean, notify?: RawNotice): Promise<boolean>;
  /** True if written. With `notify`, publishes it in the same atomic step when written. */
  compareAndSet(key: string, expected: string | undefined, value: string, ttlMs: number | undefined, notify?: RawNotice): Promise<boolean>;
  compareAndDelete(key: string, expected: string): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  incr(key: string, by: number, ttlMs: number | undefined): Promise<number>;
  /** `undefined` when accepted, else the highest token already accepted. */
  fencedSet(key: string, fenceKey: string, value: string, token: number, ttlMs: number | undefined): Promise<number | undefined>;
  /** The fencing token, or `undefined` when another owner holds the lock. */
  acquireLock(key: string, sequenceKey: string, owner: string, ttlMs: number): Promise<number | undefined>;
  releaseLock(key: string, owner: string): Promise<boolean>;
  extendLock(key: string, owner: string, ttlMs: number): Promise<boolean>;
  pushQueueItem(queue: QueueKeys, id: string, payload: string): Promise<boolean>;
  claimQueueItem(queue: QueueKeys, leaseMs: number, requeueLimit: number): Promise<RawClaim | undefined>;
  ackQueueItem(queue: QueueKeys, id: string, receipt: string): Promise<boolean>;
  releaseQueueItem(queue: QueueKeys, id: string, receipt: string): Promise<boolean>;
  /** The new lease end, or `undefined` when the receipt no longer holds the item. */
  extendQueueLease(queue: QueueKeys, id: string, receipt: string, leaseMs: number): Promise<number | undefined>;
  /** Requeues at most `limit` expired leases; returns how many. */
  requeueExpired(queue: QueueKeys, limit: number): Promise<number>;
  queueStats(queue: QueueKeys): Promise<QueueStats>;
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; the returned function ends it. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A notice published with a write: full channel names (at least one) and JSON text. */
export interface RawNotice {
  channels: string[];
  message: string;
}

/** `JSON.stringify` typed as it behaves: `undefined` for `undefined`, functions and symbols. */
const stringify: (value: unknown) => string | undefined = JSON.stringify;

/** Encodes a value as JSON. @throws SerializationError when it has no JSON form. */
export function encodeJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = stringify(value);
  } catch (e) {
    throw new SerializationError(`${what} is not JSON-serializable: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      hint: "state-store values must be JSON: plain objects, arrays, strings, finite numbers, booleans or null",
    });
  }
  if (text === undefined) {
    throw new SerializationError(`${what} is not JSON-serializable (got ${typeof value})`, {
      hint: "store null instead of undefined, or delete the key",
    });
  }
  return text;
}

/** Parses JSON read from a backend. @throws SerializationError when it is not JSON. */
export function decodeJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SerializationError(`${what} holds text that is not JSON`, {
      cause: e,
      hint: "another program wrote this key; use a different keyPrefix",
    });
  }
}

/** @throws RangeError unless `value` is a positive safe integer. */
export function positiveInteger(field: string, value: unknown, unit = ""): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${field} must be a positive integer${unit ? ` (${unit})` : ""} (got ${String(value)})`);
  }
  return value;
}

function ttlOf(options: SetOptions | undefined): number | undefined {
  return options?.ttlMs === undefined ? undefined : positiveInteger("ttlMs", options.ttlMs, "milliseconds");
}

/** The raw notice of `options.notify`, validated and encoded; `undefined` when there is nothing to publish. */
function noticeOf(keys: StateKeys, options: WriteOptions | undefined): RawNotice | undefined {
  const notify: unknown = options?.notify;
  if (notify === undefined) return undefined;
  if (typeof notify !== "object" || notify === null || !Array.isArray((notify as { channels?: unknown }).channels))
    throw new TypeError(`notify must be { channels: string[], message } (got ${typeof notify})`);
  const { channels, message } = notify as { channels: unknown[]; message: unknown };
  const text = encodeJson(message, `message published to ${JSON.stringify(channels)}`);
  if (channels.length === 0) return undefined;
  return { channels: channels.map((c) => keys.channel(stringArg("notify.channels[]", c))), message: text };
}

function stringArg(field: string, value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`${field} must be a string (got ${typeof value})`);
  return value;
}

/** What namespace views and queue handles need from their store. */
interface StoreContext {
  readonly keys: StateKeys;
  readonly requeueBatchSize: number;
  /** The backend, or a `StateStoreError` naming `op` when the store is closed. */
  ops(op: string): RawStateOps;
}

/** A namespace view over a store's backend. */
class KeyValueScope<T> implements KeyValueStore<T> {
  constructor(
    private readonly ctx: StoreContext,
    readonly path: readonly string[],
  ) {}

  private key(key: string): string {
    return this.ctx.keys.value(this.path, stringArg("key", key));
  }

  private decode(text: string | undefined, key: string): T | undefined {
    return text === undefined ? undefined : (decodeJson(text, `key "${key}"`) as T);
  }

  async get(key: string): Promise<T | undefined> {
    const [text] = await this.ctx.ops("get").get([this.key(key)]);
    return this.decode(text, key);
  }

  async getMany(keys: readonly string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) return [];
    const texts = await this.ctx.ops("getMany").get(keys.map((k) => this.key(k)));
    return texts.map((text, i) => this.decode(text, keys[i] ?? ""));
  }

  async set(key: string, value: T, options?: WriteOptions): Promise<void> {
    const text = encodeJson(value, `value of "${key}"`);
    await this.ctx.ops("set").set(this.key(key), text, ttlOf(options), false, noticeOf(this.ctx.keys, options));
  }

  async setIfAbsent(key: string, value: T, options?: WriteOptions): Promise<boolean> {
    const text = encodeJson(value, `value of "${key}"`);
    return await this.ctx.ops("setIfAbsent").set(this.key(key), text, ttlOf(options), true, noticeOf(this.ctx.keys, options));
  }

  async compareAndSet(key: string, expected: T | undefined, value: T, options?: WriteOptions): Promise<boolean> {
    const expectedText = expected === undefined ? undefined : encodeJson(expected, `expected value of "${key}"`);
    const text = encodeJson(value, `value of "${key}"`);
    return await this.ctx
      .ops("compareAndSet")
      .compareAndSet(this.key(key), expectedText, text, ttlOf(options), noticeOf(this.ctx.keys, options));
  }

  async compareAndDelete(key: string, expected: T): Promise<boolean> {
    return await this.ctx.ops("compareAndDelete").compareAndDelete(this.key(key), encodeJson(expected, `expected value of "${key}"`));
  }

  async delete(key: string): Promise<boolean> {
    return await this.ctx.ops("delete").delete(this.key(key));
  }

  async incr(key: string, by = 1, options?: SetOptions): Promise<number> {
    if (typeof by !== "number" || !Number.isSafeInteger(by)) throw new RangeError(`by must be a safe integer (got ${String(by)})`);
    return await this.ctx.ops("incr").incr(this.key(key), by, ttlOf(options));
  }

  async fencedSet(key: string, value: T, token: number, options?: SetOptions): Promise<void> {
    positiveInteger("token", token);
    const text = encodeJson(value, `value of "${key}"`);
    const ttl = ttlOf(options);
    const current = await this.ctx.ops("fencedSet").fencedSet(this.key(key), this.ctx.keys.fence(this.path, key), text, token, ttl);
    if (current !== undefined) throw new StaleFencingTokenError(key, token, current);
  }

  namespace<U = T>(...segments: string[]): KeyValueStore<U> {
    return new KeyValueScope<U>(this.ctx, [...this.path, ...segments.map((s) => stringArg("namespace segment", s))]);
  }
}

/** A handle on one queue. */
class QueueHandle<T> implements StateQueue<T> {
  private readonly keys: QueueKeys;

  constructor(
    private readonly ctx: StoreContext,
    readonly name: string,
  ) {
    this.keys = ctx.keys.queue(name);
  }

  async push(payload: T, options?: PushOptions): Promise<string> {
    const id = options?.id === undefined ? randomUUID() : stringArg("id", options.id);
    await this.ctx.ops("queue.push").pushQueueItem(this.keys, id, encodeJson(payload, `payload pushed to queue "${this.name}"`));
    return id;
  }

  async claim(options: ClaimOptions): Promise<ClaimedItem<T> | undefined> {
    const leaseMs = positiveInteger("leaseMs", options.leaseMs, "milliseconds");
    const raw = await this.ctx.ops("queue.claim").claimQueueItem(this.keys, leaseMs, this.ctx.requeueBatchSize);
    if (raw === undefined) return undefined;
    return {
      id: raw.id,
      payload: decodeJson(raw.payload, `item "${raw.id}" of queue "${this.name}"`) as T,
      attempts: raw.attempts,
      leaseExpiresAt: raw.leaseExpiresAt,
      receipt: String(raw.attempts),
    };
  }

  async ack(item: QueueReceipt): Promise<boolean> {
    return await this.ctx.ops("queue.ack").ackQueueItem(this.keys, stringArg("id", item.id), stringArg("receipt", item.receipt));
  }

  async release(item: QueueReceipt): Promise<boolean> {
    return await this.ctx.ops("queue.release").releaseQueueItem(this.keys, stringArg("id", item.id), stringArg("receipt", item.receipt));
  }

  async extendLease(item: QueueReceipt, leaseMs: number): Promise<number | undefined> {
    positiveInteger("leaseMs", leaseMs, "milliseconds");
    return await this.ctx
      .ops("queue.extendLease")
      .extendQueueLease(this.keys, stringArg("id", item.id), stringArg("receipt", item.receipt), leaseMs);
  }

  async requeueExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const moved = await this.ctx.ops("queue.requeueExpired").requeueExpired(this.keys, this.ctx.requeueBatchSize);
      total += moved;
      if (moved < this.ctx.requeueBatchSize) return total;
    }
  }

  async stats(): Promise<QueueStats> {
    return await this.ctx.ops("queue.stats").queueStats(this.keys);
  }
}

/** Defaults of {@link StateStoreOptions}, in one place. */
export const STATE_STORE_DEFAULTS = {
  keyPrefix: "fabric",
  /** count of expired leases requeued per claim */
  requeueBatchSize: 100,
  onSubscriberError: (error: unknown, channel: string): void => {
    console.error(`[langgraph-fabric] state-store subscriber of channel "${channel}" failed:`, error);
  },
} as const satisfies Required<StateStoreOptions>;

/**
 * Base class of the state stores: everything but the backend. Subclasses pass their
 * {@link RawStateOps} and a name used in error messages (e.g. `"RedisStateStore"`).
 */
export class StateStoreCore implements StateStore {
  readonly path: readonly string[] = [];
  /** The key prefix in use. */
  readonly keyPrefix: string;
  private readonly ctx: StoreContext;
  private readonly rawOps: RawStateOps;
  private readonly root: KeyValueScope<unknown>;
  private readonly onSubscriberError: (error: unknown, channel: string) => void;
  private closing: Promise<void> | undefined;

  constructor(ops: RawStateOps, options: StateStoreOptions, storeName: string) {
    const merged = { ...STATE_STORE_DEFAULTS, ...options };
    this.keyPrefix = validateStateKeyPrefix("keyPrefix", merged.keyPrefix);
    const requeueBatchSize = positiveInteger("requeueBatchSize", merged.requeueBatchSize, "a count");
    if (typeof merged.onSubscriberError !== "function") {
      throw new RangeError(`onSubscriberError must be a function (got ${typeof merged.onSubscriberError})`);
    }
    this.onSubscriberError = merged.onSubscriberError;
    this.rawOps = ops;
    const keys = new StateKeys(this.keyPrefix);
    this.ctx = {
      keys,
      requeueBatchSize,
      ops: (op) => {
        if (this.closing) throw new StateStoreError(`${storeName}.${op} failed: the store is closed`, { hint: "create a new store" });
        return ops;
      },
    };
    this.root = new KeyValueScope(this.ctx, []);
  }

  async get(key: string): Promise<unknown> {
    return await this.root.get(key);
  }
  async getMany(keys: readonly string[]): Promise<unknown[]> {
    return await this.root.getMany(keys);
  }
  async set(key: string, value: unknown, options?: WriteOptions): Promise<void> {
    return await this.root.set(key, value, options);
  }
  async setIfAbsent(key: string, value: unknown, options?: WriteOptions): Promise<boolean> {
    return await this.root.setIfAbsent(key, value, options);
  }
  async compareAndSet(key: string, expected: unknown, value: unknown, options?: WriteOptions): Promise<boolean> {
    return await this.root.compareAndSet(key, expected, value, options);
  }
  async compareAndDelete(key: string, expected: unknown): Promise<boolean> {
    return await this.root.compareAndDelete(key, expected);
  }
  async delete(key: string): Promise<boolean> {
    return await this.root.delete(key);
  }
  async incr(key: string, by?: number, options?: SetOptions): Promise<number> {
    return await this.root.incr(key, by, options);
  }
  async fencedSet(key: string, value: unknown, token: number, options?: SetOptions): Promise<void> {
    return await this.root.fencedSet(key, value, token, options);
  }
  namespace<U = unknown>(...segments: string[]): KeyValueStore<U> {
    return this.root.namespace<U>(...segments);
  }
  agentState<T = unknown>(agentId: string): KeyValueStore<T> {
    return this.root.namespace<T>("agent", stringArg("agentId", agentId));
  }
  shared<T = unknown>(): KeyValueStore<T> {
    return this.root.namespace<T>("shared");
  }

  async acquireLock(name: string, options: LockOptions): Promise<Lock | undefined> {
    stringArg("name", name);
    const ttlMs = positiveInteger("ttlMs", options.ttlMs, "milliseconds");
    const owner = options.owner ?? randomUUID();
    if (typeof owner !== "string" || owner.length === 0)
      throw new RangeError(`owner must be a non-empty string (got ${JSON.stringify(owner)})`);
    const keys = this.ctx.keys;
    const token = await this.ctx.ops("acquireLock").acquireLock(keys.lock(name), keys.lockSequence(name), owner, ttlMs);
    return token === undefined ? undefined : { name, owner, token };
  }

  async releaseLock(lock: Pick<Lock, "name" | "owner">): Promise<void> {
    const released = await this.ctx
      .ops("releaseLock")
      .releaseLock(this.ctx.keys.lock(stringArg("name", lock.name)), stringArg("owner", lock.owner));
    if (!released) throw new LockNotHeldError(lock.name);
  }

  async extendLock(lock: Pick<Lock, "name" | "owner">, ttlMs: number): Promise<void> {
    positiveInteger("ttlMs", ttlMs, "milliseconds");
    const extended = await this.ctx
      .ops("extendLock")
      .extendLock(this.ctx.keys.lock(stringArg("name", lock.name)), stringArg("owner", lock.owner), ttlMs);
    if (!extended) throw new LockNotHeldError(lock.name);
  }

  queue<T = unknown>(name: string): StateQueue<T> {
    return new QueueHandle<T>(this.ctx, stringArg("name", name));
  }

  async publish(channel: string, message: unknown): Promise<void> {
    const text = encodeJson(message, `message published to "${channel}"`);
    await this.ctx.ops("publish").publish(this.ctx.keys.channel(stringArg("channel", channel)), text);
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<Unsubscribe> {
    stringArg("channel", channel);
    if (typeof handler !== "function") throw new TypeError(`handler must be a function (got ${typeof handler})`);
    const report = (error: unknown): void => {
      try {
        this.onSubscriberError(error, channel);
      } catch {
        // An error reporter that throws must not take the subscription down.
      }
    };
    const listener = (text: string): void => {
      let message: unknown;
      try {
        message = decodeJson(text, `message on channel "${channel}"`);
      } catch (e) {
        report(e);
        return;
      }
      try {
        Promise.resolve(handler(message, channel)).catch(report);
      } catch (e) {
        report(e);
      }
    };
    const stop = await this.ctx.ops("subscribe").subscribe(this.ctx.keys.channel(channel), listener);
    let stopped: Promise<void> | undefined;
    return () => (stopped ??= stop());
  }

  /** Closes the store; the backend's own `close` runs once. */
  close(): Promise<void> {
    return (this.closing ??= this.rawOps.close());
  }
}
