/**
 * What the background monitors report: agents and replicas that expired or left, nodes whose
 * latency or error rate crossed a threshold (and their recovery), leases requeued, and the
 * registry's reachability. Events are logged, kept in a bounded ring for `fabric.status()`, and
 * passed to listeners (`fabric.onMonitorEvent`).
 *
 * @module
 */
import type { Logger } from "../../observability/logger.js";

/** Which monitor reported an event. */
export type MonitorName = "heartbeat" | "performance" | "failover";

/** Kind of a monitor event. */
export type MonitorEventType =
  | "agent-expired"
  | "agent-left"
  | "replica-expired"
  | "replica-left"
  | "node-slow"
  | "node-errors"
  | "node-recovered"
  | "leases-requeued"
  | "registry-unreachable"
  | "registry-reachable";

/** One monitor event. */
export interface MonitorEvent {
  /** When, epoch ms. */
  readonly at: number;
  readonly monitor: MonitorName;
  readonly type: MonitorEventType;
  /** `"warn"` for what needs attention (expiry, thresholds, outages), `"info"` for the rest. */
  readonly level: "info" | "warn";
  /** What it is about: an agent id, `"<node>/<replicaId>"`, a node, a queue, `"registry"`. */
  readonly subject: string;
  /** In words, for logs. */
  readonly message: string;
  /** Figures behind it (heartbeat age, latency, error rate, counts). */
  readonly data?: Readonly<Record<string, string | number | boolean>>;
}

/** A bounded log of monitor events with listeners; every event is also logged. */
export class MonitorEventLog {
  private readonly ring: MonitorEvent[] = [];
  private readonly listeners = new Set<(event: MonitorEvent) => void>();

  /** @throws RangeError when capacity is not a positive integer. */
  constructor(
    private readonly logger: Logger,
    private readonly capacity = 100,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
  }

  /** Records, logs and passes on an event (a listener that throws is logged and ignored). */
  emit(event: MonitorEvent): void {
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.logger[event.level](`monitor: ${event.message}`, { type: event.type, subject: event.subject, ...event.data });
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (e) {
        this.logger.error("monitor: an event listener threw", { type: event.type, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** The most recent events, oldest first. */
  recent(limit = this.capacity): MonitorEvent[] {
    return this.ring.slice(-limit);
  }

  /** Adds a listener; returns a function that removes it. */
  listen(listener: (event: MonitorEvent) => void): () => void {
    const own = (event: MonitorEvent): void => listener(event);
    this.listeners.add(own);
    return () => this.listeners.delete(own);
  }
}
