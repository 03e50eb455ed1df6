/**
 * The Redis state store of the remote-node benchmark's processes: `BENCH_REDIS_AUTOPIPELINE=1`
 * turns on ioredis auto-pipelining (commands issued in one event-loop turn leave in one write).
 */
import { RedisStateStore } from "../../adapters/redis/RedisStateStore.js";

export function benchStateStore(url: string, keyPrefix: string): RedisStateStore {
  const autoPipelining = process.env.BENCH_REDIS_AUTOPIPELINE === "1";
  return new RedisStateStore({ url, options: { enableAutoPipelining: autoPipelining } }, { keyPrefix });
}
