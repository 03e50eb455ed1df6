/**
 * The performance monitor: compares the latency and error-rate EWMAs that `fabric.status()`
 * reports — of the nodes this process calls, and of the replicas it serves — with thresholds.
 * It reports transitions only (a node becomes slow, starts failing, recovers), so a node that
 * stays slow is one warning, not one per interval.
 *
 * @module
 */
import type { CallStatsSnapshot } from "../../observability/CallStats.js";
import type { MonitorEvent } from "./MonitorEvent.js";
import type { PerformanceThresholds } from "./monitorOptions.js";

/** The figures the monitor reads (a subset of `FabricStatus`). */
export interface PerformanceSample {
  /** Calls made by this process, per node. */
  calls: Readonly<Record<string, CallStatsSnapshot>>;
  /** Replicas served by this process. */
  served: readonly { node: string; replicaId: string; stats: CallStatsSnapshot }[];
}

interface Flags {
  slow: boolean;
  errors: boolean;
}

/** Reports nodes crossing the thresholds; see the module comment. */
export class PerformanceMonitor {
  private readonly flags = new Map<string, Flags>();

  constructor(
    private readonly thresholds: Required<PerformanceThresholds>,
    private readonly now: () => number,
  ) {}

  /** Judges one sample; returns the transitions. */
  check(sample: PerformanceSample): MonitorEvent[] {
    const at = this.now();
    const events: MonitorEvent[] = [];
    const seen = new Set<string>();
    const judge = (subject: string, what: string, stats: CallStatsSnapshot): void => {
      seen.add(subject);
      if (stats.calls < this.thresholds.minCalls) return;
      const before = this.flags.get(subject) ?? { slow: false, errors: false };
      const now: Flags = { slow: stats.latencyEwmaMs > this.thresholds.latencyMs, errors: stats.errorRate > this.thresholds.errorRate };
      const data = { latencyEwmaMs: round(stats.latencyEwmaMs), errorRate: round(stats.errorRate), calls: stats.calls };
      const base = { at, monitor: "performance" as const, subject, data };
      if (now.slow && !before.slow) {
        events.push({
          ...base,
          type: "node-slow",
          level: "warn",
          message: `${what} is slow: latency EWMA ${data.latencyEwmaMs} ms > ${this.thresholds.latencyMs} ms`,
        });
      }
      if (now.errors && !before.errors) {
        events.push({
          ...base,
          type: "node-errors",
          level: "warn",
          message: `${what} is failing: error rate ${data.errorRate} > ${this.thresholds.errorRate}`,
        });
      }
      if ((before.slow || before.errors) && !now.slow && !now.errors) {
        events.push({ ...base, type: "node-recovered", level: "info", message: `${what} is back under its thresholds` });
      }
      this.flags.set(subject, now);
    };
    for (const [node, stats] of Object.entries(sample.calls)) judge(node, `node ${node}`, stats);
    for (const r of sample.served) judge(`${r.node}/${r.replicaId}`, `served replica ${r.replicaId} of ${r.node}`, r.stats);
    // Replicas stopped since: forget them, so the map does not grow with every replica ever served.
    for (const subject of this.flags.keys()) if (!seen.has(subject)) this.flags.delete(subject);
    return events;
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
