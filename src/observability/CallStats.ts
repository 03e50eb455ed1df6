/**
 * Running call statistics (count, failures, latency EWMA, recent error rate) for a node or a
 * replica: cheap enough to update on every call, and the source of the load figures replicas
 * heartbeat and `fabric.status()` shows.
 *
 * @module
 */

/** A snapshot of {@link CallStats}. */
export interface CallStatsSnapshot {
  /** Calls completed (a count). */
  calls: number;
  /** Calls that failed (a count). */
  failures: number;
  /** Exponentially weighted moving average of latency, in ms (0 before the first call). */
  latencyEwmaMs: number;
  /** Exponentially weighted share of failed calls, 0..1. */
  errorRate: number;
  /** Latency of the last call, in ms. */
  lastLatencyMs: number;
}

/** Accumulates call outcomes. `alpha` is the weight of the newest sample (0..1, default 0.2). */
export class CallStats {
  private calls = 0;
  private failures = 0;
  private ewma = 0;
  private errorEwma = 0;
  private last = 0;

  /** @throws RangeError when alpha is not in (0, 1]. */
  constructor(private readonly alpha = 0.2) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1] (got ${alpha})`);
  }

  /** Records one completed call. */
  record(latencyMs: number, failed: boolean): void {
    this.calls += 1;
    if (failed) this.failures += 1;
    this.last = latencyMs;
    this.ewma = this.calls === 1 ? latencyMs : this.ewma + this.alpha * (latencyMs - this.ewma);
    this.errorEwma = this.calls === 1 ? (failed ? 1 : 0) : this.errorEwma + this.alpha * ((failed ? 1 : 0) - this.errorEwma);
  }

  /** Current figures. */
  snapshot(): CallStatsSnapshot {
    return { calls: this.calls, failures: this.failures, latencyEwmaMs: this.ewma, errorRate: this.errorEwma, lastLatencyMs: this.last };
  }
}
