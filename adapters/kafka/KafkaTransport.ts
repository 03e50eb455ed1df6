/**
 * The Kafka transport (kafkajs 2.2.4). Requests go to `<prefix>.node.<node>`, to a partition owned
 * by the replica the balancer chose; the node's replicas form one consumer group on that topic,
 * so a dead replica's partitions, with their unanswered requests, move to a survivor. Replies and
 * events go to one partition of `<prefix>.replies` chosen by the caller's id; notices to
 * `<prefix>.events`; what cannot be parsed to `<prefix>.dlq`.
 *
 * @module
 */
import { Kafka, logLevel, Partitioners, type Admin, type KafkaMessage, type Producer } from "kafkajs";
import { ConfigurationError, TransportError } from "../../src/errors.js";
import { createConsoleLogger, type Logger } from "../../src/observability/logger.js";
import { EnvelopeCodec, ENVELOPE_VERSION, type CancelHeader, type Frame, type RequestHeader } from "../../src/transport/envelope.js";
import { PendingCalls, type PendingCallsStats } from "../../src/transport/PendingCalls.js";
import type {
  CallOptions,
  CallReply,
  Notice,
  OutgoingRequestHeader,
  ReplicaAddress,
  RequestHandler,
  ServeHandle,
  ServeOptions,
  Transport,
} from "../../src/transport/Transport.js";
import { DeadLetterSink, signatureHeaders } from "./DeadLetterSink.js";
import { ensureTopic } from "./ensureTopic.js";
import { deleteGroups, sweepEmptyGroups } from "./groupJanitor.js";
import { KafkaReplica } from "./KafkaReplica.js";
import { KAFKA_TRANSPORT_DEFAULTS, resolveKafkaOptions, type KafkaTransportOptions, type ResolvedKafkaOptions } from "./kafkaDefaults.js";
import { kafkaBrokersFromEnv } from "./kafkaBrokersFromEnv.js";
import { signingFromEnv } from "./signingFromEnv.js";
import { kafkaLogCreator } from "./kafkaLogger.js";
import { checkKafkaSecurity, kafkaSecurityConfig, kafkaSecurityError, warnAboutPlainSasl } from "./kafkaSecurity.js";
import { kafkaSecurityFromEnv } from "./kafkaSecurityFromEnv.js";
import { NoticeChannel } from "./NoticeChannel.js";
import { patchKafkajsIdleLoop } from "./patchKafkajsIdleLoop.js";
import { patchKafkajsPausedWait } from "./patchKafkajsPausedWait.js";
import { ProduceBatcher } from "./ProduceBatcher.js";
import { ReplicaMember } from "./ReplicaMember.js";
import { TailConsumer } from "./TailConsumer.js";
import { formatReplyTo, replyPartitionFor, TopicNames } from "./topicNames.js";

export type { KafkaTransportOptions } from "./kafkaDefaults.js";

interface Connection {
  readonly admin: Admin;
  readonly producer: Producer;
  readonly batcher: ProduceBatcher;
  readonly deadLetters: DeadLetterSink;
  readonly replies: TailConsumer;
  readonly replyPartition: number;
  readonly notices: NoticeChannel;
}

const callKey = (h: { caller: string; id: string }): string => `${h.caller}\u0000${h.id}`;

/** A {@link Transport} over Apache Kafka. Construct, then `start()`; no I/O happens before. */
export class KafkaTransport implements Transport {
  readonly kind = "kafka";
  readonly callerId: string;
  /** Topic and group names of this fabric. */
  readonly names: TopicNames;
  private readonly o: ResolvedKafkaOptions;
  private readonly logger: Logger;
  private readonly codec: EnvelopeCodec;
  private readonly pending: PendingCalls;
  private readonly kafka: Kafka;
  private conn: Connection | undefined;
  private starting: Promise<void> | undefined;
  private readonly topics = new Map<string, Promise<number>>();
  private readonly replicas = new Set<KafkaReplica>();
  /** The consumers of this process in the fabric's replica group; see `ReplicaMember`. */
  private members: ReplicaMember[] = [];
  /** Where each call's request went (partition), so its cancel follows it. */
  private readonly sentTo = new Map<string, Promise<{ topic: string; partition: number }>>();
  private sweep: Promise<unknown> | undefined;
  private roundRobin = 0;

