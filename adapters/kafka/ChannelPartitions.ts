/**
 * Where each input partition of a `GraphChannel` stands: its offset tracker, the messages waiting
 * for their turn, whether fetching from it is paused, and the commits.
 *
 * @module
 */
import type { Consumer, KafkaMessage } from "kafkajs";
import type { Logger } from "../../src/observability/logger.js";
import type { ChannelJob } from "./graphChannelRun.js";
import { OffsetTracker } from "./OffsetTracker.js";
import type { GraphChannelPartitionStatus } from "./graphChannelStatus.js";

/** @internal An accepted message, waiting or running. */
export interface ChannelEntry {
  readonly job: ChannelJob;
  readonly raw: KafkaMessage;
  readonly tracker: OffsetTracker;
  readonly offset: number;
  controller?: AbortController;
  /** Set when the channel gives the message back (stop, revoke): nothing is published or committed. */
  abandoned?: "stop" | "revoked";
  timer?: ReturnType<typeof setTimeout>;
}

interface PartitionState {
  readonly tracker: OffsetTracker;
  readonly queue: ChannelEntry[];
  paused: boolean;
  committed?: number;
  highWatermark?: number;
}

/** @internal The input partitions assigned to one channel (a new assignment of a partition gets a new tracker). */
export class ChannelPartitions {
  /** The consumer, once it exists; pauses and commits go through it. */
  consumer: Consumer | undefined;
  /** Set once the channel stopped: no more commits. */
  closed = false;
  private readonly parts = new Map<number, PartitionState>();
  private turn = 0;
  private committing: Promise<void> | undefined;
  private commitAgain = false;

  constructor(
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  /** Messages waiting in every partition. */
  get queued(): number {
    let n = 0;
    for (const ps of this.parts.values()) n += ps.queue.length;
    return n;
  }

  /** The tracker of a newly fetched offset, or undefined when it was seen in this assignment already. */
  accept(partition: number, offset: number): OffsetTracker | undefined {
    const ps = this.state(partition);
    return ps.tracker.receive(offset) ? ps.tracker : undefined;
  }

  /** Queues an accepted message behind the others of its partition (`first`: ahead of them, for a retry). */
  enqueue(entry: ChannelEntry, first = false): void {
    if (!this.isCurrent(entry.tracker)) return;
    const queue = this.parts.get(entry.job.partition)?.queue;
    if (first) queue?.unshift(entry);
    else queue?.push(entry);
  }

  /**
   * Takes the next message to run, visiting partitions in turn so none starves: in each, the first
   * waiting message whose thread is not busy (so a thread's messages always start in offset order).
   */
  takeNext(busy: (threadId: string) => boolean): ChannelEntry | undefined {
    const queues = [...this.parts.values()].map((ps) => ps.queue);
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[(this.turn + i) % queues.length] ?? [];
      const at = queue.findIndex((e) => !busy(e.job.threadId));
      if (at >= 0) {
        this.turn = (this.turn + i + 1) % queues.length;
        return queue.splice(at, 1)[0];
      }
    }
    return undefined;
  }

  /** Whether `tracker` still belongs to an assigned partition. */
  isCurrent(tracker: OffsetTracker): boolean {
    return this.parts.get(tracker.partition)?.tracker === tracker;
  }

  /** Marks an offset finished if its partition is still assigned (a revoked one's next owner redoes it), and commits. */
  complete(tracker: OffsetTracker, offset: number): void {
    if (!this.isCurrent(tracker)) return;
    tracker.complete(offset);
    this.scheduleCommit();
  }

  /** Applies a new assignment; returns the trackers of the partitions taken away. */
  reassign(assigned: readonly number[]): OffsetTracker[] {
    const mine = new Set(assigned);
    const revoked: OffsetTracker[] = [];
    for (const [partition, ps] of this.parts) {
      if (mine.has(partition)) continue;
      this.parts.delete(partition);
      revoked.push(ps.tracker);
    }
    for (const partition of mine) this.state(partition);
    this.scheduleCommit(); // commits refused during the rebalance go now
    return revoked;
  }

