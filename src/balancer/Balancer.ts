/**
 * The load balancer's contract: which replica of a graph node takes the next call.
 *
 * A balancer keeps, per node, structures prepared from the replica set it was last given
 * ({@link Balancer.update}, called when the registry's view changes), so that
 * {@link Balancer.select} never scans every replica. Calls report their start and end
 * ({@link Balancer.onCallStart}, {@link Balancer.onCallEnd}), which feed in-flight counts, latency
 * averages and error counts incrementally. Strategies live one per file next to this one;
 * `createBalancer` builds any of them by name.
 *
 * @module
 */
import type { ReplicaInfo, ReplicaStatus } from "../registry/Registry.js";

/** Names of the built-in strategies, as accepted by `createBalancer`. */
export type BalancerName =
  "round-robin" | "weighted-round-robin" | "least-connections" | "performance" | "resource" | "p2c-ewma" | "consistent-hash";

/** Every built-in strategy name, in documentation order. */
export const BALANCER_NAMES: readonly BalancerName[] = [
  "round-robin",
  "weighted-round-robin",
  "least-connections",
  "performance",
  "resource",
  "p2c-ewma",
  "consistent-hash",
];

/**
 * What a balancer reads from a replica. A registry {@link ReplicaInfo} satisfies it; so does the
 * narrower candidate a `ReplicaPicker` receives (weight and load then count as absent).
 */
export interface BalancerReplica {
  /** Unique id of the replica; calls report back with it. */
  readonly replicaId: string;
  /** Only `"active"` replicas are selected. */
  readonly status: ReplicaStatus;
  /** Relative share of traffic for weighted strategies (absent: 1; 0, negative or not finite: none). */
  readonly weight?: number;
  /** Heartbeat figures; the resource strategy reads `cpu` (fraction of a core) and `memoryBytes`. Absent fields count as 0. */
  readonly load?: { readonly cpu?: number; readonly memoryBytes?: number };
}

/**
 * Replicas a selection must not return: those whose circuit breaker is open, or that were already
 * tried for this call. Any `ReadonlySet<string>` fits; `size` lets strategies skip all checks when
 * it is 0 and may over-count (a union of two sets), never under-count.
 */
export interface ExcludeSet {
  /** Number of ids held (an upper bound). */
  readonly size: number;
  /** True when `replicaId` must not be returned. */
  has(replicaId: string): boolean;
}

/** One selection's inputs. */
export interface SelectRequest {
  /** The LangGraph thread of the call; consistent hashing keeps a thread on one replica. Absent or `null`: none. */
  readonly threadId?: string | null;
  /** Replicas to skip for this selection. */
  readonly exclude?: ExcludeSet;
}

/** How a call ended, for {@link Balancer.onCallEnd}. */
export interface CallResult {
  /** How long the call took, in milliseconds (finite, ≥ 0). */
  readonly latencyMs: number;
  /** True when the replica failed to answer (transport error, timeout, or an error reply). */
  readonly failed: boolean;
}

/** Per-replica figures of {@link Balancer.stats}, as this balancer saw them (not the replica's own). */
export interface ReplicaBalanceStats {
  /** The replica. */
  readonly replicaId: string;
  /** Times `select` returned it (a count). */
  readonly selections: number;
  /** Calls started and not yet ended (a count). */
  readonly inFlight: number;
  /**
   * The balancer's latency estimate, in milliseconds: an EWMA of call latencies in which failed
   * calls count as slow (see {@link BalancerOptions.failurePenalty}); `p2c-ewma` reports its
   * peak EWMA decayed to now. 0 before the first call ended.
   */
  readonly latencyEwmaMs: number;
  /** Calls that ended failed (a count). */
  readonly errors: number;
  /** Calls that ended (a count). */
  readonly calls: number;
}

/**
 * Chooses replicas for calls to graph nodes. Not thread-safe in any sense that matters to JS: all
 * methods are synchronous and cheap; `select` does no I/O and, in the common case, no scan of all
 * replicas.
 *
 * @typeParam R - the replica records given to {@link Balancer.update} and returned by {@link Balancer.select}.
 */
