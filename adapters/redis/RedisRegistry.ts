/**
 * The replica registry on Redis: {@link StoreRegistry} over a {@link RedisStateStore}.
 *
 * Why not a Redis-native layout (a hash or sorted set per node plus one Lua script for heartbeat
 * and index)? On the store, a heartbeat is already one round trip for the record (a
 * compare-and-set script that also resets the TTL) plus one `MGET` checking the indexes; indexes
 * change only when replicas come and go; and readers read once per interval, never per call. A
 * native layout would save one round trip per refresh and would need its own implementation,
 * expiry logic and tests, while sharing the store keeps one implementation whose behaviour the
 * in-memory unit tests pin down. Keys carry their own hash tags, so it runs on Cluster too.
 *
 * @module
 */
import { StoreRegistry, type StoreRegistryOptions } from "../../src/registry/StoreRegistry.js";
import type { RedisConnection } from "./createRedisClient.js";
import { RedisStateStore, type RedisStateStoreOptions } from "./RedisStateStore.js";

/** Options of {@link RedisRegistry}. */
export interface RedisRegistryOptions extends StoreRegistryOptions {
  /**
   * Options of the state store the registry creates when given a connection rather than a store
   * (key prefix, subscriber error handler…). Default: the store's defaults (key prefix `"fabric"`).
   * Not allowed together with a `RedisStateStore`, which is already configured.
   */
  store?: RedisStateStoreOptions;
}

/**
 * The {@link StoreRegistry} on Redis. Give it a `RedisStateStore` to share that store's
 * connections (the registry then never closes it), or a connection (URL, ioredis client,
 * `{ url }`, `{ sentinels }`, `{ cluster }`) to have it create a store that `stop()` closes.
 * Construction does no I/O.
 *
 * ```ts
 * const registry = RedisRegistry.fromUrl("redis://127.0.0.1:6379", { store: { keyPrefix: "myapp" } });
 * await registry.start();
 * ```
 */
export class RedisRegistry extends StoreRegistry {
  /** The state store the registry reads and writes. */
  readonly stateStore: RedisStateStore;
  private readonly ownsStore: boolean;

  /** @throws RangeError for invalid options; ConfigurationError for an unrecognised connection. */
  constructor(source: RedisStateStore | RedisConnection, options: RedisRegistryOptions = {}) {
    const { store: storeOptions, ...registryOptions } = options;
    const given = source instanceof RedisStateStore;
    if (given && storeOptions !== undefined) {
      throw new RangeError(`store options apply only when the registry creates its store (got ${JSON.stringify(storeOptions)})`);
    }
    const store = given ? source : new RedisStateStore(source, storeOptions);
    try {
      super(store, registryOptions);
    } catch (e) {
      // Invalid registry options: release the client created above (it has not connected: lazyConnect).
      if (!given) void store.close();
      throw e;
    }
    this.stateStore = store;
    this.ownsStore = !given;
  }

  /** A registry on the Redis at `url` (`redis://…`, `rediss://…`), owning its store. */
  static fromUrl(url: string, options?: RedisRegistryOptions): RedisRegistry {
    return new RedisRegistry(url, options);
  }

  /** Deregisters this registry's replicas and stops following; closes the store if the registry created it. Idempotent. */
  override async stop(): Promise<void> {
    await super.stop();
    if (this.ownsStore) await this.stateStore.close();
  }
}