  /** @throws RangeError naming the option and value when an option is invalid. */
  constructor(options: KafkaTransportOptions) {
    this.o = resolveKafkaOptions(options);
    patchKafkajsIdleLoop();
    patchKafkajsPausedWait();
    this.callerId = this.o.callerId;
    this.names = new TopicNames(this.o.topicPrefix);
    this.logger = this.o.logger ?? createConsoleLogger({ name: "fabric:kafka" });
    this.codec = new EnvelopeCodec({ maxMessageBytes: this.o.maxMessageBytes, signingKeys: this.o.signingKeys });
    this.pending = new PendingCalls(this.o.now, this.logger);
    if (this.o.kafka === undefined) warnAboutPlainSasl(this.o.security, this.logger);
    this.kafka =
      this.o.kafka ??
      new Kafka({
        clientId: this.o.clientId,
        brokers: this.o.brokers ?? [],
        ...kafkaSecurityConfig(this.o.security),
        logLevel: process.env.FABRIC_LOG_LEVEL === "debug" ? logLevel.INFO : logLevel.WARN,
        logCreator: kafkaLogCreator(this.logger),
      });
  }

  /**
   * A transport on the brokers named by `KAFKA_BROKERS` (comma-separated `host:port`), with the TLS
   * and SASL settings of `KAFKA_SSL*` and `KAFKA_SASL_*` (see `kafkaSecurityFromEnv`; `ssl` and
   * `sasl` given in `options` win over them), signing with `FABRIC_SIGNING_KEYS` (or, by name,
   * `FABRIC_INSECURE=1`; these win over `options`).
   *
   * @throws ConfigurationError when `KAFKA_BROKERS` is unset or malformed, a security variable is
   *   malformed or names a file that cannot be read, or a signing key is malformed;
   *   SigningKeyRequiredError when neither the environment nor `options` gives keys or `insecure`.
   */
  static fromEnv(options: Omit<KafkaTransportOptions, "brokers"> = {}, env: NodeJS.ProcessEnv = process.env): KafkaTransport {
    const brokers = kafkaBrokersFromEnv(env);
    if (!brokers)
      throw new ConfigurationError("KAFKA_BROKERS is not set", {
        hint: 'set KAFKA_BROKERS="host:9092,…" (or pass brokers to new KafkaTransport)',
      });
    const signing = signingFromEnv(env);
    const base = signing.signingKeys !== undefined || signing.insecure ? withoutSigning(options) : options;
    return new KafkaTransport({ ...kafkaSecurityFromEnv(env), ...base, ...signing, brokers });
  }

  /** Reply partition of this caller (diagnostic; tests use it). */
  get replyTo(): string | undefined {
    return this.conn && formatReplyTo(this.names.replies, this.conn.replyPartition);
  }

  /** Replies and events refused because they answered no request in flight (replays, forgeries), and event-buffer overflows. */
  callStats(): PendingCallsStats {
    return this.pending.stats();
  }

  start(): Promise<void> {
    if (this.conn) return Promise.resolve();
    if (this.o.insecure)
      this.logger.warn("INSECURE: this Kafka transport neither signs nor verifies messages (insecure: true / FABRIC_INSECURE=1)", {
        hint: "anyone who can write to its topics can forge node requests and replies; set FABRIC_SIGNING_KEYS (see docs/security.md)",
        topicPrefix: this.o.topicPrefix,
      });
    this.starting ??= this.connect().finally(() => (this.starting = undefined));
    return this.starting;
  }

