/**
 * The embedded state store: everything in this process's memory, with an injectable clock.
 * Behaves like `RedisStateStore` (same key layout, JSON copies, same conformance suite); stores
 * that share one {@link InMemoryStateBackend} behave like processes sharing one Redis.
 *
 * @module
 */
import { StateStoreError } from "../errors.js";
import type { StateStoreOptions, QueueStats } from "./StateStore.js";
import { StateStoreCore, type RawClaim, type RawNotice, type RawStateOps } from "./StateStoreCore.js";
import type { QueueKeys } from "./stateKeys.js";

/** Options of {@link InMemoryStateBackend}. */
export interface InMemoryStateBackendOptions {
  /** The clock, in epoch milliseconds, for TTLs, lock expiry and leases. Default: `Date.now`. */
  now?: () => number;
}

interface StringEntry {
  value: string;
  expiresAt: number | undefined;
}

interface LockEntry {
  owner: string;
  token: number;
  expiresAt: number;
}

interface QueueState {
  ready: string[];
  leased: Map<string, number>;
  items: Map<string, string>;
  attempts: Map<string, number>;
}

/**
 * Entries each write examines for expiry, continuing where the previous write stopped, so keys
 * nobody reads again do not pile up. A little on every write (as Redis expires actively), never a
 * pass over the whole store at once: with 100 000 keys that pass stalled the process for
 * milliseconds. More than one per write, so the sweep outruns the inserts and comes round.
 */
const SWEEP_STEP = 4;

/**
 * The data of one or more {@link InMemoryStateStore}s: what a Redis server is to `RedisStateStore`.
 * Its clock is the one clock of every store sharing it (as a Redis server's clock is).
 */
export class InMemoryStateBackend {
  /** The clock in epoch milliseconds. */
  readonly now: () => number;
  /** @internal */ readonly strings = new Map<string, StringEntry>();
  /** @internal */ readonly locks = new Map<string, LockEntry>();
  /** @internal Lock-token sequences and fencing records: never expire. */ readonly sequences = new Map<string, number>();
  /** @internal */ readonly queues = new Map<string, QueueState>();
  /** @internal */ readonly channels = new Map<string, Set<(message: string) => void>>();
  private stringSweep: Iterator<[string, StringEntry]> | undefined;
  private lockSweep: Iterator<[string, LockEntry]> | undefined;

  constructor(options: InMemoryStateBackendOptions = {}) {
    const now = options.now ?? Date.now;
    if (typeof now !== "function") throw new RangeError(`now must be a function returning epoch milliseconds (got ${typeof now})`);
    this.now = now;
  }

  /** @internal The live string at `key`, dropping it if expired. */
  readString(key: string): StringEntry | undefined {
    const entry = this.strings.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.strings.delete(key);
      return undefined;
    }
    return entry;
  }

  /** @internal */
  writeString(key: string, value: string, ttlMs: number | undefined): void {
    this.strings.set(key, { value, expiresAt: ttlMs === undefined ? undefined : this.now() + ttlMs });
    this.sweep();
  }

  /** @internal The live lock at `key`, dropping it if expired. */
  readLock(key: string): LockEntry | undefined {
    const lock = this.locks.get(key);
    if (lock && lock.expiresAt <= this.now()) {
      this.locks.delete(key);
      return undefined;
    }
    return lock;
  }

  /** Examines the next {@link SWEEP_STEP} strings and locks (a Map's iterator survives deletes and sees inserts). */
  private sweep(): void {
    const now = this.now();
    for (let i = 0; i < SWEEP_STEP; i++) {
      this.stringSweep ??= this.strings.entries();
      const next = this.stringSweep.next();
      if (next.done === true) {
        this.stringSweep = undefined;
        break;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.strings.delete(key);
    }
    for (let i = 0; i < SWEEP_STEP; i++) {
      this.lockSweep ??= this.locks.entries();
      const next = this.lockSweep.next();
      if (next.done === true) {
        this.lockSweep = undefined;
        break;
      }
      const [key, lock] = next.value;
      if (lock.expiresAt <= now) this.locks.delete(key);
    }
  }
}

const INTEGER = /^-?\d+$/;

/** {@link RawStateOps} over a backend. Every method runs to completion synchronously, which makes it atomic. */
class InMemoryStateOps implements RawStateOps {
  private readonly subscriptions = new Set<() => void>();

  constructor(private readonly b: InMemoryStateBackend) {}

  get(keys: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.resolve(keys.map((k) => this.b.readString(k)?.value));
  }