  /** Drops every waiting message: uncommitted, they go to the partitions' next owner. */
  clearQueues(): void {
    for (const ps of this.parts.values()) ps.queue.length = 0;
  }

  /** Forgets every partition (after the consumer left the group). */
  clear(): void {
    this.parts.clear();
  }

  /** Records the end of a partition seen by the last fetch. */
  setHighWatermark(partition: number, highWatermark: string): void {
    const ps = this.parts.get(partition);
    if (ps) ps.highWatermark = Number(highWatermark);
  }

  /**
   * Pauses a partition when everything should stop, when its queue is full, or when all run slots
   * are busy and it already has a message waiting; resumes it otherwise. `force` states every
   * partition again (a restarted kafkajs consumer forgets its pauses).
   */
  updatePauses(o: { stopAll: boolean; slotsFull: boolean; maxQueued: number; force?: boolean }): void {
    for (const [partition, ps] of this.parts) {
      const pause = o.stopAll || ps.queue.length >= o.maxQueued || (o.slotsFull && ps.queue.length > 0);
      if (pause === ps.paused && !o.force) continue;
      ps.paused = pause;
      try {
        if (pause) this.consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
        else this.consumer?.resume([{ topic: this.topic, partitions: [partition] }]);
      } catch (error) {
        // Before run() created the group there is nothing to pause yet; the first join states it again.
        this.logger.debug("could not pause/resume yet", { partition, error });
      }
    }
  }

  /** Status of every assigned partition; `running` counts the runs of a tracker. */
  snapshot(running: (tracker: OffsetTracker) => number): GraphChannelPartitionStatus[] {
    return [...this.parts]
      .map(([partition, ps]) => {
        const s: GraphChannelPartitionStatus = { partition, queued: ps.queue.length, running: running(ps.tracker), paused: ps.paused };
        if (ps.committed !== undefined) s.committedOffset = String(ps.committed);
        if (ps.highWatermark !== undefined) s.highWatermark = String(ps.highWatermark);
        if (ps.committed !== undefined && ps.highWatermark !== undefined) s.lag = Math.max(0, ps.highWatermark - ps.committed);
        return s;
      })
      .sort((a, b) => a.partition - b.partition);
  }

  /** Waits for the commit on the wire, then commits whatever finished since. */
  async flushCommits(): Promise<void> {
    await this.committing;
    this.scheduleCommit();
    await this.committing;
  }

  private state(partition: number): PartitionState {
    let ps = this.parts.get(partition);
    if (!ps) this.parts.set(partition, (ps = { tracker: new OffsetTracker(this.topic, partition), queue: [], paused: false }));
    return ps;
  }

  /** One commit on the wire at a time; completions meanwhile are folded into the next one. */
  private scheduleCommit(): void {
    if (this.committing) {
      this.commitAgain = true;
      return;
    }
    this.committing = this.commitLoop().finally(() => (this.committing = undefined));
  }

  private async commitLoop(): Promise<void> {
    do {
      this.commitAgain = false;
      const consumer = this.consumer;
      if (!consumer || this.closed) return;
      const points: { ps: PartitionState; offset: number }[] = [];
      for (const ps of this.parts.values()) {
        const offset = ps.tracker.commitPoint();
        if (offset !== undefined) points.push({ ps, offset });
      }
      if (points.length === 0) continue;
      for (const { ps, offset } of points) ps.tracker.markCommitting(offset);
      let ok = true;
      try {
        await consumer.commitOffsets(
          points.map(({ ps, offset }) => ({ topic: this.topic, partition: ps.tracker.partition, offset: String(offset) })),
        );
      } catch (error) {
        ok = false;
        // A rebalance is under way or the partition moved; the next join or completion commits again.
        this.logger.debug("offset commit failed", { topic: this.topic, error });
      }
      for (const { ps, offset } of points) {
        ps.tracker.markCommitted(offset, ok);
        if (ok) ps.committed = Math.max(ps.committed ?? 0, offset);
      }
    } while (this.wantsAnotherCommit());
  }

  /** A method, not the field: TypeScript would keep `commitAgain` narrowed to false across the await. */
  private wantsAnotherCommit(): boolean {
    return this.commitAgain;
  }
}
