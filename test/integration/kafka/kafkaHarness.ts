// Shared pieces of the Kafka integration tests: a transport factory on a per-file topic prefix, a
// raw producer for poison and forged messages, and a reader of the dead-letter topic.
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, Partitioners, type Consumer, type IHeaders, type Producer } from "kafkajs";
import { KafkaTransport, type KafkaTransportOptions } from "../../../adapters/kafka/KafkaTransport.js";
import { DEAD_LETTER_HEADERS } from "../../../adapters/kafka/DeadLetterSink.js";
import { parseReplyTo } from "../../../adapters/kafka/topicNames.js";
import { createConsoleLogger } from "../../../src/observability/logger.js";
import type { Transport } from "../../../src/transport/Transport.js";
import type { TransportHarness } from "../../conformance/transportConformance.js";
import { kafkaBrokers, kafkaTransportOptions, testSigningKeys } from "../../support/services.js";
import { SigningKeyRing } from "../../../src/transport/signingKeys.js";

/** A dead letter read back from `<prefix>.dlq`. */
export interface ReadDeadLetter {
  reason: string;
  error: string;
  source: string;
  value: Buffer | null;
  headers: IHeaders;
}

/** Kafka resources of one test file. */
export class KafkaTestContext {
  readonly prefix = `lgft${randomBytes(4).toString("hex")}`;
  readonly brokers = kafkaBrokers();
  readonly kafka = new Kafka({ clientId: "lgf-tests", brokers: this.brokers, logLevel: logLevel.NOTHING });
  readonly admin = this.kafka.admin();
  private producer: Producer | undefined;
  private dlqConsumer: Consumer | undefined;
  private readonly letters: ReadDeadLetter[] = [];
  private readonly transports: Transport[] = [];

  /** A KafkaTransport on this file's prefix with test-friendly timings; not started. */
  transport(options: Partial<KafkaTransportOptions> = {}): KafkaTransport {
    // Signed with the run's keys unless the test chose its own keys (or none, by name).
    const chosen = options.signingKey !== undefined || options.signingKeys !== undefined || options.insecure === true;
    const t = new KafkaTransport({
      ...kafkaTransportOptions(),
      ...(chosen ? { signingKeys: undefined } : {}),
      topicPrefix: this.prefix,
      requestPartitions: 4,
      replyPartitions: 4,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 300,
      logger: createConsoleLogger({ level: "error", name: "kafka-test" }),
      ...options,
    });
    this.transports.push(t);
    return t;
  }

  /** Produces raw bytes (no codec) to a topic partition, signed with the run's keys as a key holder would. */
  async produceSigned(topic: string, partition: number, value: Buffer | null): Promise<void> {
    const headers = value === null ? undefined : { "lgf-sig": new SigningKeyRing(testSigningKeys()).sign(value) };
    await this.produceRaw(topic, partition, value, headers);
  }

  /** Produces raw bytes (no codec) to a topic partition. */
  async produceRaw(topic: string, partition: number, value: Buffer | null, headers?: IHeaders): Promise<void> {
    if (!this.producer) {
      this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
    }
    await this.producer.send({ topic, messages: [{ partition, value, headers }] });
  }

  /** Every dead letter produced under this prefix so far. */
  async deadLetters(): Promise<ReadDeadLetter[]> {
    if (!this.dlqConsumer) {
      const consumer = this.kafka.consumer({ groupId: `${this.prefix}.test-dlq-reader`, maxWaitTimeInMs: 50 });
      this.dlqConsumer = consumer;
      await consumer.connect();
      await consumer.subscribe({ topic: `${this.prefix}.dlq`, fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          const h = message.headers ?? {};
          this.letters.push({
            reason: String(h[DEAD_LETTER_HEADERS.reason]),
            error: String(h[DEAD_LETTER_HEADERS.error]),
            source: String(h[DEAD_LETTER_HEADERS.source]),
            value: message.value,
            headers: h,
          });
          return Promise.resolve();
        },
      });
    }
    return [...this.letters];
  }

  /** Stops the transports made since the last call. */
  async stopTransports(): Promise<void> {
    const ts = this.transports.splice(0);
    await Promise.all(ts.map((t) => t.stop()));
  }

  /** Releases everything and deletes this prefix's topics. */
  async close(): Promise<void> {
    await this.stopTransports();
    await this.dlqConsumer?.disconnect();
    await this.producer?.disconnect();
    await this.admin.connect();
    const topics = (await this.admin.listTopics()).filter((t) => t.startsWith(`${this.prefix}.`));
    if (topics.length > 0) await this.admin.deleteTopics({ topics }).catch(() => undefined);
    await this.admin.disconnect();
  }

  /** The conformance harness on this context. */
  harness(): TransportHarness {
    return {
      makeTransport: (options) => this.transport(options),
      injectReply: async (replyTo, value, signature) => {
        const to = parseReplyTo(replyTo);
        if (!to) throw new Error(`bad replyTo ${replyTo}`);
        await this.produceRaw(to.topic, to.partition, Buffer.from(value), signature === undefined ? undefined : { "lgf-sig": signature });
      },
      deadLetters: async () => (await this.deadLetters()).map((l) => ({ reason: l.reason, error: l.error })),
      cleanup: () => this.stopTransports(),
    };
  }
}
