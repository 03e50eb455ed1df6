/**
 * Outlier detection relative to peers: every interval, a replica whose success rate is below the
 * mean of its node's replicas by more than a margin is ejected for a while (longer each time in
 * a row). A breaker catches a replica that fails outright; this catches one that fails more than
 * its peers without failing often enough in a row to open a breaker.
 *
 * @module
 */
import type { ReplicaBreakers } from "./ReplicaBreakers.js";
import type { ResolvedResilience } from "./resilienceOptions.js";

interface Counts {
  calls: number;
  failures: number;
}

/** Counts outcomes per replica and ejects outliers at each interval. */
export class OutlierDetector {
  private readonly counts = new Map<string, Map<string, Counts>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ResolvedResilience["outlier"],
    private readonly breakers: ReplicaBreakers,
  ) {}

  /** Records one call's outcome. */
  record(node: string, replicaId: string, failed: boolean): void {
    if (!this.options.enabled) return;
    let byReplica = this.counts.get(node);
    if (byReplica === undefined) {
      byReplica = new Map();
      this.counts.set(node, byReplica);
    }
    let c = byReplica.get(replicaId);
    if (c === undefined) {
      c = { calls: 0, failures: 0 };
      byReplica.set(replicaId, c);
    }
    c.calls += 1;
    if (failed) c.failures += 1;
  }

  /** Starts evaluating every `intervalMs`. */
  start(): void {
    if (!this.options.enabled || this.timer) return;
    this.timer = setInterval(() => this.evaluate(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Compares success rates now and starts a new interval. Returns the replicas ejected, for tests. */
  evaluate(): { node: string; replicaId: string; successRate: number; mean: number }[] {
    const ejected: { node: string; replicaId: string; successRate: number; mean: number }[] = [];
    const o = this.options;
    for (const [node, byReplica] of this.counts) {
      const judged = [...byReplica].filter(([, c]) => c.calls >= o.minRequests);
      if (judged.length >= o.minReplicas) {
        const rates = judged.map(([id, c]) => [id, 1 - c.failures / c.calls] as const);
        const mean = rates.reduce((sum, [, r]) => sum + r, 0) / rates.length;
        for (const [replicaId, rate] of rates) {
          if (rate < mean - o.margin) {
            const n = this.breakers.ejections(node, replicaId) + 1;
            const ms = Math.min(o.baseEjectionMs * n, o.maxEjectionMs);
            this.breakers.eject(node, replicaId, ms, `success rate ${pct(rate)} vs peers' ${pct(mean)} (margin ${pct(o.margin)})`);
            ejected.push({ node, replicaId, successRate: rate, mean });
          } else {
            this.breakers.forgive(node, replicaId);
          }
        }
      }
      byReplica.clear();
    }
    return ejected;
  }
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}
