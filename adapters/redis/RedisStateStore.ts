/**
 * The Redis {@link StateStore}: plain Redis 7 (no modules), standalone, Sentinel or Cluster.
 *
 * Every multi-step change is one Lua script (`lua/stateScripts.ts`), registered on the client with
 * ioredis `defineCommand` (EVALSHA, falling back to EVAL after `NOSCRIPT`). The keys of one script
 * share a hash tag, so all of them run on Cluster. Lease and lock expiry use the server's clock.
 *
 * @module
 */
import type { Cluster, Redis } from "ioredis";
import { ConfigurationError, isFabricError, StateStoreError } from "../../src/errors.js";
import type { QueueStats, StateStoreOptions } from "../../src/state/StateStore.js";
import { StateStoreCore, type RawClaim, type RawNotice, type RawStateOps } from "../../src/state/StateStoreCore.js";
import type { QueueKeys } from "../../src/state/stateKeys.js";
import { createConsoleLogger } from "../../src/observability/logger.js";
import {
  coalesceWrites,
  createRedisClient,
  validateKeyPrefix,
  watchConnection,
  type RedisClient,
  type RedisConnection,
} from "./createRedisClient.js";
import * as lua from "./lua/stateScripts.js";
import { redisConnectionFromEnv } from "./redisConnectionFromEnv.js";
import { redisAddress, redisSecurityError, redisSecurityFromEnv, type RedisSecurityOptions } from "./redisSecurity.js";

/** Options of {@link RedisStateStore}; `tls`, `username` and `password` apply to a client the store creates. */
export interface RedisStateStoreOptions extends StateStoreOptions, RedisSecurityOptions {
  /**
   * Whether `close()` also closes the main client. Default: true when the store created the client
   * (from a URL or options), false for an ioredis client passed in (the caller keeps ownership).
   * The subscriber connection is always the store's own and always closed.
   */
  ownsClient?: boolean;
  /**
   * Whether commands issued in one turn of the event loop leave in one socket write (see
   * `coalesceWrites`): many concurrent node calls then cost far fewer syscalls. Standalone and
   * Sentinel clients only. Default: true for a client the store creates, false for one passed in
   * (it is the caller's).
   */
  coalesceWrites?: boolean;
}

/** The scripts as ioredis commands: name -> number of keys and source. Prefixed to stay clear of other commands on a shared client. */
const COMMANDS = {
  lgfStateCompareAndSet: [1, lua.compareAndSet],
  lgfStateSetAndPublish: [1, lua.setAndPublish],
  lgfStateCompareAndDelete: [1, lua.compareAndDelete],
  lgfStateIncrementCounter: [1, lua.incrementCounter],
  lgfStateFencedSet: [2, lua.fencedSet],
  lgfStateAcquireLock: [2, lua.acquireLock],
  lgfStateReleaseLock: [1, lua.releaseLock],
  lgfStateExtendLock: [1, lua.extendLock],
  lgfStatePushQueueItem: [2, lua.pushQueueItem],
  lgfStateClaimQueueItem: [4, lua.claimQueueItem],
  lgfStateAckQueueItem: [4, lua.ackQueueItem],
  lgfStateReleaseQueueItem: [4, lua.releaseQueueItem],
  lgfStateExtendQueueLease: [4, lua.extendQueueLease],
  lgfStateRequeueExpired: [4, lua.requeueExpiredQueueItems],
  lgfStateCountQueueItems: [4, lua.countQueueItems],
} as const satisfies Record<string, readonly [number, string]>;

type ScriptCommands = { [K in keyof typeof COMMANDS]: (...args: (string | number)[]) => Promise<unknown> };

/** Registers the scripts (no I/O); defining them again on a shared client is harmless. */
function defineStateScripts(client: RedisClient): ScriptCommands {
  for (const [name, [numberOfKeys, source]] of Object.entries(COMMANDS)) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys, lua: source });
  }
  return client as unknown as ScriptCommands;
}

const UNREACHABLE = /max retries|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection is closed|isn't writeable|None of startup nodes/i;

/**
 * Wraps a Redis failure in a `StateStoreError` naming the operation; a refused password, permission
 * or certificate becomes a `ConnectionSecurityError`; errors of this package pass through.
 */
