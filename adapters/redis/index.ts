/**
 * Redis adapters of langgraph-fabric, on ioredis and plain Redis 7 (no modules): standalone,
 * Sentinel or Cluster.
 *
 * - {@link RedisSaver}: a LangGraph checkpointer (`compile({ checkpointer })`).
 * - {@link RedisStateStore}: the fabric's state store (values, locks with fencing tokens,
 *   counters, reliable queues, pub/sub).
 *
 * @packageDocumentation
 */
export { RedisSaver } from "./RedisSaver.js";
export type { RedisSaverOptions } from "./RedisSaver.js";
export { RedisStateStore } from "./RedisStateStore.js";
export type { RedisStateStoreOptions } from "./RedisStateStore.js";
export { RedisRegistry } from "./RedisRegistry.js";
export type { RedisRegistryOptions } from "./RedisRegistry.js";
export { createRedisClient } from "./createRedisClient.js";
export { redisConnectionFromEnv } from "./redisConnectionFromEnv.js";
export type { RedisFromEnv } from "./redisConnectionFromEnv.js";
export type { OwnedRedisClient, RedisClient, RedisConnection } from "./createRedisClient.js";
export { REDIS_SECURITY_ENV, redisSecurityFromEnv } from "./redisSecurity.js";
export type { RedisSecurityOptions, RedisTlsOptions } from "./redisSecurity.js";
