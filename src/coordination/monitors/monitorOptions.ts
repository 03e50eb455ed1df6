/**
 * Options of the background monitors (`createFabric({ monitors })`), their defaults in one place,
 * and their validation.
 *
 * @module
 */
import {
  definedOnly,
  finiteIn,
  fn,
  isRecord,
  nonEmpty,
  positiveInt,
  realCoordinationTimers,
  show,
  timersOf,
  type CoordinationTimers,
} from "../validation.js";

/** Thresholds of the performance monitor. A node (or served replica) is flagged when it crosses one, and reported again when it is back under both. */
export interface PerformanceThresholds {
  /** Latency EWMA above which a node is slow, in ms. Default 30 000 (nodes are often LLM calls). */
  latencyMs?: number;
  /** Error-rate EWMA (0..1) above which a node is failing. Default 0.5. */
  errorRate?: number;
  /** Calls a node must have completed before it is judged (a count). Default 10. */
  minCalls?: number;
}

/** Options of the background monitors. */
export interface MonitorOptions {
  /** Time between two runs of the monitors, in ms. Default 5 000. */
  intervalMs?: number;
  /** Watch agents and replicas for expiry. Default true. */
  heartbeat?: boolean;
  /** Watch call latency and error rates, with these thresholds; `false` turns it off. Default: on, with the default thresholds. */
  performance?: PerformanceThresholds | false;
  /**
   * Failover sweep: re-read the registry and the agent directory, drop the breakers of replicas
   * that are gone, and requeue the expired leases of `queues` (state-store queues this process
   * relies on); `false` turns it off. Default: on, no queues.
   */
  failover?: { queues?: readonly string[] } | false;
  /**
   * Publish this caller's view (calls per node, balancer figures, breakers) to the state store at
   * every run, for `langgraph-fabric status` and other observers (see `readCallerReports`); a
   * process that makes no remote call publishes nothing. Default true.
   */
  report?: boolean;
  /** Events kept for `fabric.status()` (a count). Default 100. */
  recentEvents?: number;
  /** The clock, epoch ms. Default: the coordination clock (`Date.now`). */
  now?: () => number;
  /** Timers of the run loop. Default: the coordination timers (real, unref'd). */
  timers?: CoordinationTimers;
}

/** Defaults of {@link MonitorOptions}. */
export const MONITOR_DEFAULTS = {
  intervalMs: 5_000, // ms
  heartbeat: true,
  report: true,
  latencyMs: 30_000, // ms
  errorRate: 0.5, // share of calls, 0..1
  minCalls: 10, // calls
  recentEvents: 100, // events
} as const;

/** {@link MonitorOptions} with defaults filled in and validated. */
export interface ResolvedMonitors {
  intervalMs: number;
  heartbeat: boolean;
  report: boolean;
  performance: Required<PerformanceThresholds> | false;
  failover: { queues: string[] } | false;
  recentEvents: number;
  now: () => number;
  timers: CoordinationTimers;
}

/**
 * Merges the defaults into `options` and validates them.
 *
 * @throws RangeError naming the field and value.
 */
export function resolveMonitors(options: MonitorOptions, fallback: { now: () => number; timers?: CoordinationTimers }): ResolvedMonitors {
  const given: unknown = options;
  if (!isRecord(given)) throw new RangeError(`monitors must be an options object or false (got ${show(given)})`);
  const o = { ...MONITOR_DEFAULTS, ...definedOnly(options) };
  if (typeof o.heartbeat !== "boolean") throw new RangeError(`monitors.heartbeat must be a boolean (got ${show(o.heartbeat)})`);
  if (typeof o.report !== "boolean") throw new RangeError(`monitors.report must be a boolean (got ${show(o.report)})`);
  let performance: ResolvedMonitors["performance"] = false;
  if (options.performance !== false) {
    const p = { latencyMs: o.latencyMs, errorRate: o.errorRate, minCalls: o.minCalls, ...definedOnly(options.performance ?? {}) };
    performance = {
      latencyMs: finiteIn("monitors.performance.latencyMs", p.latencyMs, 0),
      errorRate: finiteIn("monitors.performance.errorRate", p.errorRate, 0, 1),
      minCalls: positiveInt("monitors.performance.minCalls", p.minCalls),
    };
  }
  let failover: ResolvedMonitors["failover"] = false;
  if (options.failover !== false) {
    const queues: unknown = options.failover?.queues ?? [];
    if (!Array.isArray(queues)) throw new RangeError(`monitors.failover.queues must be an array of queue names (got ${show(queues)})`);
    failover = { queues: queues.map((q, i) => nonEmpty(`monitors.failover.queues[${i}]`, q)) };
  }
  return {
    intervalMs: positiveInt("monitors.intervalMs", o.intervalMs, "milliseconds"),
    heartbeat: o.heartbeat,
    report: o.report,
    performance,
    failover,
    recentEvents: positiveInt("monitors.recentEvents", o.recentEvents),
    now: fn("monitors.now", options.now ?? fallback.now),
    timers: timersOf("monitors.timers", options.timers ?? fallback.timers ?? realCoordinationTimers),
  };
}
