/**
 * A replica process of the remote-node benchmark: serves the benchmark graph's node with a
 * KafkaTransport and a RedisStateStore (as a user's worker does) and answers the parent over the
 * IPC channel: `cpu` (its CPU time and calls served so far), `stop`.
 *
 * Environment: KAFKA_BROKERS, REDIS_URL, BENCH_TOPIC_PREFIX, BENCH_KEY_PREFIX, BENCH_CONCURRENCY,
 * BENCH_COMMIT_INTERVAL_MS and BENCH_MAX_WAIT_MS (the transport's `commitIntervalMs` and `maxWaitTimeMs`, when set), BENCH_REDIS_AUTOPIPELINE
 * (`1`: ioredis auto-pipelining on the state store's connection).
 */
import { KafkaTransport } from "../../adapters/kafka/KafkaTransport.js";
import { signingFromEnv } from "../../adapters/kafka/signingFromEnv.js";
import { createFabric } from "../../src/fabric.js";
import { createConsoleLogger } from "../../src/observability/logger.js";
import { benchStateStore } from "./benchStateStore.js";
import { builder, NODE } from "./remoteNodeGraph.js";

/** Parent → replica. */
export type ReplicaCommand = { type: "cpu"; id: number } | { type: "stop" };
/** Replica → parent. */
export type ReplicaReport = { type: "ready"; pid: number } | { type: "cpu"; id: number; cpuUs: number; calls: number };

const env = process.env;
const send = (m: ReplicaReport): void => {
  process.send?.(m);
};
const logger = createConsoleLogger({ name: `bench-replica-${process.pid}`, level: "warn" });
const fabric = await createFabric({
  transport: new KafkaTransport({
    ...signingFromEnv(env),
    brokers: (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","),
    topicPrefix: env.BENCH_TOPIC_PREFIX ?? "lgf-bench",
    sweepStaleGroups: false,
    ...(env.BENCH_COMMIT_INTERVAL_MS ? { commitIntervalMs: Number(env.BENCH_COMMIT_INTERVAL_MS) } : {}),
    ...(env.BENCH_MAX_WAIT_MS ? { maxWaitTimeMs: Number(env.BENCH_MAX_WAIT_MS) } : {}),
    logger,
  }),
  state: benchStateStore(env.REDIS_URL ?? "redis://127.0.0.1:6379", env.BENCH_KEY_PREFIX ?? "lgf-bench"),
  logger,
});
await fabric.serve(builder, { nodes: [NODE], concurrency: Number(env.BENCH_CONCURRENCY ?? 64) });

process.on("message", (m: ReplicaCommand) => {
  if (m.type === "cpu") {
    const cpu = process.cpuUsage();
    const calls = fabric.status().served.reduce((n, s) => n + s.stats.calls, 0);
    send({ type: "cpu", id: m.id, cpuUs: cpu.user + cpu.system, calls });
  } else {
    void fabric.stop({ drainTimeoutMs: 2000 }).finally(() => process.exit(0));
  }
});
// The parent died: leave instead of serving an orphaned fabric.
process.on("disconnect", () => {
  void fabric.stop({ drainTimeoutMs: 500 }).finally(() => process.exit(0));
});
send({ type: "ready", pid: process.pid });
