/**
 * One member of a fabric's replica group: a single kafkajs consumer that fetches the request
 * topics of every replica one process serves (one replica per node; a second replica of the same
 * node in the same process gets a member of its own).
 *
 * Why one consumer for many nodes: a consumer per node meant a fetch, a heartbeat and a
 * connection per node, and a process serving ten negotiation participants answered one session's
 * five questions with five fetch responses, five re-fetches and five wake-ups; with one consumer
 * they come in one fetch response and leave in one produce. The price: the group is the fabric's
 * (`<prefix>.replicas`), so a member joining or leaving rebalances every member, and a member
 * whose set of nodes changes rejoins (a replica added or released restarts the consumer; the
 * nodes one `serve` starts together reserve their place first and join once). Partitions are
 * assigned by `subscriptionAssigner`, which honours each member's own topics.
 *
 * @module
 */
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../../src/observability/logger.js";
import type { OffsetTracker } from "./OffsetTracker.js";
import { wakeOnResume } from "./patchKafkajsPausedWait.js";
import { subscriptionAssigner } from "./subscriptionAssigner.js";

/** What a member needs from each replica it fetches for. */
export interface MemberReplica {
  /** The node's request topic. */
  readonly topic: string;
  /** False once the replica drains: releasing its partitions alone is then not worth a rejoin. */
  readonly serving: boolean;
  /** True while the replica takes no more requests (its concurrency is reached, or it drains). */
  readonly paused: boolean;
  /** Takes one fetched message (never blocks: the node runs elsewhere). */
  receive(partition: number, message: KafkaMessage): void;
  /** The partitions of its topic assigned to this member by the latest join. */
  onJoin(partitions: readonly number[]): void;
  /** The trackers of its assigned partitions, for commits. */
  trackers(): Iterable<OffsetTracker>;
}

/** Options of {@link ReplicaMember}. */
export interface ReplicaMemberOptions {
  kafka: Kafka;
  /** The fabric's replica group. */
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  commitIntervalMs: number;
  /** How long a change of replicas waits for more changes before the consumer rejoins, in ms. */
  settleMs: number;
  /** How long to wait before retrying a failed rejoin, in ms. */
  retryMs: number;
  logger: Logger;
  /** Called when the member has no replica left and its consumer is gone. */
  onEmpty: (member: ReplicaMember) => void;
}

/** A replica waiting for the first join of a consumer that fetches its topic. */
interface Joining {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** See the module comment. */
export class ReplicaMember {
  private readonly replicas = new Map<string, MemberReplica>();
  /** Topics of replicas on their way (their topic being created): the next join waits for them. */
  private readonly reserved = new Set<string>();
  private reservationsDone: (() => void) | undefined;
  private readonly joining = new Map<MemberReplica, Joining>();
  private consumer: Consumer | undefined;
  private consumerTopics: ReadonlySet<string> = new Set();
  private unregisterWake: (() => void) | undefined;
  private reconciling: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private committing: Promise<void> | undefined;
  private commitAgain = false;
  private commitTimer: ReturnType<typeof setTimeout> | undefined;
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  /** Joins of this member's consumers (the first included); diagnostic. */
  joins = 0;

  constructor(private readonly o: ReplicaMemberOptions) {}

  /** True when a replica of `topic` is fetched by this member, or on its way. */
  has(topic: string): boolean {
    return this.replicas.has(topic) || this.reserved.has(topic);
  }

  /**
   * Holds `topic` for a replica that {@link add} brings once its topic exists, so the member's
   * next join waits for it: the nodes one `serve` starts together join once even when creating
   * their topics takes the broker different times. Returns the function that gives the topic up.
   */
  reserve(topic: string): () => void {
    this.reserved.add(topic);
    return () => this.unreserve(topic);
  }

  private unreserve(topic: string): void {
    if (!this.reserved.delete(topic) || this.reserved.size > 0) return;
    const done = this.reservationsDone;
    this.reservationsDone = undefined;
    done?.();
  }

  /** False once the member has stopped (or emptied): replicas must go to another member. */
  get active(): boolean {
    return !this.stopped;
  }

  /**
   * Adds a replica and resolves once a consumer of this member that fetches its topic has joined
   * the group (so the replica knows its partitions).
   *
   * @throws when the consumer cannot join (the replica is removed again).
   */
  add(replica: MemberReplica): Promise<void> {
    this.unreserve(replica.topic);
    if (this.stopped) return Promise.reject(new Error("the replica member has stopped"));
    if (this.replicas.has(replica.topic)) return Promise.reject(new Error(`this member already fetches ${replica.topic}`));
    this.replicas.set(replica.topic, replica);
    const joined = new Promise<void>((resolve, reject) => this.joining.set(replica, { resolve, reject }));
    this.changed();
    return joined;
  }

