/**
 * Which offsets of one assigned partition a replica has finished, and what it may commit.
 *
 * Requests finish out of order (a 2-minute call next to a 2-millisecond one), but a Kafka commit
 * is one position per partition meaning "everything before this is done". So the tracker commits
 * the lowest offset still pending, or one past the highest seen when nothing is pending: a
 * replica that dies re-delivers exactly the unfinished requests and perhaps some finished after
 * them (the idempotency layer absorbs those), never skipping an unanswered one.
 *
 * @module
 */

/** Offsets of one partition, from one assignment of it to this replica (a new assignment gets a new tracker). */
export class OffsetTracker {
  private readonly pending = new Set<number>();
  private highestSeen = -1;
  private committed = -1;
  private committing = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /**
   * Records a fetched offset. Returns false when it was already seen in this assignment: kafkajs
   * re-fetches from the last commit after every rebalance, and those messages are running,
   * queued or answered here already.
   */
  receive(offset: number): boolean {
    if (offset <= this.highestSeen || offset < this.committed) return false;
    this.highestSeen = offset;
    this.pending.add(offset);
    return true;
  }

  /** Marks an offset finished (answered, skipped or dead-lettered). */
  complete(offset: number): void {
    this.pending.delete(offset);
  }

  /** Offsets received and not yet finished. */
  get inProgress(): number {
    return this.pending.size;
  }

  /** The offset to commit now, or undefined when it would not move the committed position. */
  commitPoint(): number | undefined {
    if (this.highestSeen < 0) return undefined;
    let point = this.highestSeen + 1;
    for (const o of this.pending) if (o < point) point = o;
    return point > this.committed && point > this.committing ? point : undefined;
  }

  /** A commit of `offset` is on its way (so the same point is not sent twice). */
  markCommitting(offset: number): void {
    this.committing = Math.max(this.committing, offset);
  }

  /** A commit of `offset` succeeded (`ok`) or failed (it will be retried with the next point). */
  markCommitted(offset: number, ok: boolean): void {
    if (ok) this.committed = Math.max(this.committed, offset);
    if (this.committing === offset) this.committing = -1;
  }
}
