/**
 * Options of the fabric's coordination APIs (agents, emergencies, signal fusion, risk, resource
 * allocation), their defaults in one place, and their validation.
 *
 * @module
 */
import type { AgentDirectoryOptions } from "./AgentDirectory.js";
import { definedOnly, fn, nonEmpty, positiveInt, realCoordinationTimers, timersOf, type CoordinationTimers } from "./validation.js";

/** Options of the coordination APIs: `createFabric({ coordination })`. Every field is optional. */
export interface CoordinationOptions {
  /** The agent directory: heartbeat interval, expiry, namespace. */
  agents?: AgentDirectoryOptions;
  /** How long `broadcastEmergency` waits for acknowledgements unless told otherwise, in ms. Default 10 000. */
  emergencyTimeoutMs?: number;
  /** How often a broadcast re-reads acknowledgements from the store (in case a notice was lost), in ms. Default 500. */
  emergencyPollMs?: number;
  /** How long emergency records and acknowledgements are kept in the store, in ms. Default 86 400 000 (24 h). */
  retentionMs?: number;
  /** Deadline of a signal-fusion negotiation unless told otherwise, in ms. Default 10 000. */
  fusionDeadlineMs?: number;
  /** Deadline of a risk-consensus negotiation unless told otherwise, in ms. Default 10 000. */
  riskDeadlineMs?: number;
  /** Role of the agents `assessRisk` asks unless told otherwise. Default `"risk"`. */
  riskRole?: string;
  /** Most compare-and-set attempts of one resource allocation (a count). Default 50. */
  maxAllocationAttempts?: number;
  /**
   * Initiator name of the signal-fusion and risk sessions this fabric starts: a replacement process
   * finds the open sessions of a crashed one by it (`NegotiationCoordinator.openSessions`), and
   * `langgraph-fabric status` lists them. Keep it stable across restarts; processes that share it
   * may resume each other's sessions, which is safe (answers count once). Default `"coordination"`.
   */
  initiator?: string;
  /** The clock, epoch ms, of coordination (deadlines, records). Default `Date.now`. */
  now?: () => number;
  /** Timers of coordination (broadcast timeouts and polls, negotiation deadlines). Default: real, unref'd timers. */
  timers?: CoordinationTimers;
}

/** Defaults of {@link CoordinationOptions}. */
export const COORDINATION_DEFAULTS = {
  emergencyTimeoutMs: 10_000, // ms
  emergencyPollMs: 500, // ms
  retentionMs: 24 * 3_600_000, // ms
  fusionDeadlineMs: 10_000, // ms
  riskDeadlineMs: 10_000, // ms
  riskRole: "risk",
  maxAllocationAttempts: 50, // compare-and-set attempts
  initiator: "coordination",
} as const;

/** {@link CoordinationOptions} with defaults filled in and validated. */
export interface ResolvedCoordination {
  agents: AgentDirectoryOptions;
  emergencyTimeoutMs: number;
  emergencyPollMs: number;
  retentionMs: number;
  initiator: string;
  fusionDeadlineMs: number;
  riskDeadlineMs: number;
  riskRole: string;
  maxAllocationAttempts: number;
  now: () => number;
  timers: CoordinationTimers;
  /** The timers the user injected, if any: negotiations keep their own (referenced) real timers otherwise. */
  injectedTimers: CoordinationTimers | undefined;
}

/**
 * Merges the defaults into `options` and validates them.
 *
 * @throws RangeError naming the field and value.
 */
export function resolveCoordination(options: CoordinationOptions = {}): ResolvedCoordination {
  const o = { ...COORDINATION_DEFAULTS, ...definedOnly(options) };
  for (const field of ["emergencyTimeoutMs", "emergencyPollMs", "retentionMs", "fusionDeadlineMs", "riskDeadlineMs"] as const) {
    positiveInt(field, o[field], "milliseconds");
  }
  positiveInt("maxAllocationAttempts", o.maxAllocationAttempts);
  nonEmpty("riskRole", o.riskRole);
  nonEmpty("initiator", o.initiator);
  return {
    agents: { ...options.agents },
    emergencyTimeoutMs: o.emergencyTimeoutMs,
    emergencyPollMs: o.emergencyPollMs,
    retentionMs: o.retentionMs,
    initiator: o.initiator,
    fusionDeadlineMs: o.fusionDeadlineMs,
    riskDeadlineMs: o.riskDeadlineMs,
    riskRole: o.riskRole,
    maxAllocationAttempts: o.maxAllocationAttempts,
    now: fn("now", options.now ?? Date.now),
    timers: options.timers === undefined ? realCoordinationTimers : timersOf("timers", options.timers),
    injectedTimers: options.timers === undefined ? undefined : timersOf("timers", options.timers),
  };
}
