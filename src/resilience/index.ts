/**
 * Failover of remote node calls: per-replica circuit breakers (cockatiel), outlier detection,
 * failover retry on another replica, per-node bulkheads.
 *
 * @module
 */
export { BreakerEventLog } from "./BreakerEvents.js";
export type { BreakerEvent, BreakerEventType } from "./BreakerEvents.js";
export { isBreakerFailure, isReplicaFailure } from "./FailoverCaller.js";
export type { BreakerSnapshot, ReplicaHealth } from "./ReplicaBreakers.js";
export { RESILIENCE_DEFAULTS, resolveResilience } from "./resilienceOptions.js";
export type { BreakerPolicyOptions, OutlierOptions, ResilienceOptions } from "./resilienceOptions.js";
