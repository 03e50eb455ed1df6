/**
 * Options of the failover layer (per-replica circuit breakers, outlier detection, failover retry,
 * per-node bulkhead), their defaults in one place, and their validation.
 *
 * @module
 */

/** Which failures open a replica's breaker. */
export type BreakerPolicyOptions =
  | {
      /** Opens after `threshold` failures in a row. */
      kind: "consecutive";
      /** Failures in a row (a count, ≥ 1). Default 3. */
      threshold?: number;
    }
  | {
      /** Opens when the failure share over a sliding window exceeds `threshold`. */
      kind: "sampling";
      /** Failure share the window must exceed, in (0, 1) (cockatiel's bounds: at 1 it could never open). Default 0.5. */
      threshold?: number;
      /** Window length, in ms. Default 10 000. */
      durationMs?: number;
      /** Calls per second the window needs before it may open (avoids opening on two calls). Default 5. */
      minimumRps?: number;
    };

/** Outlier detection relative to peers (Envoy's success-rate ejection). */
export interface OutlierOptions {
  /** Whether outliers are ejected. Default true. */
  enabled?: boolean;
  /** How often success rates are compared, in ms. Default 10 000. */
  intervalMs?: number;
  /** Calls a replica needs in an interval to be judged (a count). Default 10. */
  minRequests?: number;
  /** Replicas needed with enough calls to compare at all (a count, ≥ 2). Default 3. */
  minReplicas?: number;
  /** Ejected when the success rate is below the peers' mean by more than this (0..1). Default 0.2. */
  margin?: number;
  /** First ejection length, in ms; the n-th consecutive ejection lasts n times as long. Default 30 000. */
  baseEjectionMs?: number;
  /** Longest ejection, in ms. Default 300 000. */
  maxEjectionMs?: number;
}

/** Options of the failover layer; see `FabricConfig.resilience`. */
export interface ResilienceOptions {
  /** When a replica's breaker opens. Default `{ kind: "consecutive", threshold: 3 }`. */
  breaker?: BreakerPolicyOptions;
  /** Wait before an open breaker lets one probe call through, in ms: exponential from `initialMs` up to `maxMs`. Default 1 000 → 30 000. */
  halfOpenAfter?: { initialMs?: number; maxMs?: number };
  /**
   * Whether errors the node threw count as failures of the replica. Only errors LangGraph would
   * retry count (not 4xx statuses, `GraphValueError`, aborts or rejected resume values): a node
   * that rejects bad input says nothing about the replica. Default true.
   */
  countNodeErrors?: boolean;
  /** Most replicas one call is sent to when replicas fail to answer (a count, ≥ 1). Default 3. */
  maxAttempts?: number;
  /** Longest wait for one replica's reply before trying another, in ms. Default: the whole call timeout (no per-attempt limit). */
  attemptTimeoutMs?: number;
  /**
   * How long a call keeps waiting for the reply of a replica that left the registry before it is
   * tried on another, in ms (≥ 0). A replica that drains answers its calls and then deregisters;
   * its last replies may still be on their way when the caller learns it is gone. A crashed
   * replica costs its registry expiry plus this. Default 500.
   */
  replicaGoneGraceMs?: number;
  /** Most calls in flight per node from this process; more are rejected at once. Default 1 024. */
  bulkheadLimit?: number;
  /** Calls that may wait for a bulkhead slot, per node. Default 4 096. */
  bulkheadQueue?: number;
  /**
   * Largest share of a node's replicas that may be out of service at once (open breaker or
   * ejected outlier), in percent. At least one replica always stays in service. Default 100 (all
   * but one).
   */
  maxEjectionPercent?: number;
  /** Outlier detection. */
  outlier?: OutlierOptions;
  /**
   * Share breaker state with other callers through the state store: a replica one process found
   * broken is skipped by all, and one half-open probe at a time is sent across all of them.
   * Default false.
   */
  shared?: boolean;
}

/** Every default, in one place. */
export const RESILIENCE_DEFAULTS = {
  breakerThreshold: 3, // consecutive failures
  samplingThreshold: 0.5, // failure share
  samplingDurationMs: 10_000, // ms
  samplingMinimumRps: 5, // calls per second
  halfOpenInitialMs: 1_000, // ms
  halfOpenMaxMs: 30_000, // ms
  countNodeErrors: true,
  maxAttempts: 3, // replicas per call
  replicaGoneGraceMs: 500, // ms
  bulkheadLimit: 1_024, // calls in flight per node
  bulkheadQueue: 4_096, // calls waiting per node
  maxEjectionPercent: 100, // percent (one replica always stays)
  outlierEnabled: true,
  outlierIntervalMs: 10_000, // ms
  outlierMinRequests: 10, // calls per interval
  outlierMinReplicas: 3, // replicas
  outlierMargin: 0.2, // success-rate points
  outlierBaseEjectionMs: 30_000, // ms
  outlierMaxEjectionMs: 300_000, // ms
  shared: false,
} as const;

/** Options after defaults and validation. */
export interface ResolvedResilience {
  breaker: Required<Extract<BreakerPolicyOptions, { kind: "consecutive" }>> | Required<Extract<BreakerPolicyOptions, { kind: "sampling" }>>;
  halfOpenInitialMs: number;
  halfOpenMaxMs: number;
  countNodeErrors: boolean;
  maxAttempts: number;
  attemptTimeoutMs: number | undefined;
  replicaGoneGraceMs: number;
  bulkheadLimit: number;
  bulkheadQueue: number;
  maxEjectionPercent: number;
  outlier: Required<OutlierOptions>;
  shared: boolean;
}

