/**
 * Kafka adapters of langgraph-fabric, on kafkajs.
 *
 * @packageDocumentation
 */
export { KafkaTransport } from "./KafkaTransport.js";
export { createFabricFromEnv } from "./createFabricFromEnv.js";
export type { FabricFromEnvOptions } from "./createFabricFromEnv.js";
export { KAFKA_TRANSPORT_DEFAULTS } from "./kafkaDefaults.js";
export type { KafkaTransportOptions } from "./kafkaDefaults.js";
export { DEAD_LETTER_HEADERS } from "./DeadLetterSink.js";
export { kafkaBrokersFromEnv } from "./kafkaBrokersFromEnv.js";
export { KAFKA_SECURITY_ENV, kafkaSecurityFromEnv } from "./kafkaSecurityFromEnv.js";
export type { KafkaSecurityEnv } from "./kafkaSecurityFromEnv.js";
export type { KafkaSaslMechanism, KafkaSaslOptions, KafkaTlsOptions } from "./kafkaSecurity.js";
export { signingFromEnv } from "./signingFromEnv.js";
export type { SigningSettings } from "./signingFromEnv.js";
export { patchKafkajsIdleLoop } from "./patchKafkajsIdleLoop.js";
export { patchKafkajsPausedWait, wakeOnResume } from "./patchKafkajsPausedWait.js";
export { GraphChannel } from "./GraphChannel.js";
export type { GraphChannelPartitionStatus, GraphChannelStatus } from "./graphChannelStatus.js";
export { GRAPH_CHANNEL_DEFAULTS } from "./graphChannelOptions.js";
export type { ChannelGraph, ChannelRunConfig, GraphChannelOptions } from "./graphChannelOptions.js";
export {
  decodeGraphChannelOutput,
  encodeGraphChannelInput,
  GRAPH_CHANNEL_HEADERS,
  GraphChannelInputSchema,
  parseGraphChannelInput,
} from "./graphChannelMessages.js";
export type {
  GraphChannelError,
  GraphChannelEvent,
  GraphChannelInput,
  GraphChannelInterrupt,
  GraphChannelOutput,
  GraphChannelRejectReason,
  GraphChannelResult,
  GraphChannelResultPath,
} from "./graphChannelMessages.js";
export { CHANNEL_INPUT_METADATA_KEY } from "./channelInputStamp.js";
export { GraphRunTimeoutError } from "./graphChannelRun.js";
