/**
 * The state store: the one place where langgraph-fabric keeps shared, mutable coordination state
 * (agent state, shared data, locks, counters, work queues, notifications). Two implementations
 * pass the same conformance suite: {@link InMemoryStateStore} (embedded mode, tests) and
 * `RedisStateStore` (`langgraph-fabric/redis`).
 *
 * Values are JSON: they are stored as `JSON.stringify(value)` and read back with `JSON.parse`, in
 * every implementation, so what you read is what a different process would read. `Date`s come back
 * as ISO strings, `Map`/`Set` as `{}`, `undefined` properties disappear; `undefined` itself,
 * functions, symbols, `BigInt` and cycles are rejected with a `SerializationError`.
 *
 * @module
 */

/** Options of a write that may expire. */
export interface SetOptions {
  /**
   * Time to live in milliseconds (a positive integer). Absent: the value never expires, and a
   * previous expiry of the key is removed, as Redis `SET` does.
   */
  ttlMs?: number;
}

/** Options of a write that may expire and may announce itself. */
export interface WriteOptions extends SetOptions {
  /**
   * Publishes `message` (JSON) on each of `channels`, as {@link StateStore.publish} would, in the
   * same atomic step as the write and only when the write happens: subscribers never hear of a
   * write that did not happen, and the writer saves the round trips of separate `publish` calls
   * (Redis: the `PUBLISH`es run inside the write's script). Fire and forget, like `publish`.
   */
  notify?: { channels: readonly string[]; message: unknown };
}

/**
 * Key/value operations over JSON values. A {@link StateStore} is the root view; `namespace()`,
 * `agentState()` and `shared()` return views whose keys cannot collide with any other view's.
 * Every method is atomic on its own.
 *
 * @typeParam T - the type of the values kept in this view. It is not checked at run time: validate
 *   what you read (e.g. with zod) when other processes may write the same keys.
 */
export interface KeyValueStore<T = unknown> {
  /** The namespace segments of this view (`[]` for the store itself). */
  readonly path: readonly string[];

  /** The value of `key`, or `undefined` when it is absent or expired. */
  get(key: string): Promise<T | undefined>;
  /** The values of `keys`, in the same order, `undefined` for the absent ones. Not a snapshot. */
  getMany(keys: readonly string[]): Promise<(T | undefined)[]>;
  /** Writes `value` unconditionally. */
  set(key: string, value: T, options?: WriteOptions): Promise<void>;
  /** Writes `value` only if `key` is absent; true if this call wrote it. Of many concurrent callers exactly one wins. */
  setIfAbsent(key: string, value: T, options?: WriteOptions): Promise<boolean>;
  /**
   * Writes `value` only if the current value equals `expected` (compared by their JSON text, so
   * pass back what you read) or, for `expected === undefined`, only if `key` is absent. True if
   * this call wrote. Renewing a lease is `compareAndSet(key, current, current, { ttlMs })`.
   */
  compareAndSet(key: string, expected: T | undefined, value: T, options?: WriteOptions): Promise<boolean>;
  /** Deletes `key` only if its value equals `expected` (JSON text); true if this call deleted it. */
  compareAndDelete(key: string, expected: T): Promise<boolean>;
  /** Deletes `key`; true if it existed. Leaves the key's fencing record (see {@link fencedSet}) in place. */
  delete(key: string): Promise<boolean>;
  /**
   * Adds `by` (a safe integer, default 1, may be negative) to the integer at `key`, starting from 0,
   * and returns the new value. `options.ttlMs` applies only when this call creates the counter, so a
   * counter with a TTL is a fixed window. Throws `StateStoreError` if the value is not an integer.
   */
  incr(key: string, by?: number, options?: SetOptions): Promise<number>;
  /**
   * Writes `value` if `token` (a lock's fencing token, see {@link StateStore.acquireLock}) is at
   * least the highest token already accepted for `key`, and records `token` as that highest token.
   * The record outlives the value (deleting or expiring the value does not reset it), so a writer
   * that lost its lock can never overwrite a newer owner's write.
   *
   * @throws StaleFencingTokenError when a newer token was already accepted for `key`.
   */
  fencedSet(key: string, value: T, token: number, options?: SetOptions): Promise<void>;
  /** A view whose keys live under this view's path plus `segments` (any strings; nothing is escaped by the caller). */
  namespace<U = T>(...segments: string[]): KeyValueStore<U>;
}

/** Options of {@link StateStore.acquireLock}. */
export interface LockOptions {
  /** How long the lock is held unless extended or released, in milliseconds (a positive integer). */
  ttlMs: number;
  /** Who holds it; default: a random UUID. Acquiring again with the same owner renews the lock. */
  owner?: string;
}

/** A held lock. Pass it to `releaseLock`/`extendLock`; pass `token` to `fencedSet`. */
export interface Lock {
  /** The lock's name. */
  readonly name: string;
  /** Its holder. */
  readonly owner: string;
  /** Fencing token: strictly greater than the token of every earlier acquisition of this lock name. */
  readonly token: number;
}

/** Options of {@link StateQueue.push}. */
export interface PushOptions {
  /** The item's id; default: a random UUID. Pushing an id that is still in the queue does nothing. */
  id?: string;
}

/** Options of {@link StateQueue.claim}. */
export interface ClaimOptions {
  /** How long the claimer has to `ack` the item before it becomes claimable again, in milliseconds (a positive integer). */
  leaseMs: number;
}

