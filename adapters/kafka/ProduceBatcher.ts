/**
 * Coalesces produce calls into `sendBatch` requests.
 *
 * kafkajs's idempotent producer holds a lock per broker around each produce request, so
 * concurrent `send()` calls queue one round trip after another. Instead, records handed over in
 * the same event-loop turn, and all records handed over while a batch is on the wire, leave
 * together in the next batch: one round trip for many replies under load, no added wait when idle.
 *
 * @module
 */
import type { IHeaders, Producer, TopicMessages } from "kafkajs";

/** One record to produce to an explicit partition. */
export interface OutgoingRecord {
  topic: string;
  partition: number;
  key?: string | Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

interface Queued {
  readonly record: OutgoingRecord;
  readonly size: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Rough per-record overhead in a record batch (offset delta, lengths, attributes), in bytes. */
const RECORD_OVERHEAD_BYTES = 64;

/** Produces records in batches, preserving their order per partition; at most one batch in flight. */
export class ProduceBatcher {
  private queue: Queued[] = [];
  private scheduled = false;
  private inFlight = false;
  private idleWaiters: (() => void)[] = [];

  /**
   * @param producer - a connected producer (idempotent, so `acks` is all replicas).
   * @param maxBatchBytes - most bytes per `sendBatch`, so a batch stays under the broker's
   *   `message.max.bytes` (which applies per partition batch); a single larger record still goes alone.
   */
  constructor(
    private readonly producer: Pick<Producer, "sendBatch">,
    private readonly maxBatchBytes: number,
  ) {}

  /** Records waiting or on the wire. */
  get pending(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }

  /** Queues a record; resolves once the broker acknowledged it (all in-sync replicas). */
  send(record: OutgoingRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let size = (record.value?.length ?? 0) + RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0);
      for (const [k, v] of Object.entries(record.headers ?? {}))
        size += k.length + (typeof v === "string" || Buffer.isBuffer(v) ? v.length : 0);
      this.queue.push({ record, size, resolve, reject });
      if (!this.inFlight && !this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: replies finished in the same I/O turn share one batch.
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Resolves when nothing is queued or on the wire. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Rejects everything still queued (not what is on the wire). */
  failQueued(error: unknown): void {
    const queued = this.queue;
    this.queue = [];
    for (const q of queued) q.reject(error);
    this.maybeIdle();
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) {
      this.maybeIdle();
      return;
    }
    let bytes = 0;
    let n = 0;
    for (const q of this.queue) {
      if (n > 0 && bytes + q.size > this.maxBatchBytes) break;
      bytes += q.size;
      n++;
    }
    const batch = this.queue.splice(0, n);
    const byTopic = new Map<string, TopicMessages>();
    for (const { record } of batch) {
      let tm = byTopic.get(record.topic);
      if (!tm) byTopic.set(record.topic, (tm = { topic: record.topic, messages: [] }));
      tm.messages.push({ partition: record.partition, key: record.key ?? null, value: record.value, headers: record.headers });
    }
    this.inFlight = true;
    this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic.values()] }).then(
      () => {
        this.inFlight = false;
        for (const q of batch) q.resolve();
        this.flush();
      },
      (error: unknown) => {
        this.inFlight = false;
        for (const q of batch) q.reject(error);
        this.flush();
      },
    );
  }

  private maybeIdle(): void {
    if (this.queue.length > 0 || this.inFlight) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
