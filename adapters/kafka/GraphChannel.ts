/**
 * A Kafka channel for a compiled graph: each message of an input topic (key = thread id) runs the
 * graph on that thread; the run's stream events and its result go to an output topic (same key);
 * the input offset is committed only once the run's last checkpoint is stored and its final record
 * is on the broker. Runner processes sharing a consumer group share the input's partitions.
 *
 * Why runs are never awaited in `eachMessage`: kafkajs heartbeats from its fetch loop, so a run
 * awaited there for longer than the session timeout gets the runner evicted and the message run a
 * second time elsewhere. The loop only validates and queues; fetching is bounded by pausing
 * partitions instead.
 *
 * Ordering: messages of one thread run one after another in offset order (one key, one
 * partition); messages of other threads — in the same partition or not — run concurrently, up to
 * `concurrency` at once. Offsets commit per partition at the lowest unfinished one. What a
 * redelivered message does (resume, republish, skip) is in `channelInputStamp.ts`.
 *
 * @module
 */
import { Kafka, logLevel, type KafkaMessage } from "kafkajs";
import { patchKafkajsIdleLoop } from "./patchKafkajsIdleLoop.js";
import { TransportError } from "../../src/errors.js";
import { createConsoleLogger, type Logger } from "../../src/observability/logger.js";
import { FabricSerializer } from "../../src/transport/payloadCodec.js";
import { withInputStamps } from "./channelInputStamp.js";
import { ChannelOutput } from "./ChannelOutput.js";
import type { MessageSource } from "./DeadLetterSink.js";
import { ensureTopic, topicPartitionCount } from "./ensureTopic.js";
import { parseGraphChannelInput } from "./graphChannelMessages.js";
import {
  GRAPH_CHANNEL_DEFAULTS,
  resolveGraphChannelOptions,
  type GraphChannelOptions,
  type ResolvedGraphChannelOptions,
} from "./graphChannelOptions.js";
import { GraphRunTimeoutError, runChannelJob, type ChannelJob, type ChannelRunContext, type ChannelRunOutcome } from "./graphChannelRun.js";
import { kafkaLogCreator } from "./kafkaLogger.js";
import { checkKafkaSecurity, kafkaSecurityConfig, kafkaSecurityError, warnAboutPlainSasl } from "./kafkaSecurity.js";
import type { OffsetTracker } from "./OffsetTracker.js";
import { ChannelPartitions, type ChannelEntry } from "./ChannelPartitions.js";
import { newCounters, type GraphChannelStatus } from "./graphChannelStatus.js";

export type { GraphChannelPartitionStatus, GraphChannelStatus } from "./graphChannelStatus.js";

interface Connection {
  readonly admin: ReturnType<Kafka["admin"]>;
  readonly output: ChannelOutput;
  readonly consumer: ReturnType<Kafka["consumer"]>;
}

/** How long `stop()` waits for aborted runs to unwind, and for the producer to flush, in ms. */
const SETTLE_MS = 5_000;
/** Wait before a message whose final record could not be produced is tried again, in ms. */
const REPUBLISH_RETRY_MS = 2_000;

/** Runs a compiled graph for each message of a Kafka topic. Construct, then `start()`; no I/O happens before. */
export class GraphChannel {
  private readonly o: ResolvedGraphChannelOptions;
  private readonly logger: Logger;
  private readonly kafka: Kafka;
  private readonly serde = new FabricSerializer();
  private state: GraphChannelStatus["state"] = "created";
  private conn: Connection | undefined;
  private runContext: ChannelRunContext | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly parts: ChannelPartitions;
  private readonly running = new Set<ChannelEntry>();
  private readonly busyThreads = new Set<string>();
  private readonly deadLetterSends = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly counts = newCounters();

