/**
 * What the failover layer tells people: breaks, half-open probes, resets, outlier ejections and
 * returns. Kept in a bounded ring (for `fabric.status()`) and passed to listeners (for logs and
 * metrics).
 *
 * @module
 */

/** Kind of a breaker event. */
export type BreakerEventType = "break" | "half-open" | "reset" | "eject" | "return";

/** One breaker event. */
export interface BreakerEvent {
  /** When, epoch ms. */
  readonly at: number;
  readonly node: string;
  readonly replicaId: string;
  readonly type: BreakerEventType;
  /** Why (the failure that opened the breaker, the success rate that ejected an outlier…). */
  readonly reason?: string;
  /** True when the event came from another caller through the shared breaker state. */
  readonly shared?: boolean;
}

/** A bounded log of breaker events with listeners. */
export class BreakerEventLog {
  private readonly ring: BreakerEvent[] = [];
  private readonly listeners = new Set<(event: BreakerEvent) => void>();

  /** @throws RangeError when capacity is not a positive integer. */
  constructor(private readonly capacity = 200) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
  }

  /** Records an event and tells the listeners (a listener that throws is ignored). */
  emit(event: BreakerEvent): void {
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure must not break the call path
      }
    }
  }

  /** The most recent events, oldest first. */
  recent(limit = this.capacity): BreakerEvent[] {
    return this.ring.slice(-limit);
  }

  /** Adds a listener; returns a function that removes it. */
  listen(listener: (event: BreakerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
