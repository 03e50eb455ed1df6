// Topics created without a configured replication factor take the brokers' own default, capped at
// the live brokers: 1 on the single test broker (the 3-broker case is in test/cluster).
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerReplicationFactor, ensureTopic } from "../../../adapters/kafka/ensureTopic.js";
import { kafkaBrokers } from "../../support/services.js";

describe("default replication factor", () => {
  const kafka = new Kafka({ clientId: "rf-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topics: string[] = [];
  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it("is the broker's default.replication.factor, capped at the live brokers, and is used for new topics", async () => {
    const { brokers } = await admin.describeCluster();
    expect(await brokerReplicationFactor(admin)).toBe(Math.min(1, brokers.length));
    const topic = `rf-test-${randomUUID()}`;
    topics.push(topic);
    expect(await ensureTopic(admin, topic, 3)).toBe(3);
    const { topics: described } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(described[0]?.partitions.map((p) => p.replicas.length)).toEqual([1, 1, 1]);
  });

  it("a configured factor wins over the broker's default", async () => {
    const topic = `rf-test-${randomUUID()}`;
    topics.push(topic);
    // 2 on one broker cannot be placed: the broker refuses, which proves the value was passed on.
    const error = (await ensureTopic(admin, topic, 1, 2).then(
      () => undefined,
      (e: unknown) => e,
    )) as { errors?: { type?: string }[] } | undefined;
    expect(error?.errors?.[0]?.type).toBe("INVALID_REPLICATION_FACTOR");
  });
});