function wrapError(op: string, e: unknown, where: string): Error {
  if (isFabricError(e)) return e;
  const security = redisSecurityError(e, where);
  if (security) return security;
  const message = e instanceof Error ? e.message : String(e);
  const hint = UNREACHABLE.test(message)
    ? "Redis is unreachable or the connection was closed: check the URL and that the server runs; the operation may not have been applied"
    : "see the cause; the operation may or may not have been applied";
  return new StateStoreError(`RedisStateStore.${op} failed: ${message}`, { cause: e, hint });
}

function str(value: unknown, what: string): string {
  if (typeof value !== "string") throw new StateStoreError(`RedisStateStore: unexpected reply for ${what} (${typeof value})`);
  return value;
}

function num(value: unknown, what: string): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n))
    throw new StateStoreError(`RedisStateStore: unexpected reply for ${what} (${typeof value})`);
  return n;
}

/** Longest wait for a closed connection's "end" event, in milliseconds. */
const CLOSE_WAIT_MS = 2000;

/** Closes a client (QUIT when connected and `graceful`, else disconnect) and waits until its socket is gone. */
async function closeClient(client: RedisClient, graceful: boolean): Promise<void> {
  if (client.status === "end") return;
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    client.once("end", resolve);
    timer = setTimeout(resolve, CLOSE_WAIT_MS);
    timer.unref();
  });
  if (graceful && client.status === "ready") await client.quit().catch(() => client.disconnect());
  else client.disconnect();
  await ended;
  clearTimeout(timer);
}

const queueKeys = (q: QueueKeys): string[] => [q.ready, q.leased, q.items, q.attempts];

interface ChannelState {
  listeners: Set<(message: string) => void>;
  /** Settles when the SUBSCRIBE is acknowledged. */
  ready: Promise<void>;
}

