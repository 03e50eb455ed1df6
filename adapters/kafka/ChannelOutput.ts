/**
 * The producing side of a `GraphChannel`: output records keyed by thread id, and dead letters.
 *
 * @module
 */
import { Partitioners, type Kafka, type PartitionMetadata, type Producer } from "kafkajs";
import { TransportError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";
import { DeadLetterSink } from "./DeadLetterSink.js";
import { GRAPH_CHANNEL_HEADERS, type GraphChannelOutput } from "./graphChannelMessages.js";
import type { ChannelJob } from "./graphChannelRun.js";
import { ProduceBatcher } from "./ProduceBatcher.js";

/** @internal Where a channel's records go. */
export interface ChannelOutputTarget {
  outputTopic: string;
  /** Partitions of the output topic. */
  outputPartitions: number;
  deadLetterTopic: string;
  /** Largest batch, in bytes. */
  maxMessageBytes: number;
}

/** @internal A connected idempotent producer with its batcher and dead-letter sink. */
export class ChannelOutput {
  /** Where rejected input messages go. */
  readonly deadLetters: DeadLetterSink;
  private readonly batcher: ProduceBatcher;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly meta: PartitionMetadata[];

  private constructor(
    private readonly producer: Producer,
    private readonly target: ChannelOutputTarget,
    logger: Logger,
  ) {
    this.batcher = new ProduceBatcher(producer, target.maxMessageBytes);
    this.deadLetters = new DeadLetterSink(this.batcher, target.deadLetterTopic, logger, { maxRecordBytes: target.maxMessageBytes });
    // All the default partitioner reads of it, for a keyed record, is the partition count.
    this.meta = Array.from({ length: target.outputPartitions }, (_, i) => ({
      partitionErrorCode: 0,
      partitionId: i,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
  }

  /** Connects an idempotent producer: a retried produce is not duplicated, and kafkajs then uses acks=-1 (all in-sync replicas). */
  static async open(kafka: Kafka, target: ChannelOutputTarget, logger: Logger): Promise<ChannelOutput> {
    const producer = kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return new ChannelOutput(producer, target, logger);
  }

  /**
   * Hands one record of `job`'s thread to the producer now (records keep their order per
   * partition); resolves when the broker has it. The input's headers are copied beside ours.
   */
  send(job: ChannelJob, value: Buffer, type: GraphChannelOutput["type"]): Promise<void> {
    // Kafka's default partitioner (murmur2 of the key): a thread's records share a partition, as if produced by key.
    const partition = this.partitioner({
      topic: this.target.outputTopic,
      partitionMetadata: this.meta,
      message: { key: job.threadId, value },
    });
    const headers = {
      ...(job.headers ?? {}),
      [GRAPH_CHANNEL_HEADERS.type]: type,
      [GRAPH_CHANNEL_HEADERS.source]: `${job.topic}/${job.partition}/${job.offset}`,
    };
    return this.batcher.send({ topic: this.target.outputTopic, partition, key: job.threadId, value, headers });
  }

  /** Flushes for up to `flushMs`, fails what is left, and disconnects. */
  async close(flushMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.batcher.idle(), new Promise((resolve) => (timer = setTimeout(resolve, flushMs)))]);
    clearTimeout(timer);
    this.batcher.failQueued(new TransportError("the GraphChannel stopped before this record was produced"));
    await this.producer.disconnect();
  }
}
