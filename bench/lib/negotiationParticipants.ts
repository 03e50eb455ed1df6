/**
 * A participant process of the negotiation benchmark: serves the signal-fusion agents named in
 * BENCH_PARTICIPANTS (comma-separated) with a KafkaTransport and a RedisStateStore, as a user's
 * agent process does, and tells the parent over IPC when it is ready. Each agent counters the
 * proposal with a signal of its own (deterministic per name), so every session fuses real answers.
 *
 * Environment: KAFKA_BROKERS, REDIS_URL, BENCH_TOPIC_PREFIX, BENCH_KEY_PREFIX, BENCH_PARTICIPANTS.
 */
import { KafkaTransport } from "../../adapters/kafka/KafkaTransport.js";
import { signingFromEnv } from "../../adapters/kafka/signingFromEnv.js";
import { RedisStateStore } from "../../adapters/redis/RedisStateStore.js";
import { createFabric } from "../../src/fabric.js";
import type { ParticipantHandler } from "../../src/negotiation/LocalParticipants.js";
import { createConsoleLogger } from "../../src/observability/logger.js";
import { agentSignal } from "./negotiationSignal.js";

const env = process.env;
const logger = createConsoleLogger({ name: `bench-agents-${process.pid}`, level: "warn" });
const names = (env.BENCH_PARTICIPANTS ?? "").split(",").filter(Boolean);

const fabric = await createFabric({
  transport: new KafkaTransport({
    ...signingFromEnv(env),
    brokers: (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","),
    topicPrefix: env.BENCH_TOPIC_PREFIX ?? "lgf-bench",
    requestPartitions: 2,
    sweepStaleGroups: false,
    ...(env.BENCH_MAX_WAIT_MS ? { maxWaitTimeMs: Number(env.BENCH_MAX_WAIT_MS) } : {}),
    ...(env.BENCH_COMMIT_INTERVAL_MS ? { commitIntervalMs: Number(env.BENCH_COMMIT_INTERVAL_MS) } : {}),
    logger,
  }),
  state: RedisStateStore.fromUrl(env.REDIS_URL ?? "redis://127.0.0.1:6379", { keyPrefix: env.BENCH_KEY_PREFIX ?? "lgf-bench" }),
  logger,
});
const handlers: Record<string, ParticipantHandler> = Object.fromEntries(
  names.map((name) => [name, () => ({ kind: "counter", ...agentSignal(name) }) as const]),
);
await fabric.serveParticipants(handlers, { concurrency: 16 });

const stop = (): void => {
  void fabric.stop({ drainTimeoutMs: 1000 }).finally(() => process.exit(0));
};
process.on("message", (m: { type: string }) => {
  if (m.type === "stop") stop();
});
process.on("disconnect", stop); // the parent died: do not serve an orphaned fabric
process.send?.({ type: "ready", pid: process.pid });