  set(key: string, value: string, ttlMs: number | undefined, onlyIfAbsent: boolean, notify?: RawNotice): Promise<boolean> {
    if (onlyIfAbsent && this.b.readString(key)) return Promise.resolve(false);
    this.b.writeString(key, value, ttlMs);
    for (const channel of notify?.channels ?? []) void this.publish(channel, notify?.message ?? "");
    return Promise.resolve(true);
  }

  compareAndSet(key: string, expected: string | undefined, value: string, ttlMs: number | undefined, notify?: RawNotice): Promise<boolean> {
    if (this.b.readString(key)?.value !== expected) return Promise.resolve(false);
    this.b.writeString(key, value, ttlMs);
    for (const channel of notify?.channels ?? []) void this.publish(channel, notify?.message ?? "");
    return Promise.resolve(true);
  }

  compareAndDelete(key: string, expected: string): Promise<boolean> {
    if (this.b.readString(key)?.value !== expected) return Promise.resolve(false);
    this.b.strings.delete(key);
    return Promise.resolve(true);
  }

  delete(key: string): Promise<boolean> {
    const existed = this.b.readString(key) !== undefined;
    this.b.strings.delete(key);
    return Promise.resolve(existed);
  }

  incr(key: string, by: number, ttlMs: number | undefined): Promise<number> {
    const entry = this.b.readString(key);
    if (!entry) {
      this.b.writeString(key, String(by), ttlMs);
      return Promise.resolve(by);
    }
    const next = INTEGER.test(entry.value) ? Number(entry.value) + by : Number.NaN;
    if (!Number.isSafeInteger(next)) {
      return Promise.reject(
        new StateStoreError(`InMemoryStateStore.incr failed: the value is not an integer or the result is out of range`),
      );
    }
    entry.value = String(next);
    return Promise.resolve(next);
  }

  fencedSet(key: string, fenceKey: string, value: string, token: number, ttlMs: number | undefined): Promise<number | undefined> {
    const current = this.b.sequences.get(fenceKey) ?? 0;
    if (token < current) return Promise.resolve(current);
    this.b.sequences.set(fenceKey, token);
    this.b.writeString(key, value, ttlMs);
    return Promise.resolve(undefined);
  }

  acquireLock(key: string, sequenceKey: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const held = this.b.readLock(key);
    if (held) {
      if (held.owner !== owner) return Promise.resolve(undefined);
      held.expiresAt = this.b.now() + ttlMs;
      return Promise.resolve(held.token);
    }
    const token = (this.b.sequences.get(sequenceKey) ?? 0) + 1;
    this.b.sequences.set(sequenceKey, token);
    this.b.locks.set(key, { owner, token, expiresAt: this.b.now() + ttlMs });
    return Promise.resolve(token);
  }

  releaseLock(key: string, owner: string): Promise<boolean> {
    if (this.b.readLock(key)?.owner !== owner) return Promise.resolve(false);
    this.b.locks.delete(key);
    return Promise.resolve(true);
  }

  extendLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const held = this.b.readLock(key);
    if (held?.owner !== owner) return Promise.resolve(false);
    held.expiresAt = this.b.now() + ttlMs;
    return Promise.resolve(true);
  }

  private queue(keys: QueueKeys): QueueState {
    let q = this.b.queues.get(keys.ready);
    if (!q) {
      q = { ready: [], leased: new Map(), items: new Map(), attempts: new Map() };
      this.b.queues.set(keys.ready, q);
    }
    return q;
  }

  private requeue(q: QueueState, limit: number): number {
    const now = this.b.now();
    const expired = [...q.leased]
      .filter(([, until]) => until <= now)
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit);
    // Earliest expiry ends at the head, as the Lua script does.
    for (let i = expired.length - 1; i >= 0; i--) {
      const id = (expired[i] as [string, number])[0];
      q.leased.delete(id);
      q.ready.unshift(id);
    }
    return expired.length;
  }

  private holds(q: QueueState, id: string, receipt: string): boolean {
    return q.leased.has(id) && String(q.attempts.get(id)) === receipt;
  }

  pushQueueItem(keys: QueueKeys, id: string, payload: string): Promise<boolean> {
    const q = this.queue(keys);
    if (q.items.has(id)) return Promise.resolve(false);
    q.items.set(id, payload);
    q.ready.push(id);
    return Promise.resolve(true);
  }

  claimQueueItem(keys: QueueKeys, leaseMs: number, requeueLimit: number): Promise<RawClaim | undefined> {
    const q = this.queue(keys);
    this.requeue(q, requeueLimit);
    for (let id = q.ready.shift(); id !== undefined; id = q.ready.shift()) {
      const payload = q.items.get(id);
      if (payload === undefined) continue;
      const attempts = (q.attempts.get(id) ?? 0) + 1;
      const leaseExpiresAt = this.b.now() + leaseMs;
      q.attempts.set(id, attempts);
      q.leased.set(id, leaseExpiresAt);
      return Promise.resolve({ id, payload, attempts, leaseExpiresAt });
    }
    return Promise.resolve(undefined);
  }

  ackQueueItem(keys: QueueKeys, id: string, receipt: string): Promise<boolean> {
    const q = this.queue(keys);
    if (!this.holds(q, id, receipt)) return Promise.resolve(false);
    q.leased.delete(id);
    q.items.delete(id);
    q.attempts.delete(id);
    return Promise.resolve(true);
  }

  releaseQueueItem(keys: QueueKeys, id: string, receipt: string): Promise<boolean> {
    const q = this.queue(keys);
    if (!this.holds(q, id, receipt)) return Promise.resolve(false);
    q.leased.delete(id);
    q.ready.push(id);
    return Promise.resolve(true);
  }

  extendQueueLease(keys: QueueKeys, id: string, receipt: string, leaseMs: number): Promise<number | undefined> {
    const q = this.queue(keys);
    if (!this.holds(q, id, receipt)) return Promise.resolve(undefined);
    const leaseExpiresAt = this.b.now() + leaseMs;
    q.leased.set(id, leaseExpiresAt);
    return Promise.resolve(leaseExpiresAt);
  }

  requeueExpired(keys: QueueKeys, limit: number): Promise<number> {
    return Promise.resolve(this.requeue(this.queue(keys), limit));
  }

  queueStats(keys: QueueKeys): Promise<QueueStats> {
    const q = this.queue(keys);
    return Promise.resolve({ ready: q.ready.length, leased: q.leased.size });
  }

  publish(channel: string, message: string): Promise<void> {
    const listeners = this.b.channels.get(channel);
    if (!listeners) return Promise.resolve();
    // Delivered later, as over a network: publish returns before any handler runs, and a handler
    // unsubscribed in between gets nothing.
    for (const listener of [...listeners]) {
      queueMicrotask(() => {
        if (listeners.has(listener)) listener(message);
      });
    }
    return Promise.resolve();
  }

  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    let listeners = this.b.channels.get(channel);
    if (!listeners) this.b.channels.set(channel, (listeners = new Set()));
    const own = (message: string): void => listener(message);
    const set = listeners;
    set.add(own);
    const stop = (): void => {
      set.delete(own);
      this.subscriptions.delete(stop);
      if (set.size === 0 && this.b.channels.get(channel) === set) this.b.channels.delete(channel);
    };
    this.subscriptions.add(stop);
    return Promise.resolve(() => Promise.resolve(stop()));
  }

  close(): Promise<void> {
    for (const stop of [...this.subscriptions]) stop();
    return Promise.resolve();
  }
}

/** Options of {@link InMemoryStateStore}. */
export interface InMemoryStateStoreOptions extends StateStoreOptions {
  /**
   * The clock, in epoch milliseconds, for TTLs, lock expiry and leases; inject one to make tests
   * deterministic. Default: `Date.now`. Not allowed together with `backend` (a shared backend has
   * its own clock: pass it to `new InMemoryStateBackend({ now })`).
   */
  now?: () => number;
  /** A backend shared with other stores, as processes share one Redis. Default: a new, private backend. */
  backend?: InMemoryStateBackend;
}

/**
 * The in-memory {@link StateStore}: the embedded default of `createFabric()`, and the store of
 * unit tests. Values are kept as JSON text, so reads return copies with the same JSON semantics
 * as Redis.
 */
export class InMemoryStateStore extends StateStoreCore {
  /** The backend holding this store's data (share it to give another store the same data). */
  readonly backend: InMemoryStateBackend;

  constructor(options: InMemoryStateStoreOptions = {}) {
    const backend = InMemoryStateStore.backendOf(options);
    super(new InMemoryStateOps(backend), options, "InMemoryStateStore");
    this.backend = backend;
  }

  private static backendOf(options: InMemoryStateStoreOptions): InMemoryStateBackend {
    if (options.backend === undefined) return new InMemoryStateBackend({ now: options.now });
    if (options.now !== undefined) {
      throw new RangeError("now must not be given together with backend (got both): pass the clock to new InMemoryStateBackend({ now })");
    }
    if (!(options.backend instanceof InMemoryStateBackend))
      throw new RangeError(`backend must be an InMemoryStateBackend (got ${typeof options.backend})`);
    return options.backend;
  }
}
