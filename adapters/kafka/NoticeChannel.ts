/**
 * Fabric-wide notices over `<prefix>.events`: every subscribing process reads the whole topic
 * from the moment it subscribed, in a private group that never commits, and keeps the channels
 * it listens to.
 *
 * @module
 */
import type { Admin, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../../src/observability/logger.js";
import { ENVELOPE_VERSION, type EnvelopeCodec, type NoticeHeader } from "../../src/transport/envelope.js";
import type { Notice } from "../../src/transport/Transport.js";
import { signatureHeaders, type DeadLetterSink } from "./DeadLetterSink.js";
import type { ProduceBatcher } from "./ProduceBatcher.js";
import { TailConsumer } from "./TailConsumer.js";
import type { TopicNames } from "./topicNames.js";

/** @internal What a {@link NoticeChannel} is built from. */
export interface NoticeChannelParts {
  kafka: Kafka;
  admin: Admin;
  names: TopicNames;
  callerId: string;
  codec: EnvelopeCodec;
  batcher: ProduceBatcher;
  deadLetters: DeadLetterSink;
  logger: Logger;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
}

/** @internal Publishes and subscribes to notices for one transport. */
export class NoticeChannel {
  private readonly channels = new Map<string, Set<(notice: Notice) => void>>();
  private reader: Promise<TailConsumer> | undefined;

  constructor(private readonly p: NoticeChannelParts) {}

  /** Produces a notice; every subscriber of `channel` receives it (this process's too). */
  async publish(channel: string, payload: Uint8Array): Promise<void> {
    const header: NoticeHeader = { v: ENVELOPE_VERSION, kind: "notice", channel, sender: this.p.callerId, payloadType: "bytes" };
    const frame = this.p.codec.encode(header, payload);
    // One partition: notices keep one fabric-wide order.
    await this.p.batcher.send({
      topic: this.p.names.events,
      partition: 0,
      key: channel,
      value: frame.value,
      headers: signatureHeaders(frame),
    });
  }

  /** Starts the reader on first use; resolves once positioned, with the unsubscribe function. */
  async subscribe(channel: string, handler: (notice: Notice) => void): Promise<() => Promise<void>> {
    this.reader ??= this.startReader().catch((error: unknown) => {
      this.reader = undefined;
      throw error;
    });
    await this.reader;
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    // A wrapper per subscription, so the same function subscribed twice unsubscribes once each.
    const entry = (notice: Notice): void => {
      handler(notice);
    };
    set.add(entry);
    return () => {
      const current = this.channels.get(channel);
      current?.delete(entry);
      if (current?.size === 0) this.channels.delete(channel);
      return Promise.resolve();
    };
  }

  /** Stops the reader; resolves with the id of the group it used, if it ever started (to delete it). */
  async stop(): Promise<string | undefined> {
    const reader = await this.reader?.catch(() => undefined);
    this.reader = undefined;
    if (!reader) return undefined;
    await reader.stop();
    return this.p.names.noticeGroup(this.p.callerId);
  }

  private async startReader(): Promise<TailConsumer> {
    const reader = new TailConsumer({
      kafka: this.p.kafka,
      admin: this.p.admin,
      groupId: this.p.names.noticeGroup(this.p.callerId),
      topic: this.p.names.events,
      partitions: undefined,
      sessionTimeoutMs: this.p.sessionTimeoutMs,
      heartbeatIntervalMs: this.p.heartbeatIntervalMs,
      maxWaitTimeMs: this.p.maxWaitTimeMs,
      onMessage: (message, partition) => {
        this.receive(message, partition);
      },
      logger: this.p.logger,
    });
    await reader.start();
    return reader;
  }

  private receive(message: KafkaMessage, partition: number): void {
    const envelope = this.p.deadLetters.decodeOrReject(this.p.codec, message, {
      topic: this.p.names.events,
      partition,
      offset: message.offset,
    });
    if (!envelope) return;
    const { header, payload } = envelope;
    if (header.kind !== "notice") {
      this.p.deadLetters.reject(
        "unexpected_kind",
        `a ${header.kind} arrived on ${this.p.names.events}`,
        { topic: this.p.names.events, partition, offset: message.offset },
        message,
      );
      return;
    }
    for (const handler of this.channels.get(header.channel) ?? []) {
      try {
        handler({ channel: header.channel, sender: header.sender, payload });
      } catch (error) {
        this.p.logger.warn("notice handler threw", { channel: header.channel, error });
      }
    }
  }
}