export interface Balancer<R extends BalancerReplica = ReplicaInfo> {
  /** The strategy's name. */
  readonly name: BalancerName;
  /**
   * Replaces the replica set of `node` (the registry's current view) and rebuilds the prepared
   * structures. State kept per replica id (in-flight counts, latency averages, counters, position
   * in a schedule) survives, so calling this on every registry refresh is correct. Replicas that
   * are not `"active"` are kept for their statistics but never selected. An empty list forgets
   * the node. Costs O(n) (O(n log n) when replicas join or leave).
   */
  update(node: string, replicas: readonly R[]): void;
  /** A replica for the next call to `node`, or `undefined` when none is eligible. */
  select(node: string, request?: SelectRequest): R | undefined;
  /** Reports that a call to `replicaId` started. Unknown nodes and replicas are ignored. */
  onCallStart(node: string, replicaId: string): void;
  /**
   * Reports that a call to `replicaId` ended. Unknown nodes and replicas are ignored (a replica may
   * have left while the call ran).
   * @throws RangeError when `result.latencyMs` is negative or not finite.
   */
  onCallEnd(node: string, replicaId: string, result: CallResult): void;
  /** Figures for each replica of `node` given to the last `update`, in that order. */
  stats(node: string): ReplicaBalanceStats[];
}

/** Options every strategy accepts. */
export interface BalancerOptions {
  /** The clock, in milliseconds (only differences matter). Default: `performance.now` (monotonic). */
  now?: () => number;
  /** Uniform randomness in [0, 1). Default: `Math.random`. */
  random?: () => number;
  /**
   * Weight of the newest sample in the latency EWMA of every strategy but `p2c-ewma` (which
   * weights by elapsed time, see `decayMs`), in (0, 1]. Default: 0.3.
   */
  latencyAlpha?: number;
  /**
   * A failed call counts as a latency sample of at least `failurePenalty` × the replica's current
   * estimate (≥ 1; 1 disables). Without it, a replica that fails fast looks fast to latency-based
   * strategies and draws more traffic. Default: 2.
   */
  failurePenalty?: number;
  /**
   * Latency estimate, in milliseconds, for a replica with no sample when no replica of its node has
   * one either (otherwise a newcomer starts at the median of the others). Default: 10.
   */
  initialLatencyMs?: number;
}

/** Default values of every balancer option, with units, in one place. */
export const BALANCER_DEFAULTS = {
  /** weight of the newest sample, (0, 1] */
  latencyAlpha: 0.3,
  /** factor ≥ 1 */
  failurePenalty: 2,
  /** milliseconds */
  initialLatencyMs: 10,
  /** milliseconds: time constant of the latency estimate's decay without samples (p2c-ewma, performance) */
  decayMs: 10_000,
  /** random draws per choice before a scan, when exclusions hit (p2c-ewma) */
  exclusionRetries: 3,
  /** ring points per replica of the largest weight (consistent-hash) */
  virtualNodes: 160,
  /** score per unit of CPU (fraction of a core) (resource) */
  cpuWeight: 0.7,
  /** score per unit of memory share (bytes / largest of the node's replicas) (resource) */
  memoryWeight: 0.3,
  /** score per call this balancer has in flight on the replica (resource) */
  inFlightWeight: 0.1,
} as const;

/** A RangeError naming `field`, what it must be, and the `value` it got. Shared by the strategies' validation. */
export function invalid(field: string, expected: string, value: unknown): RangeError {
  return new RangeError(`${field} must be ${expected} (got ${typeof value === "string" ? JSON.stringify(value) : String(value)})`);
}

/**
 * Throws {@link invalid}`(field, expected, value)` unless `ok`.
 * @throws RangeError
 */
export function check(ok: boolean, field: string, expected: string, value: unknown): void {
  if (!ok) throw invalid(field, expected, value);
}
