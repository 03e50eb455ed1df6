import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions, type SentinelAddress } from "ioredis";
import { ConfigurationError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";
import {
  checkNoDuplicateCredentials,
  failFastOnSecurityErrors,
  redisAddress,
  redisSecurityError,
  redisSecurityOptions,
  type RedisSecurityOptions,
} from "./redisSecurity.js";

/** Either kind of ioredis client: a standalone/Sentinel `Redis` or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/**
 * Where to find Redis. Accepted by {@link createRedisClient} and therefore by `RedisSaver`,
 * `RedisStateStore` and the Redis registry:
 *
 * - a URL string (`redis://[:password@]host:port/db`, `rediss://` for TLS);
 * - an existing ioredis `Redis` or `Cluster` client (the caller keeps ownership: `end()` leaves it open);
 * - `{ url, options }`, a URL plus extra ioredis options;
 * - `{ sentinels, name, options }` for Redis Sentinel;
 * - `{ cluster, options }` with the seed nodes of a Redis Cluster.
 */
export type RedisConnection =
  | string
  | RedisClient
  | { url: string; options?: RedisOptions }
  | { sentinels: Partial<SentinelAddress>[]; name: string; options?: RedisOptions }
  | { cluster: ClusterNode[]; options?: ClusterOptions };

/** A client plus whether the caller of {@link createRedisClient} owns it (and must close it). */
export interface OwnedRedisClient {
  /** The ioredis client. */
  client: RedisClient;
  /** True when the client was created here from options, false when it was passed in. */
  owned: boolean;
}

/**
 * Builds (or adopts) an ioredis client. No I/O happens here beyond what ioredis does on its own:
 * clients connect lazily on their first command, because `lazyConnect` is set for owned clients.
 * `security` (TLS, ACL user and password) applies to the clients built here, under any ioredis
 * `options` given with the connection; a client passed in keeps its own settings.
 *
 * @throws ConfigurationError when the connection description is not one of the accepted shapes, or
 *   credentials are given both in the URL and in `security`; RangeError for invalid `security`.
 */
export function createRedisClient(connection: RedisConnection, security?: RedisSecurityOptions): OwnedRedisClient {
  if (connection instanceof Redis || connection instanceof Cluster) return { client: connection, owned: false };
  const secured = redisSecurityOptions(security);
  const standalone = (client: Redis): OwnedRedisClient => {
    failFastOnSecurityErrors(client);
    return { client, owned: true };
  };
  if (typeof connection === "string") {
    checkNoDuplicateCredentials(connection, security);
    return standalone(new Redis(connection, { lazyConnect: true, ...secured }));
  }
  if (typeof connection === "object") {
    if ("url" in connection && typeof connection.url === "string") {
      checkNoDuplicateCredentials(connection.url, security);
      return standalone(new Redis(connection.url, { lazyConnect: true, ...secured, ...connection.options }));
    }
    if ("sentinels" in connection && Array.isArray(connection.sentinels)) {
      return standalone(
        new Redis({ lazyConnect: true, ...secured, ...connection.options, sentinels: connection.sentinels, name: connection.name }),
      );
    }
    if ("cluster" in connection && Array.isArray(connection.cluster)) {
      const options = { lazyConnect: true, ...connection.options, redisOptions: { ...secured, ...connection.options?.redisOptions } };
      return { client: new Cluster(connection.cluster, options), owned: true };
    }
  }
  throw new ConfigurationError("unrecognised Redis connection", {
    hint: "pass a redis:// URL, an ioredis Redis or Cluster client, { url }, { sentinels, name } or { cluster: [{ host, port }] }",
  });
}

/**
 * Validates a key prefix. Prefixes must not contain `{` or `}`: keys carry their own hash tags, and
 * a brace in the prefix would move the hash tag and split a thread across Cluster slots.
 *
 * @throws RangeError naming the field and value.
 */
export function validateKeyPrefix(field: string, prefix: string): string {
  if (typeof prefix !== "string" || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new RangeError(`${field} must be a non-empty string without "{" or "}" (got ${JSON.stringify(prefix)})`);
  }
  return prefix;
}

/**
 * Logs connection errors of a client this package created, once per outage rather than once per
 * reconnect attempt, and replaces ioredis's "Unhandled error event" output. ioredis keeps
 * reconnecting and queues commands meanwhile; the log says so.
 */
export function watchConnection(client: RedisClient, logger: Logger, component: string): void {
  let down = false;
  client.on("error", (e: Error) => {
    if (down) return;
    down = true;
    // A refused password or certificate is no outage: say what to fix (it is retried all the same, in case it gets fixed).
    const security = redisSecurityError(e, redisAddress(client));
    if (security) logger.error(`${component}: ${security.message}; retrying`, { hint: security.hint });
    else logger.warn(`${component}: Redis connection lost, reconnecting`, { error: e.message });
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info(`${component}: Redis connection restored`);
  });
}

const COALESCING = Symbol.for("langgraph-fabric:coalescing-writes");

interface CorkableStream {
  cork(): void;
  uncork(): void;
  write(...args: unknown[]): boolean;
  [COALESCING]?: true;
}

/**
 * Makes the commands a standalone client sends in one iteration of the event loop leave in one
 * write: the socket is corked at the first write and uncorked in the iteration's check phase
 * (`setImmediate`), so Node sends them together (`writev`). The check phase, not the next tick:
 * the I/O callbacks of one iteration (several Kafka fetch responses read in one wake-up, say) each
 * end in a tick of their own, and commands issued by each of them would otherwise leave one write
 * apiece. Unlike ioredis's auto-pipelining it never waits for an earlier pipeline and keeps each
 * command's own promise. On machines where a socket write is expensive (virtual machines: a write
 * wakes the other side), many concurrent calls cost far fewer syscalls. Cluster clients are left
 * alone. Applied again on every reconnect.
 */
export function coalesceWrites(client: RedisClient): void {
  if (client instanceof Cluster) return;
  const install = (): void => {
    const stream = (client as unknown as { stream?: CorkableStream }).stream;
    if (stream === undefined || stream[COALESCING] === true) return;
    stream[COALESCING] = true;
    const write = stream.write.bind(stream);
    let corked = false;
    stream.write = (...args: unknown[]): boolean => {
      if (!corked) {
        corked = true;
        stream.cork();
        setImmediate(() => {
          corked = false;
          stream.uncork();
        });
      }
      return write(...args);
    };
  };
  install();
  client.on("connect", install);
}
