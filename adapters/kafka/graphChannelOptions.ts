/**
 * Options of `GraphChannel`, their defaults (one place, with units) and their validation.
 *
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot, StreamMode } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type { Kafka } from "kafkajs";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../../src/transport/envelope.js";
import type { Logger } from "../../src/observability/logger.js";
import { resolveKafkaSecurity, type KafkaSaslOptions, type KafkaSecurity, type KafkaTlsOptions } from "./kafkaSecurity.js";

/** The config `GraphChannel` passes to each run. */
export interface ChannelRunConfig extends RunnableConfig {
  streamMode: StreamMode[];
}

/**
 * What `GraphChannel` needs of a graph: a compiled LangGraph graph (`builder.compile({ checkpointer })`)
 * satisfies it. The checkpointer is required — thread state, interrupts and the offset/resume
 * semantics all live in it — and `withConfig` is used to make the copy that stamps checkpoints.
 */
export interface ChannelGraph {
  stream(input: unknown, config: ChannelRunConfig): Promise<AsyncIterable<unknown>>;
  getState(config: RunnableConfig): Promise<StateSnapshot>;
  checkpointer?: BaseCheckpointSaver | boolean;
  withConfig(config: RunnableConfig): ChannelGraph;
}

/** Options of `GraphChannel`. */
export interface GraphChannelOptions {
  /** The compiled graph to run for each input message; it must have a checkpointer. Required. */
  graph: ChannelGraph;
  /** Bootstrap brokers as `host:port`. Required unless {@link kafka} is given. */
  brokers?: string[];
  /** An existing kafkajs client to use instead of building one from {@link brokers}. */
  kafka?: Kafka;
  /** TLS to the brokers, as `KafkaTransportOptions.ssl`. Default: plaintext. Ignored when {@link kafka} is given. */
  ssl?: boolean | KafkaTlsOptions;
  /** SASL credentials, as `KafkaTransportOptions.sasl`. Default: none. Ignored when {@link kafka} is given. */
  sasl?: KafkaSaslOptions;
  /** kafkajs client id (broker logs, quotas). Default `"langgraph-fabric-channel"`. */
  clientId?: string;
  /** Consumer group shared by every runner process of this channel. Required. */
  groupId: string;
  /** Topic of the input messages (key = thread id). Required. */
  inputTopic: string;
  /** Topic the events, results and errors go to (key = thread id). Required. */
  outputTopic: string;
  /** Topic of the rejected input messages. Default `<inputTopic>.dlq`. */
  deadLetterTopic?: string;
  /**
   * Stream modes published as events. Default `["updates", "custom"]`. Whatever they are, each run
   * ends with one `result` record holding the thread's final values.
   */
  streamMode?: StreamMode[];
  /** Runs at once in this process, across all partitions and threads. Default 4. */
  concurrency?: number;
  /**
   * Fetched messages waiting in one partition before fetching from it pauses (it also pauses as
   * soon as it has a waiting message while all {@link concurrency} slots are busy). Default 8.
   */
  maxQueuedPerPartition?: number;
  /**
   * Consumer-group session timeout, in milliseconds: how long a silent runner keeps its
   * partitions. Runs never block heartbeats, so this bounds failover time, not run length. Default 10,000.
   */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, in milliseconds; below {@link sessionTimeoutMs}. Default 1,000. */
  heartbeatIntervalMs?: number;
  /** Longest an idle fetch waits on the broker, in milliseconds (bounds how late pause/resume and commits act). Default 100. */
  maxWaitTimeMs?: number;
  /** A new consumer group starts from the earliest message (true) or the latest (false). Default true. */
  fromBeginning?: boolean;
  /** Create the input, output and dead-letter topics when missing. Default true. */
  createTopics?: boolean;
  /** Partitions of the input and output topics this channel creates (the dead-letter topic gets 1). Default 8. */
  partitions?: number;
  /**
   * Replication factor of the topics this channel creates. Default: the brokers' own
   * `default.replication.factor`, capped at the number of live brokers (production: 3).
   */
  replicationFactor?: number;
  /** Longest a run may take, in milliseconds; a run over it is aborted and ends with an `error` record. Default 0 (no limit). */
  runTimeoutMs?: number;
  /** How long `stop()` lets runs in flight finish before aborting them, in milliseconds. Default 30,000. */
  stopTimeoutMs?: number;
  /** Largest output record, in bytes (keep it under the broker's `message.max.bytes`); larger ones are replaced by an error. Default 1,000,000. */
  maxMessageBytes?: number;
  /** Where the channel and kafkajs log. Default: a console logger at `warn`. */
  logger?: Logger;
}

