/**
 * Creates a topic when missing and waits until its partitions are served.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { isKafkaAuthorizationFailure } from "./kafkaSecurity.js";

/** Tries (about 15 s in all) for a new topic's partitions to be served. */
const TOPIC_READY_ATTEMPTS = 40;

/**
 * Creates `topic` (ignoring "already exists", whatever its partition count) and resolves with its
 * partition count once every partition answers ListOffsets. Not kafkajs's `waitForLeaders`: it
 * gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers for a while after a topic
 * was created, here or by another process.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number, replicationFactor: number): Promise<number> {
  let created = false;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!created) await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }] });
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
