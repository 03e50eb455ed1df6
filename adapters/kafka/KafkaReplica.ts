/**
 * One replica of one node: the requests of the node's topic that its {@link ReplicaMember} (the
 * process's consumer in the fabric's replica group) fetches are handed off to the handler without
 * being awaited, answered, and committed only once the request before them has been answered.
 *
 * Why the handler is never awaited in the fetch loop: kafkajs heartbeats from its fetch loop, so a
 * handler awaited there for longer than the session timeout gets the member evicted, the
 * partition moved and the request run a second time elsewhere. Here the loop only decodes,
 * queues and returns; concurrency is bounded by pausing the topic instead.
 *
 * @module
 */
import type { KafkaMessage } from "kafkajs";
import { isEnvelopeError, TransportError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";
import type { EnvelopeCodec, EnvelopeHeader } from "../../src/transport/envelope.js";
import { errorResult, replyHeaderFor, RequestRun } from "../../src/transport/RequestRun.js";
import type { IncomingRequest, ReplicaAddress, RequestHandler, ServeHandle, ServeOptions } from "../../src/transport/Transport.js";
import { signatureHeaders, signatureOf, type DeadLetterSink, type MessageSource } from "./DeadLetterSink.js";
import { OffsetTracker } from "./OffsetTracker.js";
import type { ProduceBatcher } from "./ProduceBatcher.js";
import type { MemberReplica, ReplicaMember } from "./ReplicaMember.js";
import { parseReplyTo, type TopicNames } from "./topicNames.js";

/** @internal What a {@link KafkaReplica} is built from. */
export interface KafkaReplicaParts {
  names: TopicNames;
  node: string;
  handler: RequestHandler;
  options: ServeOptions;
  codec: EnvelopeCodec;
  batcher: ProduceBatcher;
  deadLetters: DeadLetterSink;
  logger: Logger;
  now: () => number;
  /** The consumer that fetches this replica's topic (with those of the process's other replicas). */
  member: ReplicaMember;
  drainTimeoutMs: number;
  onStopped: (replica: KafkaReplica) => void;
}

/** A fetched request and the offsets that carry it (more than one if it was re-delivered). */
interface Job {
  readonly key: string;
  readonly request: IncomingRequest;
  readonly replyPartition: number;
  readonly acks: { tracker: OffsetTracker; offset: number }[];
  /** Where the request was read, and the record itself: a refused request is dead-lettered whole. */
  readonly source: MessageSource;
  readonly message: KafkaMessage;
  /** Whether this replica still owns the request's partition (a dead letter is retried while it does). */
  readonly owned: () => boolean;
  run?: RequestRun;
}

const callKey = (h: { caller: string; id: string }): string => `${h.caller}\u0000${h.id}`;

/** @internal A running replica; the `ServeHandle` returned by `KafkaTransport.serve`. */
export class KafkaReplica implements ServeHandle, MemberReplica {
  readonly topic: string;
  private current: ReplicaAddress;
  private state: "starting" | "serving" | "draining" | "stopped" = "starting";
  private readonly partitionTrackers = new Map<number, OffsetTracker>();
  private queue: Job[] = [];
  private readonly running = new Map<string, Job>();
  private pausedNow = false;
  private idleWaiters: (() => void)[] = [];
  /** Assignments this replica received (the first included); diagnostic. */
  groupJoins = 0;

  constructor(private readonly p: KafkaReplicaParts) {
    this.topic = p.names.requests(p.node);
    this.current = { replicaId: p.options.replicaId, partitions: [] };
  }

  get address(): ReplicaAddress {
    return this.current;
  }

  get inFlight(): number {
    return this.running.size;
  }

  get serving(): boolean {
    return this.state === "starting" || this.state === "serving";
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  trackers(): Iterable<OffsetTracker> {
    return this.partitionTrackers.values();
  }

  /** Joins the group through its member; resolves after the first assignment (so {@link address} names partitions). */
  async start(): Promise<void> {
    await this.p.member.add(this);
    if (this.state === "starting") this.state = "serving";
  }

  async drain(timeoutMs = this.p.drainTimeoutMs): Promise<void> {
    if (this.state === "stopped" || this.state === "draining") return;
    this.state = "draining";
    this.pause(true);
    // Not started: left uncommitted, so the partition's next owner serves them.
    this.queue = [];
    if (this.running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    await this.p.member.flushCommits();
    await this.leave();
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    // Answered requests not committed yet are delivered again to the partition's next owner, which
    // answers them from the idempotency record (drain() commits them first).
    for (const job of this.running.values())
      job.run?.abort("stop", new TransportError(`replica ${this.current.replicaId} of node "${this.p.node}" stopped`));
    this.running.clear();
    this.queue = [];
    this.notifyIdle();
    await this.leave();
  }

  /** Stops (if not yet) and leaves the member: the partitions move to other members now, not after the session timeout. */
  private async leave(): Promise<void> {
    this.state = "stopped";
    try {
      await this.p.member.remove(this);
    } finally {
      this.p.onStopped(this);
    }
  }

  onJoin(assigned: readonly number[]): void {
    if (this.state === "stopped") return;
    this.groupJoins++;
    const mine = new Set(assigned);
    for (const [partition, tracker] of this.partitionTrackers) {
      if (mine.has(partition)) continue;
      // Revoked: requests of it still running here answer, but their commits are skipped; the new owner re-runs them.
      this.partitionTrackers.delete(partition);
      if (tracker.inProgress > 0)
        this.p.logger.debug("partition revoked with requests in flight", { topic: this.topic, partition, inProgress: tracker.inProgress });
    }
    for (const partition of mine)
      if (!this.partitionTrackers.has(partition)) this.partitionTrackers.set(partition, new OffsetTracker(this.topic, partition));
    this.current = { replicaId: this.p.options.replicaId, partitions: [...mine].sort((a, b) => a - b) };
    try {
      this.p.options.onAddressChange?.(this.current);
    } catch (error) {
      this.p.logger.warn("onAddressChange listener threw", { node: this.p.node, error });
    }
  }

  receive(partition: number, message: KafkaMessage): void {
    if (this.state === "stopped") return;
    let tracker = this.partitionTrackers.get(partition);
    if (!tracker) this.partitionTrackers.set(partition, (tracker = new OffsetTracker(this.topic, partition)));
    const offset = Number(message.offset);
    if (!tracker.receive(offset)) return; // re-fetched after a rebalance: already running, queued or answered here
    const ack = { tracker, offset };
    const source = { topic: this.topic, partition, offset: message.offset };
    // Pending (pinning the commit point) until the dead letter is produced, retried while this replica
    // owns the partition, else left uncommitted for the next owner: never dropped.
    const owned = (): boolean => this.state !== "stopped" && this.partitionTrackers.get(partition) === tracker;
    const reject = (reason: string, error: string): void => {
      void this.p.deadLetters.deliver(reason, error, source, message, owned).then((delivered) => {
        if (delivered) this.acknowledge([ack]);
      });
    };
    let header: EnvelopeHeader;
    let payload: Uint8Array;
    try {
      ({ header, payload } = this.p.codec.decode(message.value, signatureOf(message)));
    } catch (error) {
      reject(isEnvelopeError(error) ? error.reason : "malformed", (error as Error).message);
      return;
    }
    if (header.kind === "cancel") {
      this.cancel(callKey(header));
      this.acknowledge([ack]);
      return;
    }
    if (header.kind !== "request") return reject("unexpected_kind", `a ${header.kind} arrived on a request topic`);
    if (header.node !== this.p.node && this.p.names.requests(header.node) !== this.topic)
      return reject("wrong_node", `a request for node "${header.node}" arrived on ${this.topic}`);
    const replyTo = parseReplyTo(header.replyTo);
    if (replyTo?.topic !== this.p.names.replies)
      return reject("reply_to", `replyTo "${header.replyTo}" is not a partition of ${this.p.names.replies}`);
    if (this.state === "draining") return; // left pending: redelivered to the next owner
    if (header.deadline <= this.p.now()) return this.acknowledge([ack]); // nobody waits for it any more
    const key = callKey(header);
    const existing = this.running.get(key) ?? this.queue.find((j) => j.key === key);
    if (existing) {
      existing.acks.push(ack); // the same call again (a partition came back): one run answers both
      return;
    }
    this.queue.push({ key, request: { header, payload }, replyPartition: replyTo.partition, acks: [ack], source, message, owned });
    this.pump();
  }

  private cancel(key: string): void {
    const i = this.queue.findIndex((j) => j.key === key);
    if (i >= 0) {
      const [job] = this.queue.splice(i, 1);
      if (job) this.acknowledge(job.acks);
      this.pump();
      return;
    }
    const job = this.running.get(key);
    job?.run?.abort("cancel", new TransportError(`call ${job.request.header.id} was cancelled by its caller`));
  }

  private pump(): void {
    while (this.state === "serving" || this.state === "starting") {
      if (this.running.size >= this.p.options.concurrency) break;
      const job = this.queue.shift();
      if (!job) break;
      if (job.request.header.deadline <= this.p.now()) {
        this.acknowledge(job.acks);
        continue;
      }
      this.launch(job);
    }
    this.pause(this.running.size + this.queue.length >= this.p.options.concurrency || this.state === "draining");
  }

  private launch(job: Job): void {
    const h = job.request.header;
    const send = async (header: EnvelopeHeader, payload: Uint8Array): Promise<void> => {
      const frame = this.p.codec.encode(header, payload);
      const headers = signatureHeaders(frame);
      await this.p.batcher.send({ topic: this.p.names.replies, partition: job.replyPartition, key: h.caller, value: frame.value, headers });
    };
    const run = new RequestRun(job.request, this.current.replicaId, send, this.p.now);
    job.run = run;
    this.running.set(job.key, job);
    void run.result(this.p.handler).then(async (result) => {
      if (this.state === "stopped" || this.running.get(job.key) !== job) return; // stopped: unanswered, redelivered elsewhere
      if (run.abortedBy !== "cancel") {
        const reply = replyHeaderFor(h, this.current.replicaId, result);
        try {
          await send(reply, result.payload).catch((error: unknown) => {
            // Typically a reply over the size limit: tell the caller rather than leave it to its deadline.
            const fallback = errorResult(error);
            return send({ ...reply, status: fallback.status, payloadType: fallback.payloadType }, fallback.payload);
          });
        } catch (error) {
          this.p.logger.error("could not produce a reply; the request stays uncommitted", { node: h.node, id: h.id, error });
          this.finish(job, false);
          return;
        }
      }
      if (result.refused !== undefined) {
        // Refused requests (a stolen idempotency key, a refused class) go to the DLQ; committed once it has them.
        const { reason, message } = result.refused;
        const delivered = await this.p.deadLetters.deliver(reason, message, job.source, job.message, job.owned);
        this.finish(job, delivered);
        return;
      }
      this.finish(job, true);
    });
  }

  private finish(job: Job, answered: boolean): void {
    if (this.running.get(job.key) === job) this.running.delete(job.key);
    if (answered && this.state !== "stopped") this.acknowledge(job.acks);
    if (this.running.size === 0) this.notifyIdle();
    this.pump();
  }

  private acknowledge(acks: readonly { tracker: OffsetTracker; offset: number }[]): void {
    for (const { tracker, offset } of acks) tracker.complete(offset);
    this.p.member.scheduleCommit();
  }

  private pause(on: boolean): void {
    if (on === this.pausedNow) return;
    this.pausedNow = on;
    if (this.state !== "stopped") this.p.member.pauseTopic(this.topic, on);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