/** {@link RawStateOps} over an ioredis client. */
class RedisStateOps implements RawStateOps {
  private readonly cmd: ScriptCommands;
  private subscriber: RedisClient | undefined;
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly ownsClient: boolean,
  ) {
    this.cmd = defineStateScripts(client);
  }

  private async run<R>(op: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      throw wrapError(op, e, redisAddress(this.client));
    }
  }

  private script(op: string, name: keyof ScriptCommands, keys: readonly string[], ...args: (string | number)[]): Promise<unknown> {
    return this.run(op, () => this.cmd[name](...keys, ...args));
  }

  get(keys: readonly string[]): Promise<(string | undefined)[]> {
    return this.run("get", async () => {
      // One MGET on a standalone server; on Cluster the keys live in different slots (own hash tags), so one GET each.
      const values = this.client.isCluster ? await Promise.all(keys.map((k) => this.client.get(k))) : await this.client.mget(...keys);
      return values.map((v) => v ?? undefined);
    });
  }

  async set(key: string, value: string, ttlMs: number | undefined, onlyIfAbsent: boolean, notify?: RawNotice): Promise<boolean> {
    const op = onlyIfAbsent ? "setIfAbsent" : "set";
    if (notify !== undefined) {
      const flag = onlyIfAbsent ? "1" : "0";
      return (await this.script(op, "lgfStateSetAndPublish", [key], flag, value, ttlMs ?? 0, notify.message, ...notify.channels)) === 1;
    }
    return this.run(op, async () => {
      const c = this.client as Redis;
      let reply: string | null;
      if (onlyIfAbsent) reply = ttlMs === undefined ? await c.set(key, value, "NX") : await c.set(key, value, "PX", ttlMs, "NX");
      else reply = ttlMs === undefined ? await c.set(key, value) : await c.set(key, value, "PX", ttlMs);
      return reply === "OK";
    });
  }

  async compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    ttlMs: number | undefined,
    notify?: RawNotice,
  ): Promise<boolean> {
    const present = expected === undefined ? "0" : "1";
    const announce = notify === undefined ? [] : [notify.message, ...notify.channels];
    return (
      (await this.script("compareAndSet", "lgfStateCompareAndSet", [key], present, expected ?? "", value, ttlMs ?? 0, ...announce)) === 1
    );
  }

  async compareAndDelete(key: string, expected: string): Promise<boolean> {
    return (await this.script("compareAndDelete", "lgfStateCompareAndDelete", [key], expected)) === 1;
  }

  delete(key: string): Promise<boolean> {
    return this.run("delete", async () => (await this.client.del(key)) === 1);
  }

  async incr(key: string, by: number, ttlMs: number | undefined): Promise<number> {
    return num(await this.script("incr", "lgfStateIncrementCounter", [key], by, ttlMs ?? 0), "incr");
  }

  async fencedSet(key: string, fenceKey: string, value: string, token: number, ttlMs: number | undefined): Promise<number | undefined> {
    const reply = await this.script("fencedSet", "lgfStateFencedSet", [key, fenceKey], token, value, ttlMs ?? 0);
    if (!Array.isArray(reply)) throw new StateStoreError("RedisStateStore: unexpected reply for fencedSet");
    return reply[0] === 1 ? undefined : num(reply[1], "fencedSet");
  }

  async acquireLock(key: string, sequenceKey: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const reply = await this.script("acquireLock", "lgfStateAcquireLock", [key, sequenceKey], owner, ttlMs);
    return reply === null ? undefined : num(reply, "acquireLock");
  }

  async releaseLock(key: string, owner: string): Promise<boolean> {
    return (await this.script("releaseLock", "lgfStateReleaseLock", [key], owner)) === 1;
  }

  async extendLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.script("extendLock", "lgfStateExtendLock", [key], owner, ttlMs)) === 1;
  }

  async pushQueueItem(q: QueueKeys, id: string, payload: string): Promise<boolean> {
    return (await this.script("queue.push", "lgfStatePushQueueItem", [q.ready, q.items], id, payload)) === 1;
  }

  async claimQueueItem(q: QueueKeys, leaseMs: number, requeueLimit: number): Promise<RawClaim | undefined> {
    const reply = await this.script("queue.claim", "lgfStateClaimQueueItem", queueKeys(q), leaseMs, requeueLimit);
    if (reply === null) return undefined;
    if (!Array.isArray(reply) || reply.length !== 4) throw new StateStoreError("RedisStateStore: unexpected reply for queue.claim");
    const [id, payload, attempts, leaseExpiresAt] = reply as unknown[];
    return {
      id: str(id, "claim id"),
      payload: str(payload, "claim payload"),
      attempts: num(attempts, "attempts"),
      leaseExpiresAt: num(leaseExpiresAt, "lease"),
    };
  }

  async ackQueueItem(q: QueueKeys, id: string, receipt: string): Promise<boolean> {
    return (await this.script("queue.ack", "lgfStateAckQueueItem", queueKeys(q), id, receipt)) === 1;
  }

  async releaseQueueItem(q: QueueKeys, id: string, receipt: string): Promise<boolean> {
    return (await this.script("queue.release", "lgfStateReleaseQueueItem", queueKeys(q), id, receipt)) === 1;
  }

  async extendQueueLease(q: QueueKeys, id: string, receipt: string, leaseMs: number): Promise<number | undefined> {
    const reply = await this.script("queue.extendLease", "lgfStateExtendQueueLease", queueKeys(q), id, receipt, leaseMs);
    return reply === null ? undefined : num(reply, "queue.extendLease");
  }

  async requeueExpired(q: QueueKeys, limit: number): Promise<number> {
    return num(await this.script("queue.requeueExpired", "lgfStateRequeueExpired", queueKeys(q), limit), "queue.requeueExpired");
  }

  async queueStats(q: QueueKeys): Promise<QueueStats> {
    const reply = await this.script("queue.stats", "lgfStateCountQueueItems", queueKeys(q));
    if (!Array.isArray(reply)) throw new StateStoreError("RedisStateStore: unexpected reply for queue.stats");
    return { ready: num(reply[0], "ready"), leased: num(reply[1], "leased") };
  }

  publish(channel: string, message: string): Promise<void> {
    return this.run("publish", async () => {
      await this.client.publish(channel, message);
    });
  }

  /** The subscriber connection, created on first use: a connection in subscribe mode can run nothing else. */
  private subscriberClient(): RedisClient {
    if (this.subscriber) return this.subscriber;
    const sub: Redis | Cluster = this.client.duplicate();
    sub.on("message", (channel: string, message: string) => {
      for (const listener of this.channels.get(channel)?.listeners ?? []) listener(message);
    });
    // Connection errors surface through the subscribe calls; ioredis reconnects and resubscribes on its own.
    sub.on("error", () => undefined);
    this.subscriber = sub;
    return sub;
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const sub = this.subscriberClient();
    let state = this.channels.get(channel);
    if (!state) {
      const ready = this.run("subscribe", async () => {
        await sub.subscribe(channel);
      });
      state = { listeners: new Set(), ready };
      this.channels.set(channel, state);
    }
    const entry = state;
    const own = (message: string): void => listener(message);
    entry.listeners.add(own);
    const stop = async (): Promise<void> => {
      entry.listeners.delete(own);
      if (entry.listeners.size > 0 || this.channels.get(channel) !== entry) return;
      this.channels.delete(channel);
      // Commands on one connection run in order, so a later SUBSCRIBE of the channel wins over this one.
      if (this.closed) return;
      await this.run("unsubscribe", async () => {
        await sub.unsubscribe(channel);
      });
    };
    try {
      await entry.ready;
    } catch (e) {
      await stop().catch(() => undefined);
      throw e;
    }
    return stop;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    const sub = this.subscriber;
    this.subscriber = undefined;
    await Promise.all([sub && closeClient(sub, false), this.ownsClient && closeClient(this.client, true)]);
  }
}

