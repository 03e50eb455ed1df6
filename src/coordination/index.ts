/**
 * Coordination of the agents of a fabric: the agent directory, emergency broadcasts, signal
 * fusion, risk assessment with consensus, resource allocation by demand, background monitors and
 * graceful degradation. The fabric exposes them as methods (`fabric.registerAgent`,
 * `fabric.coordinateSignalFusion`, …); the pure pieces (`allocateByDemand`, the risk math) are
 * usable on their own.
 *
 * @module
 */
export { AGENT_DIRECTORY_DEFAULTS, AgentDirectory } from "./AgentDirectory.js";
export type {
  AgentDirectoryOptions,
  AgentEvent,
  AgentHandle,
  AgentInfo,
  AgentQuery,
  AgentRegistration,
  AgentRegistrationOptions,
  AgentStatus,
  AgentUpdate,
} from "./AgentDirectory.js";
export { allocateByDemand } from "./allocateByDemand.js";
export type { ResourceDemand } from "./allocateByDemand.js";
export { Coordination } from "./Coordination.js";
export type { CoordinationStatus } from "./Coordination.js";
export { COORDINATION_DEFAULTS } from "./coordinationOptions.js";
export type { CoordinationOptions } from "./coordinationOptions.js";
export { DEGRADATION_DEFAULTS } from "./degradation.js";
export type { DegradationMode, DegradedBackends } from "./degradation.js";
export { EMERGENCY_CHANNELS } from "./emergencyMessages.js";
export type { AckRecord, Emergency, EmergencyHandler } from "./emergencyMessages.js";
export type { BroadcastOptions, BroadcastResult } from "./EmergencyBroadcaster.js";
export { MONITOR_DEFAULTS } from "./monitors/monitorOptions.js";
export type { MonitorOptions, PerformanceThresholds } from "./monitors/monitorOptions.js";
export type { MonitorEvent, MonitorEventType, MonitorName } from "./monitors/MonitorEvent.js";
export type { MonitorSample, MonitorStatus } from "./monitors/Monitors.js";
export { CallerReporter, readCallerReports } from "./monitors/CallerReports.js";
export type { CallerReport } from "./monitors/CallerReports.js";
export { RESOURCE_ALLOCATOR_DEFAULTS } from "./ResourceAllocator.js";
export type { Allocation, AllocationRequest } from "./ResourceAllocator.js";
export { RISK_DEFAULTS, RISK_TYPE } from "./RiskAssessment.js";
export type { RiskContribution, RiskOptions, RiskRequest, RiskResult } from "./RiskAssessment.js";
export { historicalVaR, netExposure, normalQuantile, normalShortfallRatio, parametricVaR, scenarioPnl, simpleReturns } from "./riskMath.js";
export type { VarEstimate } from "./riskMath.js";
export { SIGNAL_FUSION_DEFAULTS, SIGNAL_FUSION_TYPE } from "./SignalFusion.js";
export type { SignalFusionOptions, SignalFusionResult, TradeDecision } from "./SignalFusion.js";
export { realCoordinationTimers } from "./validation.js";
export type { CoordinationTimers } from "./validation.js";