  // async so that every refusal below is a rejection, never a synchronous throw.
  async call(outgoing: OutgoingRequestHeader, payload: Uint8Array, options: CallOptions): Promise<CallReply> {
    const conn = this.conn;
    if (!conn) throw new TransportError(`cannot call node "${outgoing.node}": the transport is not started or has stopped`);
    if (options.signal?.aborted) throw options.signal.reason;
    const header: RequestHeader = {
      ...outgoing,
      v: ENVELOPE_VERSION,
      kind: "request",
      caller: this.callerId,
      replyTo: formatReplyTo(this.names.replies, conn.replyPartition),
      nonce: this.pending.nonce(),
    };
    const frame = this.codec.encode(header, payload);
    const key = callKey(header);
    const reply = this.pending.add(header, options, (h) => {
      this.sendCancel(h);
    });
    if (!this.pending.has(header.id)) return reply; // deadline already passed
    const sent = this.sendRequest(conn, header, frame, options.target);
    this.sentTo.set(key, sent);
    sent.catch((error: unknown) =>
      this.pending.fail(header.id, new TransportError(`could not send the request to node "${header.node}"`, { cause: error })),
    );
    const forget = (): void => {
      this.sentTo.delete(key);
    };
    reply.then(forget, forget);
    return reply;
  }

  async serve(node: string, handler: RequestHandler, options: ServeOptions): Promise<ServeHandle> {
    const conn = this.conn;
    if (!conn) throw new TransportError(`cannot serve node "${node}": the transport is not started or has stopped`);
    if (node.length === 0 || node.length > 256) throw new RangeError(`node must be 1-256 characters (got ${JSON.stringify(node)})`);
    if (options.replicaId.length === 0 || options.replicaId.length > 200)
      throw new RangeError(`replicaId must be 1-200 characters (got ${JSON.stringify(options.replicaId)})`);
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      throw new RangeError(`concurrency must be an integer >= 1 (got ${options.concurrency})`);
    const topic = this.names.requests(node);
    // Reserved before the topic exists, so the nodes served together join the group together.
    const member = this.memberFor(topic);
    const unreserve = member.reserve(topic);
    try {
      await this.ensureTopic(conn.admin, topic, this.o.requestPartitions);
    } catch (error) {
      unreserve();
      throw error;
    }
    const replica = new KafkaReplica({
      names: this.names,
      node,
      handler,
      options,
      codec: this.codec,
      batcher: conn.batcher,
      deadLetters: conn.deadLetters,
      logger: this.logger,
      now: this.o.now,
      member,
      drainTimeoutMs: KAFKA_TRANSPORT_DEFAULTS.drainTimeoutMs,
      onStopped: (r) => this.replicas.delete(r),
    });
    this.replicas.add(replica);
    try {
      await replica.start();
    } catch (error) {
      await replica.stop().catch(() => undefined);
      const security = kafkaSecurityError(error, { brokers: this.o.brokers ?? [], security: this.o.security });
      if (security) throw security;
      throw new TransportError(`replica ${options.replicaId} of node "${node}" could not join its group`, { cause: error });
    }
    return replica;
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    const conn = this.conn;
    if (!conn) throw new TransportError(`cannot publish on "${channel}": the transport is not started or has stopped`);
    await conn.notices.publish(channel, payload);
  }

  async subscribe(channel: string, handler: (notice: Notice) => void): Promise<() => Promise<void>> {
    const conn = this.conn;
    if (!conn) throw new TransportError(`cannot subscribe to "${channel}": the transport is not started or has stopped`);
    return conn.notices.subscribe(channel, handler);
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    this.pending.rejectAll(new TransportError(`transport of caller ${this.callerId} stopped while the call was waiting for its reply`));
    let noticeGroup: string | undefined;
    const settle = async (what: string, work: Promise<unknown>): Promise<void> => {
      await work.catch((error: unknown) => this.logger.debug(`stop: ${what} failed`, { error }));
    };
    await Promise.all([
      ...[...this.replicas].map((r) => settle("replica stop", r.stop())),
      ...this.members.map((m) => settle("replica consumer stop", m.stop())),
      settle("reply consumer stop", conn.replies.stop()),
      settle(
        "notice consumer stop",
        conn.notices.stop().then((group) => (noticeGroup = group)),
      ),
    ]);
    await settle("flushing", Promise.race([conn.batcher.idle(), sleep(1000)]));
    conn.batcher.failQueued(new TransportError("the transport stopped before this message was sent"));
    await Promise.all([
      settle("producer disconnect", conn.producer.disconnect()),
      // No offsets were ever committed, so deleting the emptied groups leaves nothing behind.
      settle(
        "group deletion",
        deleteGroups(conn.admin, [this.names.callerGroup(this.callerId), ...(noticeGroup === undefined ? [] : [noticeGroup])], this.logger),
      ),
      settle("sweep", this.sweep ?? Promise.resolve()),
    ]);
    await settle("admin disconnect", conn.admin.disconnect());
  }