/**
 * The Redis {@link StateStore}. Construction does no I/O: the client connects on the first
 * operation, and the subscriber connection (a `duplicate()` of the client) on the first
 * `subscribe`. Failures of Redis surface as `StateStoreError` naming the operation.
 *
 * ```ts
 * const store = RedisStateStore.fromUrl("redis://127.0.0.1:6379", { keyPrefix: "myapp" });
 * const lock = await store.acquireLock("rebalance", { ttlMs: 10_000 });
 * ```
 */
export class RedisStateStore extends StateStoreCore {
  /** The ioredis client the store uses for everything but subscriptions. */
  readonly client: RedisClient;

  /**
   * @param connection - a URL, an ioredis `Redis`/`Cluster`, `{ url, options }`, `{ sentinels, name, options }` or `{ cluster, options }`.
   * @throws RangeError for invalid options; ConfigurationError for an unrecognised connection.
   */
  constructor(connection: RedisConnection, options: RedisStateStoreOptions = {}) {
    const { client, ops } = RedisStateStore.open(connection, options);
    super(ops, options, "RedisStateStore");
    this.client = client;
  }

  /** A store on the Redis at `url` (`redis://…`, `rediss://…`). */
  static fromUrl(url: string, options?: RedisStateStoreOptions): RedisStateStore {
    return new RedisStateStore(url, options);
  }

  /**
   * A store on the Redis named by the environment: `REDIS_URL` (`rediss://user:password@host:port`
   * for TLS and an ACL user), or `REDIS_SENTINELS` with `REDIS_SENTINEL_NAME` (see
   * {@link redisConnectionFromEnv}), with the TLS and credential settings of `REDIS_TLS_*`,
   * `REDIS_USERNAME` and `REDIS_PASSWORD(_FILE)` (see `redisSecurityFromEnv`); those given in
   * `options` win.
   *
   * @throws ConfigurationError when neither is set, a value is malformed or names an unreadable file.
   */
  static fromEnv(options?: RedisStateStoreOptions, env: NodeJS.ProcessEnv = process.env): RedisStateStore {
    const redis = redisConnectionFromEnv(env);
    if (redis === undefined)
      throw new ConfigurationError("REDIS_URL is not set", {
        hint: "set REDIS_URL=redis://host:6379, or REDIS_SENTINELS and REDIS_SENTINEL_NAME (or pass a URL to RedisStateStore.fromUrl)",
      });
    return new RedisStateStore(redis.connection, { ...redisSecurityFromEnv(env), ...options });
  }

  private static open(connection: RedisConnection, options: RedisStateStoreOptions): { client: RedisClient; ops: RedisStateOps } {
    // Validate before creating a client, so that bad options leave nothing behind.
    if (options.keyPrefix !== undefined) validateKeyPrefix("keyPrefix", options.keyPrefix);
    if (options.ownsClient !== undefined && typeof options.ownsClient !== "boolean") {
      throw new RangeError(`ownsClient must be a boolean (got ${JSON.stringify(options.ownsClient)})`);
    }
    if (options.coalesceWrites !== undefined && typeof options.coalesceWrites !== "boolean") {
      throw new RangeError(`coalesceWrites must be a boolean (got ${JSON.stringify(options.coalesceWrites)})`);
    }
    const { client, owned } = createRedisClient(connection, options);
    // A client without an "error" listener makes ioredis print every failed reconnect; log once per outage instead.
    if (owned) watchConnection(client, createConsoleLogger({ name: "RedisStateStore" }), "RedisStateStore");
    if (options.coalesceWrites ?? owned) coalesceWrites(client);
    return { client, ops: new RedisStateOps(client, options.ownsClient ?? owned) };
  }
}