function positiveInt(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new RangeError(`${field} must be a positive integer (got ${String(value)})`);
  return value;
}

function nonNegativeInt(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    throw new RangeError(`${field} must be a non-negative integer (got ${String(value)})`);
  return value;
}

function positiveNumber(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new RangeError(`${field} must be a positive number (got ${String(value)})`);
  return value;
}

function fraction(field: string, value: unknown, allowZero = false): number {
  if (typeof value !== "number" || !(allowZero ? value >= 0 : value > 0) || value > 1) {
    throw new RangeError(`${field} must be a number in ${allowZero ? "[0, 1]" : "(0, 1]"} (got ${String(value)})`);
  }
  return value;
}

/** A number strictly between 0 and 1 (cockatiel's `SamplingBreaker` throws otherwise, on the first call rather than at construction). */
function openFraction(field: string, value: unknown): number {
  if (typeof value !== "number" || !(value > 0 && value < 1))
    throw new RangeError(`${field} must be a number in (0, 1) (got ${String(value)})`);
  return value;
}

/** Applies defaults and validates. @throws RangeError naming the field and the value. */
export function resolveResilience(options: ResilienceOptions = {}): ResolvedResilience {
  const d = RESILIENCE_DEFAULTS;
  const b = options.breaker ?? { kind: "consecutive" as const };
  let breaker: ResolvedResilience["breaker"];
  if (b.kind === "consecutive") {
    breaker = { kind: "consecutive", threshold: positiveInt("breaker.threshold", b.threshold ?? d.breakerThreshold) };
  } else if ((b as { kind: unknown }).kind === "sampling") {
    breaker = {
      kind: "sampling",
      threshold: openFraction("breaker.threshold", b.threshold ?? d.samplingThreshold),
      durationMs: positiveInt("breaker.durationMs", b.durationMs ?? d.samplingDurationMs),
      minimumRps: positiveNumber("breaker.minimumRps", b.minimumRps ?? d.samplingMinimumRps),
    };
  } else {
    throw new RangeError(`breaker.kind must be "consecutive" or "sampling" (got ${JSON.stringify((b as { kind: unknown }).kind)})`);
  }
  const halfOpenInitialMs = positiveInt("halfOpenAfter.initialMs", options.halfOpenAfter?.initialMs ?? d.halfOpenInitialMs);
  const halfOpenMaxMs = positiveInt("halfOpenAfter.maxMs", options.halfOpenAfter?.maxMs ?? d.halfOpenMaxMs);
  if (halfOpenMaxMs < halfOpenInitialMs)
    throw new RangeError(`halfOpenAfter.maxMs must be >= halfOpenAfter.initialMs (got ${halfOpenMaxMs})`);
  const countNodeErrors = options.countNodeErrors ?? d.countNodeErrors;
  if (typeof countNodeErrors !== "boolean") throw new RangeError(`countNodeErrors must be a boolean (got ${String(countNodeErrors)})`);
  const shared = options.shared ?? d.shared;
  if (typeof shared !== "boolean") throw new RangeError(`shared must be a boolean (got ${String(shared)})`);
  const maxEjectionPercent = options.maxEjectionPercent ?? d.maxEjectionPercent;
  if (typeof maxEjectionPercent !== "number" || !(maxEjectionPercent >= 0 && maxEjectionPercent <= 100)) {
    throw new RangeError(`maxEjectionPercent must be a number in [0, 100] (got ${String(maxEjectionPercent)})`);
  }
  const o = options.outlier ?? {};
  const outlier: Required<OutlierOptions> = {
    enabled: o.enabled ?? d.outlierEnabled,
    intervalMs: positiveInt("outlier.intervalMs", o.intervalMs ?? d.outlierIntervalMs),
    minRequests: positiveInt("outlier.minRequests", o.minRequests ?? d.outlierMinRequests),
    minReplicas: positiveInt("outlier.minReplicas", o.minReplicas ?? d.outlierMinReplicas),
    margin: fraction("outlier.margin", o.margin ?? d.outlierMargin),
    baseEjectionMs: positiveInt("outlier.baseEjectionMs", o.baseEjectionMs ?? d.outlierBaseEjectionMs),
    maxEjectionMs: positiveInt("outlier.maxEjectionMs", o.maxEjectionMs ?? d.outlierMaxEjectionMs),
  };
  if (outlier.minReplicas < 2) throw new RangeError(`outlier.minReplicas must be at least 2 (got ${outlier.minReplicas})`);
  return {
    breaker,
    halfOpenInitialMs,
    halfOpenMaxMs,
    countNodeErrors,
    maxAttempts: positiveInt("maxAttempts", options.maxAttempts ?? d.maxAttempts),
    attemptTimeoutMs: options.attemptTimeoutMs === undefined ? undefined : positiveInt("attemptTimeoutMs", options.attemptTimeoutMs),
    replicaGoneGraceMs: nonNegativeInt("replicaGoneGraceMs", options.replicaGoneGraceMs ?? d.replicaGoneGraceMs),
    bulkheadLimit: positiveInt("bulkheadLimit", options.bulkheadLimit ?? d.bulkheadLimit),
    bulkheadQueue: nonNegativeInt("bulkheadQueue", options.bulkheadQueue ?? d.bulkheadQueue),
    maxEjectionPercent,
    outlier,
    shared,
  };
}
