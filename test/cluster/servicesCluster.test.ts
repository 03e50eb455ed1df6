// The cluster mode of scripts/services.mjs (`--brokers 3`, `--sentinel`): what it starts is a real
// replicated Kafka cluster and a Redis that Sentinel fails over, and the fabric's Redis adapters
// follow the failover when configured from REDIS_SENTINELS. Run with `npm run test:cluster`.
import { randomUUID } from "node:crypto";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerReplicationFactor, ensureTopic } from "../../adapters/kafka/ensureTopic.js";
import { redisConnectionFromEnv } from "../../adapters/redis/redisConnectionFromEnv.js";
import { RedisStateStore } from "../../adapters/redis/RedisStateStore.js";
import {
  CLUSTER_BROKERS,
  ensureKafkaCluster,
  ensureRedisSentinel,
  killRedisNode,
  sentinelPrimary,
  SENTINEL_MASTER_NAME,
  SENTINELS,
  stopKafkaCluster,
  stopRedisSentinel,
} from "../../scripts/servicesCluster.mjs";

const waitFor = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

describe("services cluster mode", () => {
  let startedKafka = false;
  let startedRedis = false;

  beforeAll(async () => {
    const [kafka, redis] = await Promise.all([ensureKafkaCluster(), ensureRedisSentinel()]);
    startedKafka = kafka.started.length > 0;
    startedRedis = redis.started.length > 0;
  });

  afterAll(async () => {
    // Leave running what was running before (someone's `services:up --brokers 3`); stop what this started.
    await Promise.all([startedKafka ? stopKafkaCluster() : undefined, startedRedis ? stopRedisSentinel() : undefined]);
  });

  it("runs 3 brokers; a new topic gets 3 replicas and min.insync.replicas 2, and so do consumer offsets", async () => {
    const kafka = new Kafka({ clientId: "cluster-test", brokers: CLUSTER_BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const topic = `cluster-test-${randomUUID()}`;
    await admin.connect();
    try {
      expect((await admin.describeCluster()).brokers).toHaveLength(3);
      // No replication factor given: the broker's default applies.
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      const metadata = await waitFor("the topic's metadata", async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic, "__consumer_offsets"] });
        return topics.length === 2 ? topics : undefined;
      });
      for (const t of metadata) for (const p of t.partitions) expect(p.replicas, `${t.name}/${p.partitionId}`).toHaveLength(3);
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["min.insync.replicas"] },
          { type: ConfigResourceTypes.TOPIC, name: "__consumer_offsets", configNames: ["min.insync.replicas"] },
        ],
      });
      for (const resource of resources)
        expect(resource.configEntries.find((e) => e.configName === "min.insync.replicas")?.configValue).toBe("2");
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it("the fabric's topics follow the brokers' default replication factor (3 here) when none is configured", async () => {
    const kafka = new Kafka({ clientId: "cluster-test", brokers: CLUSTER_BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const topic = `cluster-test-rf-${randomUUID()}`;
    await admin.connect();
    try {
      expect(await brokerReplicationFactor(admin)).toBe(3);
      await ensureTopic(admin, topic, 2);
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      for (const p of topics[0]?.partitions ?? []) expect(p.replicas).toHaveLength(3);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it("Sentinel fails over when the primary is killed, and a store built from REDIS_SENTINELS follows it", async () => {
    const found = redisConnectionFromEnv({ REDIS_SENTINELS: SENTINELS.join(","), REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME });
    const store = new RedisStateStore(found!.connection, { keyPrefix: `cluster-test-${randomUUID()}` });
    try {
      await store.set("before", { v: 1 });
      // Replicated before the crash, so the promoted replica has it (Redis replicates asynchronously).
      expect(await store.client.call("WAIT", "1", "5000")).toBe(1);
      const before = await sentinelPrimary();
      expect(before).not.toBeNull();
      expect(await killRedisNode(before!.port)).not.toBeNull();
      const after = await waitFor("Sentinel to promote the replica", async () => {
        const primary = await sentinelPrimary();
        return primary && primary.port !== before!.port ? primary : undefined;
      });
      expect(after.port).not.toBe(before!.port);
      // The store's client reconnects to the new primary on its own.
      await waitFor("the store to write after the failover", async () => {
        await store.set("after", { v: 2 });
        return true;
      });
      expect(await store.get("before")).toEqual({ v: 1 });
      expect(await store.get("after")).toEqual({ v: 2 });
      // `up` again brings the killed node back, as a replica of the new primary.
      const again = await ensureRedisSentinel();
      expect(again.started).toEqual([String(before!.port)]);
      expect(await sentinelPrimary()).toEqual(after);
    } finally {
      await store.close();
    }
  });
});
