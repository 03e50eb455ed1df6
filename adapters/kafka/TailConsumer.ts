/**
 * Reads chosen partitions of a topic from "now" on, in a private consumer group that never
 * commits: a caller's replies, a process's notices.
 *
 * kafkajs has no manual partition assignment, so the reader joins a group of its own (it is the
 * only member and gets every partition), pauses the partitions it does not want, and seeks the
 * ones it wants to the end offsets it fetched *before* joining. "Latest" would be resolved at the
 * first fetch, after the caller may already have sent a request whose fast reply then lands
 * before that position and is skipped. Because the group never commits, Kafka keeps nothing for
 * it once it is empty, and the transport deletes it on stop.
 *
 * @module
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../../src/observability/logger.js";

/** Settings of a {@link TailConsumer}. */
export interface TailConsumerOptions {
  kafka: Kafka;
  admin: Admin;
  groupId: string;
  topic: string;
  /** Partitions to read; undefined: all of them. */
  partitions: readonly number[] | undefined;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  /** Called for each message in partition order; must not throw (errors are logged). */
  onMessage: (message: KafkaMessage, partition: number) => void;
  logger: Logger;
}

/** A never-committing reader of the tail of some partitions. */
export class TailConsumer {
  private consumer: Consumer | undefined;
  /** Next offset to read per wanted partition; where to seek after any (re)join. */
  private readonly next = new Map<number, string>();
  private wanted: Set<number> | undefined;
  /** Joins of the group so far (a second one means the reader was rebalanced or restarted). */
  joins = 0;

  constructor(private readonly o: TailConsumerOptions) {}

  /** Fetches the end offsets, joins, positions itself; resolves once reading from there. */
  async start(): Promise<void> {
    const { kafka, admin, topic, groupId } = this.o;
    const ends = await admin.fetchTopicOffsets(topic);
    this.wanted = new Set(this.o.partitions ?? ends.map((e) => e.partition));
    for (const e of ends) if (this.wanted.has(e.partition)) this.next.set(e.partition, e.high);
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: this.o.sessionTimeoutMs,
      heartbeatInterval: this.o.heartbeatIntervalMs,
      maxWaitTimeInMs: this.o.maxWaitTimeMs,
      minBytes: 1,
      allowAutoTopicCreation: false,
      // A lone member: nobody else needs time to rejoin.
      rebalanceTimeout: Math.max(this.o.sessionTimeoutMs, 5_000),
    });
    this.consumer = consumer;
    // Runs synchronously inside kafkajs's join, before the first fetch of the new generation.
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.joins++;
      this.position(consumer, event.payload.memberAssignment[topic] ?? []);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    // Resolves after the first join, whose listener has positioned the reader.
    await consumer.run({
      autoCommit: false,
      // A batch at a time: eachMessage would cost kafkajs several awaits per reply for a handler
      // that returns at once. Only messages handed over are resolved, as eachMessage would.
      eachBatchAutoResolve: false,
      eachBatch: (payload) => {
        const { partition } = payload.batch;
        if (!this.wanted?.has(partition)) return Promise.resolve();
        let last: string | undefined;
        for (const message of payload.batch.messages) {
          if (!payload.isRunning() || payload.isStale()) break;
          last = message.offset;
          try {
            this.o.onMessage(message, partition);
          } catch (error) {
            this.o.logger.error("message handler threw", { topic, partition, offset: message.offset, error });
          }
        }
        if (last !== undefined) {
          payload.resolveOffset(last);
          this.next.set(partition, (BigInt(last) + 1n).toString());
        }
        return Promise.resolve();
      },
    });
  }

  /** Leaves the group (the group itself stays, empty, until deleted). */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  private position(consumer: Consumer, assigned: readonly number[]): void {
    const { topic } = this.o;
    const others = assigned.filter((p) => !this.wanted?.has(p));
    if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
    for (const p of assigned) {
      const offset = this.next.get(p);
      if (offset !== undefined) consumer.seek({ topic, partition: p, offset });
    }
  }
}
