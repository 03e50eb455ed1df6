/**
 * langgraph-fabric: LangGraph.js graphs as distributed multi-agent systems.
 *
 * The core entry point is transport-agnostic: it holds the error hierarchy, the logging seam and
 * the state store with its in-memory implementation. Kafka and Redis adapters live in
 * `langgraph-fabric/kafka` and `langgraph-fabric/redis`.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export { createConsoleLogger, silentLogger } from "./observability/logger.js";
export type { ConsoleLoggerOptions, LogFields, LogLevel, Logger } from "./observability/logger.js";
export * from "./state/index.js";
