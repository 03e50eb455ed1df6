/**
 * Kafka adapters of langgraph-fabric, on kafkajs.
 *
 * @packageDocumentation
 */
export { kafkaBrokersFromEnv } from "./kafkaBrokersFromEnv.js";