/** Every default of {@link GraphChannelOptions}, in one place. */
export const GRAPH_CHANNEL_DEFAULTS = {
  clientId: "langgraph-fabric-channel",
  streamMode: ["updates", "custom"] as StreamMode[],
  concurrency: 4,
  maxQueuedPerPartition: 8,
  sessionTimeoutMs: 10_000, // ms
  heartbeatIntervalMs: 1_000, // ms
  maxWaitTimeMs: 100, // ms
  fromBeginning: true,
  createTopics: true,
  partitions: 8,
  /** Dead letters are rare and read in order by operators. */
  deadLetterPartitions: 1,
  runTimeoutMs: 0, // ms; 0 = no limit
  stopTimeoutMs: 30_000, // ms
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, // bytes
} as const;

/** Options after defaults and validation. */
export type ResolvedGraphChannelOptions = Required<
  Omit<GraphChannelOptions, "brokers" | "kafka" | "logger" | "ssl" | "sasl" | "replicationFactor">
> &
  Pick<GraphChannelOptions, "brokers" | "kafka" | "logger" | "replicationFactor"> & {
    /** `ssl` and `sasl`, validated. */
    security: KafkaSecurity;
  };

const STREAM_MODES: readonly StreamMode[] = ["values", "updates", "debug", "messages", "checkpoints", "tasks", "custom", "tools"];
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

function int(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer in ${min}..${max} (got ${String(value)})`);
}

function topic(name: string, value: unknown): void {
  if (typeof value !== "string" || !TOPIC.test(value))
    throw new RangeError(`${name} must be a Kafka topic name, 1-249 characters of [a-zA-Z0-9._-] (got ${JSON.stringify(value)})`);
}

/**
 * Merges the defaults into `options` and validates them.
 *
 * @throws RangeError naming the field and the value.
 */
export function resolveGraphChannelOptions(options: GraphChannelOptions): ResolvedGraphChannelOptions {
  const security = resolveKafkaSecurity(options.ssl, options.sasl);
  const given = Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k !== "ssl" && k !== "sasl")) as Omit<
    GraphChannelOptions,
    "ssl" | "sasl"
  >;
  const o = { ...GRAPH_CHANNEL_DEFAULTS, deadLetterTopic: `${options.inputTopic}.dlq`, ...given };
  const graph = o.graph as Partial<ChannelGraph> | undefined;
  if (typeof graph?.stream !== "function" || typeof graph.getState !== "function" || typeof graph.withConfig !== "function")
    throw new RangeError(`graph must be a compiled LangGraph graph (with stream, getState and withConfig) (got ${typeof graph})`);
  if (typeof graph.checkpointer !== "object")
    throw new RangeError(
      `graph must be compiled with a checkpointer, e.g. builder.compile({ checkpointer: await RedisSaver.fromUrl(url) }) (got checkpointer ${String(graph.checkpointer)})`,
    );
  if (o.kafka === undefined && (!Array.isArray(o.brokers) || o.brokers.length === 0 || o.brokers.some((b) => typeof b !== "string" || !b)))
    throw new RangeError(`brokers must be a non-empty list of host:port strings (got ${JSON.stringify(o.brokers)})`);
  if (typeof o.clientId !== "string" || o.clientId.length === 0)
    throw new RangeError(`clientId must be a non-empty string (got ${JSON.stringify(o.clientId)})`);
  if (typeof o.groupId !== "string" || o.groupId.length === 0 || o.groupId.length > 255)
    throw new RangeError(`groupId must be 1-255 characters (got ${JSON.stringify(o.groupId)})`);
  topic("inputTopic", o.inputTopic);
  topic("outputTopic", o.outputTopic);
  topic("deadLetterTopic", o.deadLetterTopic);
  if (new Set([o.inputTopic, o.outputTopic, o.deadLetterTopic]).size !== 3)
    throw new RangeError(
      `inputTopic, outputTopic and deadLetterTopic must differ (got ${JSON.stringify([o.inputTopic, o.outputTopic, o.deadLetterTopic])})`,
    );
  if (!Array.isArray(o.streamMode) || o.streamMode.some((m) => !STREAM_MODES.includes(m)))
    throw new RangeError(`streamMode must be a list of ${STREAM_MODES.join(", ")} (got ${JSON.stringify(o.streamMode)})`);
  int("concurrency", o.concurrency, 1, 10_000);
  int("maxQueuedPerPartition", o.maxQueuedPerPartition, 1, 100_000);
  int("sessionTimeoutMs", o.sessionTimeoutMs, 1_000, 3_600_000);
  int("heartbeatIntervalMs", o.heartbeatIntervalMs, 10, o.sessionTimeoutMs - 1);
  int("maxWaitTimeMs", o.maxWaitTimeMs, 1, 60_000);
  int("partitions", o.partitions, 1, 10_000);
  if (o.replicationFactor !== undefined) int("replicationFactor", o.replicationFactor, 1, 32);
  int("runTimeoutMs", o.runTimeoutMs, 0, 2 ** 31 - 1);
  int("stopTimeoutMs", o.stopTimeoutMs, 0, 2 ** 31 - 1);
  int("maxMessageBytes", o.maxMessageBytes, 1_024, 2 ** 30);
  return { ...o, streamMode: [...new Set(o.streamMode)], security };
}
