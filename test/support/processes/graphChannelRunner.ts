/**
 * A GraphChannel runner process for crash tests: runs the effect graph (checkpoints in Redis under
 * FABRIC_KEY_PREFIX) for each message of CHANNEL_INPUT_TOPIC in group CHANNEL_GROUP, publishing to
 * CHANNEL_OUTPUT_TOPIC; prints "ready" once it has joined the group. Stops cleanly on SIGTERM.
 *
 * Environment: KAFKA_BROKERS, REDIS_URL, FABRIC_KEY_PREFIX, CHANNEL_GROUP, CHANNEL_INPUT_TOPIC,
 * CHANNEL_OUTPUT_TOPIC, CHANNEL_SESSION_TIMEOUT_MS, and the effect graph's EFFECT_* variables.
 */
import { GraphChannel } from "../../../adapters/kafka/GraphChannel.js";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { createConsoleLogger } from "../../../src/observability/logger.js";
import { builder, closeEffectGraph } from "./effectGraph.js";

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const checkpointer = await RedisSaver.fromUrl(env.REDIS_URL ?? "redis://127.0.0.1:6379", {
  keyPrefix: `${env.FABRIC_KEY_PREFIX ?? "lgf-test"}:cp`,
});
const sessionTimeoutMs = Number(env.CHANNEL_SESSION_TIMEOUT_MS ?? 3000);
const channel = new GraphChannel({
  graph: builder.compile({ checkpointer }),
  brokers: (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","),
  groupId: required("CHANNEL_GROUP"),
  inputTopic: required("CHANNEL_INPUT_TOPIC"),
  outputTopic: required("CHANNEL_OUTPUT_TOPIC"),
  sessionTimeoutMs,
  heartbeatIntervalMs: Math.max(100, Math.floor(sessionTimeoutMs / 6)),
  maxWaitTimeMs: 50,
  partitions: 2,
  logger: createConsoleLogger({ level: "error", name: "channel-runner" }),
});
await channel.start();
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void channel
    .stop(2000)
    .then(() => Promise.all([checkpointer.end(), closeEffectGraph()]))
    .finally(() => process.exit(0));
});
