/**
 * `createFabricFromEnv`: a fabric configured by the environment, as workers and runners in
 * containers are — `KAFKA_BROKERS` and `REDIS_URL` (or `REDIS_SENTINELS`) make it distributed,
 * neither keeps the embedded default.
 *
 * It lives in the Kafka entry because the core (`langgraph-fabric`) never imports a client
 * library: a distributed fabric needs both adapters, and this is the one place that builds them.
 *
 * @module
 */
import { ConfigurationError } from "../../src/errors.js";
import { createFabric, type Fabric, type FabricConfig } from "../../src/fabric.js";
import { redisConnectionFromEnv } from "../redis/redisConnectionFromEnv.js";
import { RedisStateStore } from "../redis/RedisStateStore.js";
import { redisSecurityFromEnv } from "../redis/redisSecurity.js";
import { kafkaBrokersFromEnv } from "./kafkaBrokersFromEnv.js";
import { KafkaTransport, withoutSigning } from "./KafkaTransport.js";
import { signingFromEnv } from "./signingFromEnv.js";
import type { KafkaTransportOptions } from "./kafkaDefaults.js";
import { kafkaSecurityFromEnv } from "./kafkaSecurityFromEnv.js";

/** Options of {@link createFabricFromEnv}: the fabric's own, plus options of the transport it builds. */
export interface FabricFromEnvOptions extends Omit<FabricConfig, "transport" | "state" | "closeState"> {
  /** Options of the `KafkaTransport` (brokers and `topicPrefix` come from the environment). */
  kafka?: Omit<KafkaTransportOptions, "brokers" | "kafka">;
}

const PREFIX = /^[a-zA-Z0-9._-]{1,100}$/;

/**
 * Creates and starts a fabric from the environment:
 *
 * - `KAFKA_BROKERS` (comma-separated `host:port`) and `REDIS_URL` (`redis://…`): a `KafkaTransport`
 *   and a `RedisStateStore` (closed by `fabric.stop()`), so calls, registry, idempotency records
 *   and coordination state are shared by every process with the same settings;
 * - `REDIS_SENTINELS` (comma-separated `host:port` of Sentinels) and `REDIS_SENTINEL_NAME` instead
 *   of `REDIS_URL`: the store follows the primary through a Sentinel failover (see
 *   `redisConnectionFromEnv` in `langgraph-fabric/redis`, which also reads `REDIS_PASSWORD` and
 *   `REDIS_SENTINEL_PASSWORD`);
 * - `FABRIC_PREFIX` (optional): the topic prefix and the key prefix, so several fabrics can share
 *   one broker and one Redis;
 * - `KAFKA_SSL`, `KAFKA_SSL_CA_FILE`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
 *   `KAFKA_SASL_PASSWORD(_FILE)`… (optional): TLS and SASL to the brokers (`kafkaSecurityFromEnv`;
 *   `kafka.ssl` / `kafka.sasl` in `options` win); a `rediss://user:password@…` URL and
 *   `REDIS_TLS_CA_FILE`… (optional): TLS and an ACL user for Redis (`redisSecurityFromEnv`);
 * - `FABRIC_SIGNING_KEYS` (`id:base64,…`, oldest first): the message-signing keys, required for a
 *   distributed fabric unless `FABRIC_INSECURE=1` opts out (see docs/security.md);
 * - neither variable: the embedded default, as `createFabric()`.
 *
 * ```ts
 * import { createFabricFromEnv } from "langgraph-fabric/kafka";
 * const fabric = await createFabricFromEnv();
 * await fabric.serve(builder, { nodes: ["momentum"] });
 * ```
 *
 * @throws ConfigurationError when only one of the two is set (a fabric spread over processes needs
 *   both: Kafka carries the calls, Redis holds what the processes share), or a value is malformed;
 *   SigningKeyRequiredError when the fabric is distributed and has neither keys nor `FABRIC_INSECURE=1`;
 *   FabricUnavailableError when a server does not answer (see `degradation`).
 */
export async function createFabricFromEnv(options: FabricFromEnvOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<Fabric> {
  const { kafka: kafkaOptions, ...config } = options;
  const brokers = kafkaBrokersFromEnv(env);
  const redis = redisConnectionFromEnv(env);
  if (brokers === undefined && redis === undefined) return createFabric(config);
  if (brokers === undefined) {
    throw new ConfigurationError(`${env.REDIS_SENTINELS?.trim() ? "REDIS_SENTINELS" : "REDIS_URL"} is set but KAFKA_BROKERS is not`, {
      hint: 'a distributed fabric needs both: set KAFKA_BROKERS="host:9092" too (or unset REDIS_URL for the embedded default)',
    });
  }
  if (redis === undefined) {
    throw new ConfigurationError("KAFKA_BROKERS is set but REDIS_URL is not", {
      hint: "a distributed fabric needs both: set REDIS_URL=redis://host:6379 (or REDIS_SENTINELS and REDIS_SENTINEL_NAME) too, or unset KAFKA_BROKERS for the embedded default",
    });
  }
  const prefix = env.FABRIC_PREFIX?.trim() || undefined;
  if (prefix !== undefined && !PREFIX.test(prefix)) {
    throw new ConfigurationError(`FABRIC_PREFIX "${prefix}" must be 1-100 characters of [a-zA-Z0-9._-]`);
  }
  const signing = signingFromEnv(env);
  const transport = new KafkaTransport({
    ...(config.logger ? { logger: config.logger } : {}),
    ...kafkaSecurityFromEnv(env),
    ...(signing.signingKeys !== undefined || signing.insecure ? withoutSigning(kafkaOptions ?? {}) : kafkaOptions),
    ...signing,
    brokers,
    ...(prefix === undefined ? {} : { topicPrefix: prefix }),
  });
  const state = new RedisStateStore(redis.connection, {
    ...redisSecurityFromEnv(env),
    ...(prefix === undefined ? {} : { keyPrefix: prefix }),
  });
  try {
    const fabric = await createFabric({ ...config, transport, state, closeState: true });
    // Degradation "fallback" replaced an unreachable Redis: this store is not used, let it go.
    if (fabric.status().degraded.state !== undefined) await state.close().catch(() => undefined);
    return fabric;
  } catch (e) {
    await state.close().catch(() => undefined);
    throw e;
  }
}
