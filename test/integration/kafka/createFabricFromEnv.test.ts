// createFabricFromEnv: the environment decides — nothing is the embedded default, KAFKA_BROKERS and
// REDIS_URL a distributed fabric on the real broker and Redis (a node served by one fabric is
// called by another, and stop() closes the store it opened), one without the other a typed error.
import { RunnableLambda } from "@langchain/core/runnables";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createFabricFromEnv } from "../../../adapters/kafka/createFabricFromEnv.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { isConfigurationError, isSigningKeyRequiredError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { redisUrl } from "../../support/services.js";
import { KafkaTestContext } from "./kafkaHarness.js";

const context = new KafkaTestContext();
afterAll(async () => {
  const redis = new Redis(redisUrl());
  await deleteByPrefix(redis, context.prefix);
  await redis.quit();
  await context.close();
}, 60_000);

function redisClient(fabric: { state: unknown }): Redis {
  if (!(fabric.state instanceof RedisStateStore)) throw new Error("not a RedisStateStore");
  return fabric.state.client as Redis;
}

const quick = { logger: silentLogger, monitors: false as const, registryOptions: { heartbeatIntervalMs: 300 } };

describe("createFabricFromEnv", () => {
  it("is the embedded default when neither KAFKA_BROKERS nor REDIS_URL is set", async () => {
    const fabric = await createFabricFromEnv(quick, {});
    expect(fabric.transport.kind).toBe("memory");
    await fabric.stop();
  });

  it("refuses one without the other, saying what to set", async () => {
    const onlyKafka = await createFabricFromEnv(quick, { KAFKA_BROKERS: context.brokers.join(",") }).catch((e: unknown) => e);
    expect(isConfigurationError(onlyKafka)).toBe(true);
    expect((onlyKafka as Error).message).toMatch(/REDIS_URL is not/);
    const onlyRedis = await createFabricFromEnv(quick, { REDIS_URL: redisUrl() }).catch((e: unknown) => e);
    expect((onlyRedis as Error).message).toMatch(/KAFKA_BROKERS is not/);
    const badUrl = await createFabricFromEnv(quick, { KAFKA_BROKERS: "h:1", REDIS_URL: "localhost:6379" }).catch((e: unknown) => e);
    expect((badUrl as Error).message).toMatch(/not a redis:\/\//);
  });

  it("refuses a distributed fabric without FABRIC_SIGNING_KEYS (or FABRIC_INSECURE=1)", async () => {
    const env = { KAFKA_BROKERS: context.brokers.join(","), REDIS_URL: redisUrl(), FABRIC_PREFIX: context.prefix };
    const refused = await createFabricFromEnv(quick, env).catch((e: unknown) => e);
    expect(isSigningKeyRequiredError(refused)).toBe(true);
  });

  it("with both, builds a Kafka transport and a Redis store under FABRIC_PREFIX, and closes the store on stop", async () => {
    const env = {
      KAFKA_BROKERS: context.brokers.join(","),
      REDIS_URL: redisUrl(),
      FABRIC_PREFIX: context.prefix,
      FABRIC_SIGNING_KEYS: inject("signingKeys"),
    };
    const worker = await createFabricFromEnv({ ...quick, kafka: { requestPartitions: 2, replyPartitions: 2 } }, env);
    const caller = await createFabricFromEnv({ ...quick, kafka: { requestPartitions: 2, replyPartitions: 2 } }, env);
    try {
      expect([worker.transport.kind, caller.transport.kind]).toEqual(["kafka", "kafka"]);
      await worker.serve({ double: RunnableLambda.from((x: { n: number }) => ({ n: x.n * 2 })) }, { nodes: ["double"] });
      const config = { configurable: { thread_id: "env", checkpoint_ns: "double:1" }, executionInfo: { taskId: "1" } };
      expect(await caller.remoteNode("double").invoke({ n: 21 }, config)).toEqual({ n: 42 });
      expect(caller.state).toBeInstanceOf(RedisStateStore);
      const keys = await redisClient(caller).keys(`${context.prefix}*`); // test only
      expect(keys.length).toBeGreaterThan(0); // the registry and idempotency records went to Redis, under the prefix
    } finally {
      await caller.stop({ drainTimeoutMs: 1000 });
      await worker.stop({ drainTimeoutMs: 1000 });
    }
    expect(redisClient(caller).status).toBe("end");
  });
});
