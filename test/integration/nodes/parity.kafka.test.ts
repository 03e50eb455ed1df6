import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { kafkaTransportOptions, redisUrl } from "../../support/services.js";
import { parityConformance } from "../../conformance/parityConformance.js";

// The parity suite over the real thing: a caller fabric and two worker fabrics, each with its own
// KafkaTransport (its own producer, consumers and groups, as separate processes would have) on one
// broker, sharing state in Redis, with RedisSaver as the checkpointer.
const prefix = `lgf-parity-${randomUUID().slice(0, 8)}`;
const fabrics: Fabric[] = [];
const savers: RedisSaver[] = [];
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  for (let i = 0; i < 3; i += 1) {
    fabrics.push(
      await createFabric({
        transport: new KafkaTransport({
          ...kafkaTransportOptions(),
          topicPrefix: prefix,
          requestPartitions: 4,
          replyPartitions: 4,
          logger: silentLogger,
        }),
        state: RedisStateStore.fromUrl(redisUrl(), { keyPrefix: prefix }),
        registryOptions: { heartbeatIntervalMs: 300 },
        logger: silentLogger,
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(fabrics.map((f) => f.stop({ drainTimeoutMs: 1000 })));
  await Promise.all(savers.map((s) => s.end()));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

parityConformance("Kafka transport, Redis state, RedisSaver", () => ({
  caller: fabrics[0]!,
  workers: [fabrics[1]!, fabrics[2]!],
  checkpointer: () => {
    const saver = new RedisSaver(redisUrl(), { keyPrefix: `${prefix}:cp:${randomUUID().slice(0, 8)}` });
    savers.push(saver);
    return saver;
  },
}));
