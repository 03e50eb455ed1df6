/**
 * langgraph-fabric: LangGraph.js graphs as distributed multi-agent systems.
 *
 * The core entry point is transport-agnostic: the fabric (`createFabric`, `distribute`, `serve`),
 * remote nodes, the registry, the in-memory transport and state store, the error hierarchy and the
 * logging seam. Kafka and Redis adapters live in `langgraph-fabric/kafka` and
 * `langgraph-fabric/redis`.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export { Fabric, createFabric, remoteNode } from "./fabric.js";
export type { DistributeOptions, FabricConfig, FabricStatus, RemoteNodeOptions, ServeNodesOptions, ServedNodes } from "./fabric.js";
export { getIdempotencyKey, IDEMPOTENCY_KEY_CONFIG } from "./nodes/idempotencyKey.js";
export {
  checkpointStored,
  checkpointDurabilityOf,
  trackCheckpointDurability,
  type CheckpointDurability,
} from "./nodes/durableCheckpoints.js";
export type { IdempotencyOptions } from "./nodes/IdempotencyStore.js";
export type { ReplicaCandidate, ReplicaPicker } from "./nodes/pickReplica.js";
export * from "./balancer/index.js";
export * from "./resilience/index.js";
export * from "./negotiation/index.js";
export * from "./coordination/index.js";
export { CallStats } from "./observability/CallStats.js";
export type { CallStatsSnapshot } from "./observability/CallStats.js";
export { createConsoleLogger, silentLogger } from "./observability/logger.js";
export type { ConsoleLoggerOptions, LogFields, LogLevel, Logger } from "./observability/logger.js";
export * from "./observability/dashboard/index.js";
export * from "./registry/index.js";
export * from "./state/index.js";
export { InMemoryNetwork, InMemoryTransport } from "./transport/InMemoryTransport.js";
export type { DeadLetter, InMemoryTransportOptions } from "./transport/InMemoryTransport.js";
export { DEFAULT_MAX_MESSAGE_BYTES, ENVELOPE_VERSION, EnvelopeCodec } from "./transport/envelope.js";
export type { EnvelopeCodecOptions, EnvelopeHeader, Frame, RequestHeader, ReplyHeader } from "./transport/envelope.js";
export { FabricSerializer } from "./transport/payloadCodec.js";
export { generateSigningKey, MIN_SIGNING_KEY_BYTES, parseSigningKeys, SigningKeyRing } from "./transport/signingKeys.js";
export type { SigningKey } from "./transport/signingKeys.js";
export { DEFAULT_REVIVABLE_CLASSES, FastJsonPlusSerializer, isPlainJson, needsRevival } from "./serde/FastJsonPlusSerializer.js";
export type { FastJsonPlusSerializerOptions } from "./serde/FastJsonPlusSerializer.js";
export {
  childTraceContext,
  parseTraceparent,
  traceContextOf,
  TRACEPARENT_CONFIG,
  TRACESTATE_CONFIG,
} from "./observability/traceContext.js";
export type { RandomFill, Traceparent } from "./observability/traceContext.js";
export type * from "./transport/Transport.js";