  /** @throws RangeError naming the option and value when an option is invalid. */
  constructor(options: GraphChannelOptions) {
    this.o = resolveGraphChannelOptions(options);
    patchKafkajsIdleLoop();
    this.logger = this.o.logger ?? createConsoleLogger({ name: "fabric:channel" });
    this.parts = new ChannelPartitions(this.o.inputTopic, this.logger);
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

  /** Creates the topics (unless `createTopics: false`), connects and joins the group; resolves after the first assignment. */
  start(): Promise<void> {
    if (this.state === "running") return Promise.resolve();
    if (this.state === "stopping" || this.state === "stopped")
      return Promise.reject(new TransportError("a stopped GraphChannel cannot start again", { hint: "create a new GraphChannel" }));
    this.starting ??= this.connect();
    return this.starting;
  }

  /**
   * Stops fetching, lets runs in flight finish for up to `timeoutMs` (then aborts them: they stay
   * uncommitted and the partition's next owner resumes them), commits, and leaves the group.
   * Messages fetched but not started stay uncommitted too.
   */
  stop(timeoutMs = this.o.stopTimeoutMs): Promise<void> {
    this.stopping ??= this.shutdown(timeoutMs);
    return this.stopping;
  }

  /** A snapshot of runs, counters and partitions. */
  status(): GraphChannelStatus {
    const running = [...this.running];
    const partitions = this.parts.snapshot((tracker) => running.filter((e) => e.tracker === tracker).length);
    return { state: this.state, inFlight: running.length, queued: this.parts.queued, ...this.counts, partitions };
  }

  private async connect(): Promise<void> {
    this.state = "starting";
    const o = this.o;
    const graph = withInputStamps(o.graph);
    const admin = this.kafka.admin();
    let output: ChannelOutput | undefined;
    let consumer: Connection["consumer"] | undefined;
    const context = { brokers: o.brokers ?? [], security: o.security };
    try {
      if (o.kafka === undefined && (o.security.ssl !== undefined || o.security.sasl !== undefined)) {
        // See checkKafkaSecurity: an untrusted certificate would otherwise be retried for tens of seconds.
        await checkKafkaSecurity({ clientId: o.clientId, brokers: context.brokers, ...kafkaSecurityConfig(o.security) }, context, 10_000);
      }
      await admin.connect();
      let outputPartitions: number;
      if (o.createTopics) {
        [, outputPartitions] = await Promise.all([
          ensureTopic(admin, o.inputTopic, o.partitions, o.replicationFactor),
          ensureTopic(admin, o.outputTopic, o.partitions, o.replicationFactor),
          ensureTopic(admin, o.deadLetterTopic, GRAPH_CHANNEL_DEFAULTS.deadLetterPartitions, o.replicationFactor),
        ]);
      } else outputPartitions = await topicPartitionCount(admin, o.outputTopic);
      output = await ChannelOutput.open(this.kafka, { ...o, outputPartitions }, this.logger);
      consumer = this.kafka.consumer({
        groupId: o.groupId,
        sessionTimeout: o.sessionTimeoutMs,
        heartbeatInterval: o.heartbeatIntervalMs,
        maxWaitTimeInMs: o.maxWaitTimeMs,
        minBytes: 1,
        allowAutoTopicCreation: false,
      });
      const c = consumer;
      c.on(c.events.GROUP_JOIN, (event) => this.onJoin(event.payload.memberAssignment[o.inputTopic] ?? []));
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === o.inputTopic) this.parts.setHighWatermark(payload.partition, payload.highWatermark);
      });
      c.on(c.events.CRASH, ({ payload }) =>
        this.logger.error("the input consumer crashed", { error: payload.error, restart: payload.restart }),
      );
      const out = output;
      this.conn = { admin, output: out, consumer: c };
      this.parts.consumer = c;
      this.runContext = {
        graph,
        serde: this.serde,
        streamMode: o.streamMode,
        maxMessageBytes: o.maxMessageBytes,
        logger: this.logger,
        send: (job, value, type) => out.send(job, value, type),
      };
      await c.connect();
      await c.subscribe({ topic: o.inputTopic, fromBeginning: o.fromBeginning });
      await c.run({
        autoCommit: false,
        eachMessage: ({ partition, message }) => {
          try {
            this.receive(partition, message);
          } catch (error) {
            this.logger.error("could not take a message", { topic: o.inputTopic, partition, offset: message.offset, error });
          }
          return Promise.resolve();
        },
      });
      this.state = "running"; // stop() waits for start() to settle before it changes the state
    } catch (error) {
      // Back to "created", so start() may be tried again.
      this.conn = undefined;
      this.state = "created";
      this.starting = undefined;
      this.parts.clear();
      await consumer?.disconnect().catch(() => undefined);
      await output?.close(0).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      const security = kafkaSecurityError(error, context);
      if (security) throw security;
      throw new TransportError(`GraphChannel of group "${o.groupId}" could not start`, {
        cause: error,
        hint: `check the brokers (${(o.brokers ?? []).join(",") || "given Kafka client"}) and that ${o.inputTopic} and ${o.outputTopic} exist or createTopics is on`,
      });
    }
  }

  private receive(partition: number, message: KafkaMessage): void {
    if (this.state !== "starting" && this.state !== "running") return; // stopping: left for the next owner
    const offset = Number(message.offset);
    const tracker = this.parts.accept(partition, offset);
    if (!tracker) return; // re-fetched after a rebalance: queued, running or done here already
    const source: MessageSource = { topic: this.o.inputTopic, partition, offset: message.offset };
    const threadId = message.key?.toString("utf8") ?? "";
    if (threadId.length === 0)
      return this.deadLetter(tracker, offset, "missing_thread_id", "the message has no key; the key is the thread id", source, message);
    const parsed = parseGraphChannelInput(message.value);
    if (!parsed.ok) return this.deadLetter(tracker, offset, parsed.reason, parsed.error, source, message);
    const job: ChannelJob = {
      threadId,
      topic: this.o.inputTopic,
      partition,
      offset: message.offset,
      message: parsed.value,
      headers: message.headers,
    };
    this.parts.enqueue({ job, raw: message, tracker, offset });
    this.pump();
  }

  private deadLetter(
    tracker: OffsetTracker,
    offset: number,
    reason: string,
    error: string,
    source: MessageSource,
    message: KafkaMessage,
  ): void {
    const conn = this.conn;
    if (!conn) return;
    const sent = conn.output.deadLetters.send(reason, error, source, message).then(
      () => {
        this.counts.deadLettered++;
        this.parts.complete(tracker, offset);
      },
      (e: unknown) => this.logger.error("could not produce a dead letter; the message stays uncommitted", { source, error: e }),
    );
    this.deadLetterSends.add(sent);
    void sent.finally(() => this.deadLetterSends.delete(sent));
  }

  /** Starts every message that may run now, then adjusts the pauses. */
  private pump(force = false): void {
    while ((this.state === "starting" || this.state === "running") && this.running.size < this.o.concurrency) {
      // A thread runs one message at a time, anywhere in this process.
      const next = this.parts.takeNext((threadId) => this.busyThreads.has(threadId));
      if (!next) break;
      this.launch(next);
    }
    this.parts.updatePauses({
      stopAll: this.state === "stopping",
      slotsFull: this.running.size >= this.o.concurrency,
      maxQueued: this.o.maxQueuedPerPartition,
      force,
    });
  }

  private launch(entry: ChannelEntry): void {
    const context = this.runContext;
    if (!context) return;
    const { job } = entry;
    this.running.add(entry);
    this.busyThreads.add(job.threadId);
    const controller = new AbortController();
    entry.controller = controller;
    if (this.o.runTimeoutMs > 0)
      entry.timer = setTimeout(() => controller.abort(new GraphRunTimeoutError(job.threadId, this.o.runTimeoutMs)), this.o.runTimeoutMs);
    void runChannelJob(context, job, controller.signal, () => entry.abandoned !== undefined)
      .catch((error: unknown): ChannelRunOutcome => ({ kind: "unpublished", error }))
      .then((outcome) => this.finish(entry, outcome));
  }

  private finish(entry: ChannelEntry, outcome: ChannelRunOutcome): void {
    clearTimeout(entry.timer);
    this.running.delete(entry);
    if (outcome.kind !== "unpublished") this.busyThreads.delete(entry.job.threadId);
    const { job } = entry;
    const where = { threadId: job.threadId, partition: job.partition, offset: job.offset };
    switch (outcome.kind) {
      case "done":
        this.counts.processed++;
        if (outcome.path === "resume") this.counts.resumed++;
        if (outcome.path === "republish") this.counts.republished++;
        this.counts.lostEvents += outcome.lostEvents;
        this.parts.complete(entry.tracker, entry.offset);
        break;
      case "skipped":
        this.counts.skipped++;
        this.logger.info("skipped a redelivered message that had finished", where);
        this.parts.complete(entry.tracker, entry.offset);
        break;
      case "failed":
        this.counts.failed++;
        this.counts.lostEvents += outcome.lostEvents;
        this.logger.warn("a run failed; its error record was published", { ...where, error: outcome.error });
        this.parts.complete(entry.tracker, entry.offset);
        break;
      case "rejected":
        this.deadLetter(entry.tracker, entry.offset, outcome.reason, outcome.error, { ...where, topic: job.topic }, entry.raw);
        break;
      case "aborted":
        this.counts.aborted++;
        this.logger.info(`a run was given back (${entry.abandoned ?? "aborted"}); it stays uncommitted`, where);
        break;
      case "unpublished":
        this.counts.unpublished++;
        this.logger.error("could not produce the final record of a run; trying again", { ...where, error: outcome.error });
        this.retryLater(entry);
        break;
    }
    if (this.running.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.pump();
  }

  /**
   * Runs the message again after a pause, its thread kept busy meanwhile so its later messages
   * wait (results stay in order). The stamp then says the run finished: the retry republishes.
   */
  private retryLater(entry: ChannelEntry): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.busyThreads.delete(entry.job.threadId);
      this.parts.enqueue({ job: entry.job, raw: entry.raw, tracker: entry.tracker, offset: entry.offset }, true);
      this.pump();
    }, REPUBLISH_RETRY_MS);
    this.retryTimers.add(timer);
  }

  private onJoin(assigned: readonly number[]): void {
    this.counts.groupJoins++;
    const revoked = new Set(this.parts.reassign(assigned));
    // The next owner of a revoked partition gets its uncommitted messages again, so runs of it
    // stop here now rather than race the new owner on the same thread.
    for (const entry of this.running) if (revoked.has(entry.tracker)) this.abandon(entry, "revoked");
    this.pump(true); // a restarted kafkajs consumer forgets its pauses: state them all again
  }

  private abandon(entry: ChannelEntry, why: "stop" | "revoked"): void {
    entry.abandoned ??= why;
    entry.controller?.abort(new TransportError(`the run of thread "${entry.job.threadId}" was given back (${why})`));
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    await this.starting?.catch(() => undefined);
    const conn = this.conn;
    if (!conn || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.parts.clearQueues(); // never started: the next owner gets them
    this.pump();
    if (!(await this.idle(timeoutMs))) {
      for (const entry of this.running) this.abandon(entry, "stop");
      if (!(await this.idle(SETTLE_MS))) this.logger.warn("runs did not unwind after their abort", { running: this.running.size });
    }
    await Promise.allSettled([...this.deadLetterSends]);
    await this.parts.flushCommits();
    this.parts.closed = true;
    this.state = "stopped";
    const settle = (what: string, work: Promise<unknown>): Promise<void> =>
      work.then(
        () => undefined,
        (error: unknown) => this.logger.debug(`stop: ${what} failed`, { error }),
      );
    await settle("consumer disconnect", conn.consumer.disconnect()); // leaves the group: partitions move now
    await settle("producer close", conn.output.close(SETTLE_MS));
    await settle("admin disconnect", conn.admin.disconnect());
    this.conn = undefined;
    this.parts.clear();
  }

  /** Resolves true once no run is in flight, false after `timeoutMs`. */
  private async idle(timeoutMs: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return done;
  }
}