/** An item handed to one consumer by {@link StateQueue.claim}. */
export interface ClaimedItem<T = unknown> {
  /** The item's id (stable across redeliveries). */
  readonly id: string;
  /** The pushed payload (a JSON copy). */
  readonly payload: T;
  /** How many times the item has been claimed, this claim included (1 on first delivery). */
  readonly attempts: number;
  /** When the lease ends, in epoch milliseconds of the store's clock (Redis: the server's clock). */
  readonly leaseExpiresAt: number;
  /** Identifies this claim: `ack`, `release` and `extendLease` succeed only for the latest claim of the item. */
  readonly receipt: string;
}

/** What `ack`, `release` and `extendLease` need from a {@link ClaimedItem}. */
export type QueueReceipt = Pick<ClaimedItem, "id" | "receipt">;

/** Item counts of a queue. */
export interface QueueStats {
  /** Items waiting to be claimed. */
  ready: number;
  /** Items claimed and not yet acknowledged (including expired leases not yet requeued). */
  leased: number;
}

/**
 * A reliable work queue: at-least-once delivery, nothing lost when a consumer dies. An item leaves
 * the queue only through `ack`. A claimed item whose lease ends without `ack` goes back to the head
 * of the queue (expired leases are requeued by every `claim`, so no sweeper is needed) and its next
 * claim has `attempts + 1`. A lease counts as lost only once the item is requeued: until then a late
 * `ack` still succeeds. Claiming does not block: poll, or `subscribe` to a channel the producer
 * publishes to.
 */
export interface StateQueue<T = unknown> {
  /** The queue's name. */
  readonly name: string;
  /** Appends an item; returns its id. */
  push(payload: T, options?: PushOptions): Promise<string>;
  /** Takes the oldest ready item (requeueing expired leases first) under a lease, or `undefined` when none is ready. */
  claim(options: ClaimOptions): Promise<ClaimedItem<T> | undefined>;
  /** Removes a claimed item for good; false if this claim no longer holds it (requeued, reclaimed or already acked). */
  ack(item: QueueReceipt): Promise<boolean>;
  /** Gives a claimed item back (to the tail) without waiting for its lease to end; false if this claim no longer holds it. */
  release(item: QueueReceipt): Promise<boolean>;
  /** Sets the lease of a claimed item to end `leaseMs` from now; the new `leaseExpiresAt`, or `undefined` if this claim no longer holds it. */
  extendLease(item: QueueReceipt, leaseMs: number): Promise<number | undefined>;
  /** Moves every item whose lease has ended back to the head of the queue; returns how many. */
  requeueExpired(): Promise<number>;
  /** Current counts. */
  stats(): Promise<QueueStats>;
}

/** Receives messages published to a channel (a JSON copy of each). Errors it throws are reported, not propagated. */
export type MessageHandler = (message: unknown, channel: string) => void | Promise<void>;

/** Stops a subscription. Calling it again does nothing. */
export type Unsubscribe = () => Promise<void>;

/** Options shared by every {@link StateStore} implementation. */
export interface StateStoreOptions {
  /**
   * Prefix of every key and channel, so that several applications (or test runs) can share one
   * backend. Must be non-empty and contain no `{` or `}`. Default: `"fabric"`.
   */
  keyPrefix?: string;
  /**
   * Most expired leases moved back to a queue's ready list by one `claim` (a count, positive
   * integer), which bounds the time one claim takes; `requeueExpired()` repeats until all are moved.
   * Default: 100.
   */
  requeueBatchSize?: number;
  /** Called when a subscription handler throws or rejects, or a message cannot be parsed. Default: `console.error`. */
  onSubscriberError?: (error: unknown, channel: string) => void;
}

/**
 * The state store. Its own key/value methods address the root namespace; {@link agentState} and
 * {@link shared} are the standard namespaces. Two stores with the same backend and `keyPrefix`
 * see the same data, locks, queues and channels (as two processes would); stores with different
 * prefixes see nothing of each other.
 */
export interface StateStore extends KeyValueStore {
  /** Private state of one agent: the same view as `namespace("agent", agentId)`. */
  agentState<T = unknown>(agentId: string): KeyValueStore<T>;
  /** Data shared by all agents: the same view as `namespace("shared")`. */
  shared<T = unknown>(): KeyValueStore<T>;

  /**
   * Takes the lock `name` for `options.ttlMs`, or returns `undefined` when another owner holds it.
   * Each successful acquisition by a new owner gets a fencing token greater than every earlier one
   * for that name; re-acquiring by the current owner renews the TTL and keeps the token.
   */
  acquireLock(name: string, options: LockOptions): Promise<Lock | undefined>;
  /** Releases a lock. @throws LockNotHeldError when `lock.owner` does not hold it (expired, or taken over). */
  releaseLock(lock: Pick<Lock, "name" | "owner">): Promise<void>;
  /** Resets a held lock's TTL to `ttlMs` from now. @throws LockNotHeldError when `lock.owner` does not hold it. */
  extendLock(lock: Pick<Lock, "name" | "owner">, ttlMs: number): Promise<void>;

  /** The reliable queue `name` (created on first push; cheap to call). */
  queue<T = unknown>(name: string): StateQueue<T>;

  /** Sends `message` (JSON) to the current subscribers of `channel`, in every store on the same backend and prefix. Fire and forget: no delivery guarantee. */
  publish(channel: string, message: unknown): Promise<void>;
  /** Calls `handler` for every message published to `channel` after the returned promise resolves. */
  subscribe(channel: string, handler: MessageHandler): Promise<Unsubscribe>;

  /** Ends subscriptions and releases connections the store owns. Idempotent; later calls of other methods throw `StateStoreError`. */
  close(): Promise<void>;
}
