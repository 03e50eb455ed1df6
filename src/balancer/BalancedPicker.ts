/**
 * The adapter that puts a {@link Balancer} behind the remote-node client's `ReplicaPicker`.
 *
 * @module
 */
import type { CallOutcome } from "../nodes/wireFormat.js";
import { isCallable, type ReplicaCandidate, type ReplicaPicker } from "../nodes/pickReplica.js";
import type { Balancer, BalancerReplica, ExcludeSet, ReplicaBalanceStats } from "./Balancer.js";
import { createBalancer } from "./createBalancer.js";

/**
 * What the picker gives its balancer: a candidate, with weight and load figures when the candidate
 * is a registry record (the client passes `Registry.replicas()` output, which has them).
 */
export type PickerReplica = ReplicaCandidate & Pick<BalancerReplica, "weight" | "load">;

/** Options of {@link BalancedPicker}. */
export interface BalancedPickerOptions {
  /** The balancer. Default: `createBalancer()` (p2c-ewma, real clock and randomness). */
  balancer?: Balancer<PickerReplica>;
  /**
   * Replicas of `node` to skip for every call, e.g. those whose circuit breaker is open; called once
   * per pick, so it must be cheap (return a set kept up to date, not a new one). `callableCount` is
   * the number of candidates that can take a call now (active, and addressable: not still joining),
   * which is what an ejection cap must keep a share of. Default: none.
   */
  exclude?: (node: string, callableCount: number) => ExcludeSet | undefined;
}

/** True when both lists hold the same records, by identity, in the same order. */
function sameItems(a: readonly ReplicaCandidate[], b: readonly ReplicaCandidate[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** Both exclusions as one, without copying either. */
function union(a: ExcludeSet | undefined, b: ExcludeSet | undefined): ExcludeSet | undefined {
  if (a === undefined || a.size === 0) return b;
  if (b === undefined || b.size === 0) return a;
  return { size: a.size + b.size, has: (id) => a.has(id) || b.has(id) };
}

/**
 * A `ReplicaPicker` backed by a balancer. It follows the registry by itself: each pick compares
 * the candidate list with the one it last saw and updates the balancer only when it changed.
 * Lists are treated as immutable: the same array again is unchanged (O(1)); another array is
 * compared record by record, by identity (the registry hands out the same frozen records until a
 * refresh replaces them) — O(n) pointer checks, well below the cost of building that array. A
 * source that returns the same array until something changes makes the check O(1).
 *
 * A pick counts as the start of a call (the client calls the chosen replica at once); report the
 * end with {@link BalancedPicker.callDone}, which has the signature of the client's `onCallDone`:
 *
 * ```ts
 * const picker = new BalancedPicker({ balancer: createBalancer("least-connections") });
 * new RemoteNodeClient({ ...options, picker, onCallDone: picker.callDone });
 * ```
 */
export class BalancedPicker implements ReplicaPicker {
  /** The balancer behind the picker. */
  readonly balancer: Balancer<PickerReplica>;
  private readonly exclude: ((node: string, callableCount: number) => ExcludeSet | undefined) | undefined;
  /** The candidate list last seen per node, and how many of its candidates are callable. */
  private readonly seen = new Map<string, { list: readonly ReplicaCandidate[]; callable: number }>();

  constructor(options: BalancedPickerOptions = {}) {
    this.balancer = options.balancer ?? createBalancer<PickerReplica>();
    this.exclude = options.exclude;
  }

  /** A replica for a call to `node` among `candidates` (draining and joining ones skipped), or `undefined`. Counts as the call's start. */
  pick(node: string, candidates: readonly ReplicaCandidate[], threadId: string | null): ReplicaCandidate | undefined {
    return this.pickExcluding(node, candidates, threadId, undefined);
  }

  /**
   * As {@link BalancedPicker.pick}, also skipping `tried` — the replicas this call already failed
   * on, for retry with failover.
   */
  pickExcluding(
    node: string,
    candidates: readonly ReplicaCandidate[],
    threadId: string | null,
    tried: ExcludeSet | undefined,
  ): ReplicaCandidate | undefined {
    const callable = this.follow(node, candidates);
    const chosen = this.balancer.select(node, { threadId, exclude: union(this.exclude?.(node, callable), tried) });
    if (chosen !== undefined) this.balancer.onCallStart(node, chosen.replicaId);
    return chosen;
  }

  /**
   * Reports the end of a call started by a pick. Errors the node returned count as failures too:
   * a replica whose dependency is broken fails fast, and must not look fast to latency-based
   * strategies. Calls that never reached a replica (`replicaId` undefined) are ignored.
   */
  readonly callDone = (node: string, replicaId: string | undefined, durationMs: number, outcome: CallOutcome["kind"] | "failed"): void => {
    if (replicaId === undefined) return;
    const latencyMs = durationMs > 0 && durationMs < Number.POSITIVE_INFINITY ? durationMs : 0;
    this.balancer.onCallEnd(node, replicaId, { latencyMs, failed: outcome === "failed" || outcome === "error" });
  };

  /** The balancer's figures for `node`'s callable replicas. */
  stats(node: string): ReplicaBalanceStats[] {
    return this.balancer.stats(node);
  }

  /** Updates the balancer when `candidates` changed; returns how many of them are callable. */
  private follow(node: string, candidates: readonly ReplicaCandidate[]): number {
    const last = this.seen.get(node);
    if (last?.list === candidates) return last.callable;
    if (last !== undefined && sameItems(last.list, candidates)) {
      // Same records, so the same callable ones; remember this array so that it is O(1) next time.
      this.seen.set(node, { list: candidates, callable: last.callable });
      return last.callable;
    }
    const callable = candidates.filter(isCallable);
    this.seen.set(node, { list: candidates, callable: callable.length });
    this.balancer.update(node, callable);
    return callable.length;
  }
}