  private async connect(): Promise<void> {
    const context = { brokers: this.o.brokers ?? [], security: this.o.security };
    if (this.o.kafka === undefined && (this.o.security.ssl !== undefined || this.o.security.sasl !== undefined)) {
      await checkKafkaSecurity(
        { clientId: this.o.clientId, brokers: context.brokers, ...kafkaSecurityConfig(this.o.security) },
        context,
        KAFKA_TRANSPORT_DEFAULTS.securityCheckTimeoutMs,
      );
    }
    const admin = this.kafka.admin();
    try {
      await admin.connect();
    } catch (error) {
      throw kafkaSecurityError(error, context) ?? error;
    }
    let producer: Producer | undefined;
    let replies: TailConsumer | undefined;
    try {
      const [replyPartitions] = await Promise.all([
        this.ensureTopic(admin, this.names.replies, this.o.replyPartitions),
        this.ensureTopic(admin, this.names.events, KAFKA_TRANSPORT_DEFAULTS.eventPartitions),
        this.ensureTopic(admin, this.names.dlq, KAFKA_TRANSPORT_DEFAULTS.dlqPartitions),
      ]);
      // Idempotent: a retried produce is not duplicated; kafkajs forces acks=-1 and serializes produce requests per broker.
      producer = this.kafka.producer({
        idempotent: true,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const batcher = new ProduceBatcher(producer, this.o.maxMessageBytes);
      const deadLetters = new DeadLetterSink(batcher, this.names.dlq, this.logger, { maxRecordBytes: this.o.maxMessageBytes });
      const replyPartition = replyPartitionFor(this.callerId, replyPartitions);
      replies = new TailConsumer({
        kafka: this.kafka,
        admin,
        groupId: this.names.callerGroup(this.callerId),
        topic: this.names.replies,
        partitions: [replyPartition],
        sessionTimeoutMs: this.o.sessionTimeoutMs,
        heartbeatIntervalMs: this.o.heartbeatIntervalMs,
        maxWaitTimeMs: this.o.replyMaxWaitTimeMs,
        onMessage: (message, partition) => {
          this.receiveReply(deadLetters, message, partition);
        },
        logger: this.logger,
      });
      await replies.start();
      const notices = new NoticeChannel({
        kafka: this.kafka,
        admin,
        names: this.names,
        callerId: this.callerId,
        codec: this.codec,
        batcher,
        deadLetters,
        logger: this.logger,
        sessionTimeoutMs: this.o.sessionTimeoutMs,
        heartbeatIntervalMs: this.o.heartbeatIntervalMs,
        maxWaitTimeMs: this.o.replyMaxWaitTimeMs,
      });
      this.conn = { admin, producer, batcher, deadLetters, replies, replyPartition, notices };
    } catch (error) {
      await replies?.stop().catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      const security = kafkaSecurityError(error, context);
      if (security) throw security;
      throw new TransportError("could not connect to Kafka", {
        cause: error,
        hint: `check the brokers (${(this.o.brokers ?? []).join(",") || "given Kafka client"})`,
      });
    }
    if (this.o.sweepStaleGroups) {
      const keep = new Set([this.names.callerGroup(this.callerId), this.names.noticeGroup(this.callerId)]);
      this.sweep = sweepEmptyGroups(admin, [this.names.callerGroupPrefix, this.names.noticeGroupPrefix], keep, this.logger).catch(
        (error: unknown) => {
          this.logger.debug("sweeping stale groups failed", { error });
        },
      );
    }
  }

  /** {@link ensureTopic}, once per topic per transport (a failure is retried by the next use). */
  private ensureTopic(admin: Admin, topic: string, partitions: number): Promise<number> {
    let known = this.topics.get(topic);
    if (!known) {
      known = ensureTopic(admin, topic, partitions, this.o.replicationFactor);
      this.topics.set(topic, known);
      known.catch(() => this.topics.delete(topic));
    }
    return known;
  }

  /**
   * The member (consumer) that fetches a new replica of `topic`: the first one not fetching that
   * topic yet, so a process's replicas of different nodes share one consumer, and a second replica
   * of one node gets a member (a group member) of its own.
   */
  private memberFor(topic: string): ReplicaMember {
    let member = this.members.find((m) => m.active && !m.has(topic));
    if (member === undefined) {
      member = new ReplicaMember({
        kafka: this.kafka,
        groupId: this.names.replicaGroup,
        sessionTimeoutMs: this.o.sessionTimeoutMs,
        heartbeatIntervalMs: this.o.heartbeatIntervalMs,
        maxWaitTimeMs: this.o.maxWaitTimeMs,
        commitIntervalMs: this.o.commitIntervalMs,
        settleMs: KAFKA_TRANSPORT_DEFAULTS.memberSettleMs,
        retryMs: KAFKA_TRANSPORT_DEFAULTS.memberRetryMs,
        logger: this.logger,
        onEmpty: (m) => {
          this.members = this.members.filter((x) => x !== m);
        },
      });
      this.members.push(member);
    }
    return member;
  }

  private async sendRequest(
    conn: Connection,
    header: RequestHeader,
    frame: Frame,
    target: ReplicaAddress,
  ): Promise<{ topic: string; partition: number }> {
    const topic = this.names.requests(header.node);
    const count = await this.ensureTopic(conn.admin, topic, this.o.requestPartitions);
    const owned = (target.partitions ?? []).filter((p) => p < count);
    // The chosen replica's partitions in turn; while it is still joining, a stable hash (someone serves every partition).
    const partition = owned.length > 0 ? (owned[this.roundRobin++ % owned.length] ?? 0) : hashPartition(header.id, count);
    await conn.batcher.send({ topic, partition, key: header.id, value: frame.value, headers: signatureHeaders(frame) });
    return { topic, partition };
  }

  private sendCancel(request: RequestHeader): void {
    const conn = this.conn;
    const sent = this.sentTo.get(callKey(request));
    if (!conn || !sent) return;
    const header: CancelHeader = {
      v: ENVELOPE_VERSION,
      kind: "cancel",
      id: request.id,
      node: request.node,
      caller: this.callerId,
      replica: request.replica,
      payloadType: "none",
    };
    const frame = this.codec.encode(header, new Uint8Array(0));
    // To the request's own partition: its owner, and only it, may be running the call.
    sent
      .then(({ topic, partition }) =>
        conn.batcher.send({ topic, partition, key: request.id, value: frame.value, headers: signatureHeaders(frame) }),
      )
      .catch((error: unknown) => this.logger.debug("could not send a cancel", { id: request.id, node: request.node, error }));
  }

  private receiveReply(deadLetters: DeadLetterSink, message: KafkaMessage, partition: number): void {
    const source = { topic: this.names.replies, partition, offset: message.offset };
    const envelope = deadLetters.decodeOrReject(this.codec, message, source);
    if (!envelope) return;
    const { header, payload } = envelope;
    // Callers may share a reply partition: replies and events of other callers are skipped.
    if (header.kind === "reply") {
      if (header.caller === this.callerId) this.pending.deliverReply({ header, payload });
    } else if (header.kind === "event") {
      if (header.caller === this.callerId) this.pending.deliverEvent({ header, payload });
    } else {
      deadLetters.reject("unexpected_kind", `a ${header.kind} arrived on ${this.names.replies}`, source, message);
    }
  }
}

/** `options` without its signing settings (the environment's replace them). */
export function withoutSigning<T extends Pick<KafkaTransportOptions, "signingKey" | "signingKeys" | "insecure">>(
  options: T,
): Omit<T, "signingKey" | "signingKeys" | "insecure"> {
  const { signingKey: _a, signingKeys: _b, insecure: _c, ...rest } = options;
  return rest;
}

function hashPartition(id: string, count: number): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) % count;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
