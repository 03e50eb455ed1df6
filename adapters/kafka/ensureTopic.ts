/**
 * Creates a topic when missing and waits until its partitions are served.
 *
 * @module
 */
import kafkajs, { type Admin } from "kafkajs";

// kafkajs's `ConfigResourceTypes` is not among the named exports Node finds in its CommonJS build.
const BROKER_RESOURCE = kafkajs.ConfigResourceTypes.BROKER;
import { isKafkaAuthorizationFailure } from "./kafkaSecurity.js";

/** Tries (about 15 s in all) for a new topic's partitions to be served. */
const TOPIC_READY_ATTEMPTS = 40;

/** The brokers' default replication factor, per admin client (asked once). */
const brokerDefaults = new WeakMap<Admin, Promise<number>>();

/**
 * The replication factor topics get when none is configured: the brokers' own
 * `default.replication.factor`, capped at the number of live brokers. kafkajs speaks CreateTopics
 * up to v3, which cannot say "the broker's default" (-1 needs v4), so it is read and passed on:
 * a fabric on a 3-broker cluster set up for RF 3 gets RF 3 without being told, and one local
 * broker still gets 1. A user not allowed to read broker configs gets 3, capped the same way.
 */
export function brokerReplicationFactor(admin: Admin): Promise<number> {
  let known = brokerDefaults.get(admin);
  if (known === undefined) {
    known = (async () => {
      const { brokers } = await admin.describeCluster();
      const first = brokers[0];
      if (first === undefined) return 1;
      let value = Number.NaN;
      try {
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: BROKER_RESOURCE, name: String(first.nodeId), configNames: ["default.replication.factor"] }],
        });
        value = Number(described.resources[0]?.configEntries.find((e) => e.configName === "default.replication.factor")?.configValue);
      } catch {
        // A user without DescribeConfigs on the cluster (a tight ACL set) cannot read it: take the
        // production value, 3, as far as there are brokers for it.
        value = 3;
      }
      return Math.max(1, Math.min(Number.isInteger(value) && value > 0 ? value : 1, brokers.length));
    })();
    // A failed look-up is asked again next time rather than remembered.
    known.catch(() => brokerDefaults.delete(admin));
    brokerDefaults.set(admin, known);
  }
  return known;
}

/**
 * Creates `topic` (ignoring "already exists", whatever its partition count) and resolves with its
 * partition count once every partition answers ListOffsets. Not kafkajs's `waitForLeaders`: it
 * gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers for a while after a topic
 * was created, here or by another process. Without `replicationFactor`, the brokers' default
 * ({@link brokerReplicationFactor}).
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number, replicationFactor?: number): Promise<number> {
  let created = false;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!created) {
        const factor = replicationFactor ?? (await brokerReplicationFactor(admin));
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: factor }] });
      }
      created = true;
      return (await admin.fetchTopicOffsets(topic)).length;
    } catch (error) {
      if (attempt >= TOPIC_READY_ATTEMPTS || isKafkaAuthorizationFailure(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)).unref());
    }
  }
}

/** Partition count of an existing topic (retrying while a new topic's metadata spreads). */
export async function topicPartitionCount(admin: Admin, topic: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await admin.fetchTopicOffsets(topic)).length;
    } catch (error) {
      if (attempt >= TOPIC_READY_ATTEMPTS || isKafkaAuthorizationFailure(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)).unref());
    }
  }
}