  /**
   * Removes a replica. Its topic is paused at once; the consumer rejoins without it when another
   * replica of this member still serves (its partitions must go to other members), and is
   * disconnected when none is left.
   */
  async remove(replica: MemberReplica): Promise<void> {
    if (this.replicas.get(replica.topic) !== replica) return;
    this.replicas.delete(replica.topic);
    this.joining.get(replica)?.reject(new Error(`replica of ${replica.topic} stopped before it joined`));
    this.joining.delete(replica);
    this.pauseTopic(replica.topic, true);
    if (this.empty()) {
      await this.reconciling?.catch(() => undefined);
      if (this.empty()) await this.shutdown(); // unless a replica came meanwhile
      return;
    }
    // Nothing left but replicas on their way: the reconcile decides once they arrive (or not).
    if (this.replicas.size === 0 || [...this.replicas.values()].some((r) => r.serving)) this.changed();
  }

  /** True when no replica is fetched by this member or on its way (a method: it changes across awaits). */
  private empty(): boolean {
    return this.replicas.size === 0 && this.reserved.size === 0;
  }

  /** Ends an empty member: its consumer leaves the group and the transport forgets it. */
  private async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.commitTimer);
    await this.disconnect();
    this.o.onEmpty(this);
  }

  /** Pauses or resumes fetching `topic` (a replica at its concurrency limit, or draining). */
  pauseTopic(topic: string, on: boolean): void {
    const consumer = this.consumer;
    if (!consumer || !this.consumerTopics.has(topic)) return; // the next consumer applies `paused` when it joins
    try {
      if (on) consumer.pause([{ topic }]);
      else consumer.resume([{ topic }]);
    } catch (error) {
      // Before run() created the group there is nothing to pause yet; the join applies it.
      this.o.logger.debug("could not pause/resume yet", { topic, error });
    }
  }

  /**
   * One commit on the wire at a time, for every replica of the member, and at most one per
   * `commitIntervalMs` (unless `now`): completions meanwhile are folded into the next one. The
   * price of the interval is that a replica that dies leaves up to an interval of answered
   * requests to be delivered again, which the idempotency layer answers from its record.
   */
  scheduleCommit(now = false): void {
    if (this.committing) {
      this.commitAgain = true;
      return;
    }
    const wait = now ? 0 : this.lastCommitAt + this.o.commitIntervalMs - performance.now();
    if (wait > 0) {
      this.commitTimer ??= setTimeout(() => {
        this.commitTimer = undefined;
        this.scheduleCommit(true);
      }, wait);
      return;
    }
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.lastCommitAt = performance.now();
    this.committing = this.commitOnce().finally(() => {
      this.committing = undefined;
      if (this.commitAgain) {
        this.commitAgain = false;
        this.scheduleCommit();
      }
    });
  }

  /** Commits everything committable now, including what waits for the interval. */
  async flushCommits(): Promise<void> {
    while (this.committing || this.commitTimer) {
      if (!this.committing) this.scheduleCommit(true);
      await this.committing;
    }
  }

  /** Stops at once: the consumer leaves the group (callers stop the replicas themselves). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.commitTimer);
    for (const waiter of this.joining.values()) waiter.reject(new Error("the replica member stopped"));
    this.joining.clear();
    this.replicas.clear();
    this.reserved.clear();
    this.reservationsDone?.(); // a reconcile waiting for replicas on their way ends now
    this.reservationsDone = undefined;
    await this.reconciling?.catch(() => undefined);
    await this.disconnect();
  }

  /** Notes a change of replicas; the consumer rejoins once changes settle. */
  private changed(): void {
    this.dirty = true;
    this.reconciling ??= this.reconcile().finally(() => (this.reconciling = undefined));
  }

  private async reconcile(): Promise<void> {
    while (this.dirty && !this.stopped) {
      // Replicas started together (one serve of several nodes) arrive a few ms apart: one join for all.
      await sleep(this.o.settleMs);
      if (this.reserved.size > 0) await new Promise<void>((resolve) => (this.reservationsDone = resolve));
      this.dirty = false;
      if (!this.active) return; // stopped while it waited
      if (this.empty()) {
        await this.shutdown(); // the replicas on their way never came (their topic could not be created)
        return;
      }
      if (!this.needsRestart()) continue;
      try {
        await this.restart();
      } catch (error) {
        this.o.logger.error("replica consumer could not join its group", { groupId: this.o.groupId, error });
        await this.disconnect(); // a half-started consumer is no consumer: the retry starts afresh
        // Replicas still waiting for their first join fail (their serve() throws); the others retry.
        for (const waiter of this.joining.values()) waiter.reject(error);
        this.joining.clear();
        if (this.replicas.size > 0) {
          await sleep(this.o.retryMs);
          this.dirty = true;
        }
      }
    }
  }

  /**
   * True when a replica's topic is not fetched yet, or when a released topic must go to other
   * members while a replica of this member still serves (draining ones do not need the rejoin:
   * the member disconnects when the last of them leaves).
   */
  private needsRestart(): boolean {
    if (this.consumer === undefined) return this.replicas.size > 0;
    for (const topic of this.replicas.keys()) if (!this.consumerTopics.has(topic)) return true;
    const released = [...this.consumerTopics].some((topic) => !this.replicas.has(topic));
    return released && [...this.replicas.values()].some((r) => r.serving);
  }

  /** Replaces the consumer by one that fetches the current replicas' topics. */
  private async restart(): Promise<void> {
    await this.disconnect();
    const topics = [...this.replicas.keys()];
    if (topics.length === 0 || this.stopped) return;
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      partitionAssigners: [subscriptionAssigner],
      sessionTimeout: this.o.sessionTimeoutMs,
      heartbeatInterval: this.o.heartbeatIntervalMs,
      maxWaitTimeInMs: this.o.maxWaitTimeMs,
      minBytes: 1,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    this.consumerTopics = new Set(topics);
    // Paused at every replica's concurrency limit, it fetches again at resume(), not after the fetch wait.
    this.unregisterWake = wakeOnResume(this.o.groupId);
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.onJoin(consumer, event.payload.memberAssignment);
    });
    await consumer.connect();
    // From the beginning for a topic new to the group: requests sent before any replica existed still count.
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      // A batch at a time: per message, eachMessage costs kafkajs several awaits (offset
      // resolution, heartbeat and commit checks) for a handler that only queues. Offsets are
      // resolved here, only up to the last message taken, so what is left when a replica pauses
      // (concurrency reached) or a seek is pending is fetched again, as eachMessage would leave it.
      eachBatchAutoResolve: false,
      eachBatch: (payload) => {
        const { batch } = payload;
        const replica = this.consumer === consumer ? this.replicas.get(batch.topic) : undefined;
        if (replica === undefined) return Promise.resolve(); // released: its topic is paused
        for (const message of batch.messages) {
          if (!payload.isRunning() || payload.isStale() || replica.paused) break;
          try {
            replica.receive(batch.partition, message);
          } catch (error) {
            this.o.logger.error("replica failed to take a message", {
              topic: batch.topic,
              partition: batch.partition,
              offset: message.offset,
              error,
            });
          }
          payload.resolveOffset(message.offset);
        }
        return Promise.resolve();
      },
    });
  }

  private onJoin(consumer: Consumer, assignment: Record<string, number[] | undefined>): void {
    if (consumer !== this.consumer) return;
    this.joins++;
    for (const topic of this.consumerTopics) {
      const replica = this.replicas.get(topic);
      // A kafkajs consumer forgets its pauses when it rejoins: apply them again.
      if (replica === undefined || replica.paused) this.pauseTopic(topic, true);
      if (replica === undefined) continue;
      replica.onJoin(assignment[topic] ?? []);
      const waiter = this.joining.get(replica);
      this.joining.delete(replica);
      waiter?.resolve();
    }
    this.scheduleCommit(true); // commits refused during the rebalance go now
  }

  private async commitOnce(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    const points: { tracker: OffsetTracker; offset: number }[] = [];
    for (const replica of this.replicas.values()) {
      for (const tracker of replica.trackers()) {
        const offset = tracker.commitPoint();
        if (offset !== undefined) points.push({ tracker, offset });
      }
    }
    if (points.length === 0) return;
    for (const { tracker, offset } of points) tracker.markCommitting(offset);
    let ok = true;
    try {
      await consumer.commitOffsets(
        points.map(({ offset, tracker }) => ({ topic: tracker.topic, partition: tracker.partition, offset: String(offset) })),
      );
    } catch (error) {
      ok = false;
      // A rebalance is under way or a partition moved; the next join or completion commits again.
      this.o.logger.debug("offset commit failed", { groupId: this.o.groupId, error });
    }
    for (const { tracker, offset } of points) tracker.markCommitted(offset, ok);
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.consumerTopics = new Set();
    this.unregisterWake?.();
    this.unregisterWake = undefined;
    // Leaves the group: the partitions move now, not after the session timeout.
    await consumer?.disconnect().catch((error: unknown) => this.o.logger.debug("replica consumer disconnect failed", { error }));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
