/**
 * The fabric of a test child process, from its environment: KAFKA_BROKERS, REDIS_URL,
 * FABRIC_TOPIC_PREFIX, FABRIC_KEY_PREFIX, FABRIC_SESSION_TIMEOUT_MS, FABRIC_LEASE_MS.
 */
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { signingFromEnv } from "../../../adapters/kafka/signingFromEnv.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";

export function fabricFromEnv(): Promise<Fabric> {
  const env = process.env;
  const sessionTimeoutMs = Number(env.FABRIC_SESSION_TIMEOUT_MS ?? 6000);
  return createFabric({
    transport: new KafkaTransport({
      ...signingFromEnv(env),
      brokers: (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","),
      topicPrefix: env.FABRIC_TOPIC_PREFIX ?? "lgf-test",
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.max(100, Math.floor(sessionTimeoutMs / 6)),
      requestPartitions: 4,
      replyPartitions: 4,
    }),
    state: RedisStateStore.fromUrl(env.REDIS_URL ?? "redis://127.0.0.1:6379", { keyPrefix: env.FABRIC_KEY_PREFIX ?? "lgf-test" }),
    registryOptions: { heartbeatIntervalMs: 500 },
    idempotency: { leaseMs: Number(env.FABRIC_LEASE_MS ?? 2000) },
    drainTimeoutMs: 2000,
  });
}
