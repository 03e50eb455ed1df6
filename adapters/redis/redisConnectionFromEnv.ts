import { ConfigurationError } from "../../src/errors.js";
import type { RedisConnection } from "./createRedisClient.js";

/** What {@link redisConnectionFromEnv} found: the connection, and a description fit for logs (no password). */
export interface RedisFromEnv {
  /** A `redis://` URL, or Sentinel options. */
  connection: RedisConnection;
  /** `redis://host:port` (password masked) or `sentinel fabric@host:port,…`. */
  describe: string;
}

const HOST_PORT = /^(.+):(\d+)$/;

/**
 * The Redis named by the environment, for processes configured that way (workers, runners):
 *
 * - `REDIS_SENTINELS` (comma-separated `host:port` of Sentinels) with `REDIS_SENTINEL_NAME` (the
 *   name they monitor the primary under): a Sentinel client, which asks the Sentinels for the
 *   primary and, when its connection drops, asks again and reconnects to the new one.
 *   `REDIS_SENTINEL_PASSWORD` (optional) authenticates to the Sentinels, `REDIS_PASSWORD`
 *   (optional) to the primary;
 * - else `REDIS_URL` (`redis://…` or `rediss://…`);
 * - `undefined` when neither is set.
 *
 * @throws ConfigurationError when both `REDIS_SENTINELS` and `REDIS_URL` are set (one Redis per
 *   fabric: say which), when `REDIS_SENTINELS` has an entry that is not `host:port` or comes
 *   without `REDIS_SENTINEL_NAME`, or when `REDIS_URL` is not a `redis://`/`rediss://` URL.
 */
export function redisConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): RedisFromEnv | undefined {
  const sentinels = env.REDIS_SENTINELS?.trim() ?? "";
  const url = env.REDIS_URL?.trim() ?? "";
  if (sentinels !== "" && url !== "") {
    throw new ConfigurationError("both REDIS_SENTINELS and REDIS_URL are set", {
      hint: "set REDIS_SENTINELS and REDIS_SENTINEL_NAME for a Redis watched by Sentinels, or REDIS_URL for one server, not both",
    });
  }
  if (sentinels !== "") {
    const name = env.REDIS_SENTINEL_NAME?.trim() ?? "";
    if (name === "") {
      throw new ConfigurationError("REDIS_SENTINELS is set but REDIS_SENTINEL_NAME is not", {
        hint: "set REDIS_SENTINEL_NAME to the name the Sentinels monitor the primary under (`sentinel monitor <name> …`)",
      });
    }
    const addresses = sentinels
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((entry) => {
        const match = HOST_PORT.exec(entry);
        const host = match?.[1];
        const port = match ? Number(match[2]) : Number.NaN;
        if (host === undefined || port < 1 || port > 65535) {
          throw new ConfigurationError(`REDIS_SENTINELS entry "${entry}" is not host:port`, {
            hint: 'set REDIS_SENTINELS to a comma-separated list such as "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379"',
          });
        }
        return { host, port };
      });
    const sentinelPassword = env.REDIS_SENTINEL_PASSWORD || undefined;
    const password = env.REDIS_PASSWORD || undefined;
    return {
      connection: {
        sentinels: addresses,
        name,
        // Not ioredis's `failoverDetector`: in ioredis 5.11 its Sentinel connections outlive
        // `quit()`, so a process whose saver and store are closed would never exit.
        options: {
          ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
          ...(password === undefined ? {} : { password }),
        },
      },
      describe: `sentinel ${name}@${addresses.map((a) => `${a.host}:${a.port}`).join(",")}`,
    };
  }
  if (url === "") return undefined;
  const masked = url.replace(/:[^:@/]*@/, ":***@");
  if (!/^rediss?:\/\//.test(url)) {
    throw new ConfigurationError(`REDIS_URL "${masked}" is not a redis:// or rediss:// URL`, {
      hint: "e.g. REDIS_URL=redis://127.0.0.1:6379 (or REDIS_SENTINELS + REDIS_SENTINEL_NAME for Sentinel)",
    });
  }
  return { connection: url, describe: masked };
}
