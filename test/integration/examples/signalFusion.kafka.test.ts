// The demo graph end to end over the real Kafka and Redis: two worker processes
// (examples/signal-fusion/worker.ts, what `npm run demo:worker` runs) serve the agent nodes; this
// process is the runner — the design's runner.ts: a fabric on KafkaTransport and RedisStateStore,
// `distribute(builder, { nodes: agents })`, RedisSaver as the checkpointer. Its decisions must equal
// the embedded run's, the agents must have run in the workers, and the threads must be in Redis.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { MemorySaver } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { runDemo } from "../../../examples/signal-fusion/demo.js";
import { AGENTS, builder, type SignalFusionStateType } from "../../../examples/signal-fusion/graph.js";
import { DEFAULT_SYMBOLS } from "../../../examples/signal-fusion/prices.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { kafkaBrokers, kafkaTransportOptions, redisUrl, testSigningKeys } from "../../support/services.js";

const prefix = `lgf-sf-${randomUUID().slice(0, 8)}`;
const workerScript = fileURLToPath(new URL("../../../examples/signal-fusion/worker.ts", import.meta.url));
const workers: Child[] = [];
let redis: Redis;
let fabric: Fabric | undefined;
let state: RedisStateStore | undefined;
let saver: RedisSaver | undefined;

const decisionsOf = (s: SignalFusionStateType) => ({ signals: s.signals, fused: s.fused, verdict: s.verdict, decision: s.decision });

beforeAll(async () => {
  redis = new Redis(redisUrl());
  const env = { KAFKA_BROKERS: kafkaBrokers().join(","), REDIS_URL: redisUrl(), FABRIC_PREFIX: prefix, FABRIC_LOG_LEVEL: "error" };
  for (let i = 0; i < 2; i += 1) workers.push(spawnTs(workerScript, env, ["--concurrency", "4"]));
  await Promise.all(workers.map((w) => w.waitFor(/^ready$/, 90_000)));
}, 120_000);

afterAll(async () => {
  await fabric?.stop({ drainTimeoutMs: 1_000 });
  await state?.close();
  await saver?.end();
  await Promise.all(workers.map((w) => w.stop(10_000)));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}, 60_000);

describe("signal-fusion demo over Kafka and Redis", () => {
  it("the workers register every agent, each replica once", () => {
    for (const w of workers) {
      const registered = w
        .stdout()
        .split("\n")
        .filter((l) => l.startsWith("registered "))
        .map((l) => l.split(" ")[1]);
      expect(registered.sort()).toEqual([...AGENTS].sort());
    }
  });

  it("the runner's decisions equal the embedded run's, computed by the worker processes, checkpointed in Redis", async () => {
    state = RedisStateStore.fromUrl(redisUrl(), { keyPrefix: prefix });
    fabric = await createFabric({
      transport: new KafkaTransport({ ...kafkaTransportOptions(), topicPrefix: prefix, logger: silentLogger }),
      state,
      logger: silentLogger,
      replicaWaitMs: 30_000,
    });
    saver = await RedisSaver.fromUrl(redisUrl(), { keyPrefix: `${prefix}:cp` });
    const graph = fabric.distribute(builder, { nodes: AGENTS }).compile({ checkpointer: saver });
    const embedded = builder.compile({ checkpointer: new MemorySaver() });
    const workerPids = new Set(workers.map((w) => String(w.process.pid)));
    const servedBy = new Set<string>();
    for (const symbol of DEFAULT_SYMBOLS) {
      const config = { configurable: { thread_id: `${symbol}-${prefix}` } };
      const remote = await graph.invoke({ symbol }, config);
      const local = await embedded.invoke({ symbol }, config);
      expect(decisionsOf(remote)).toEqual(decisionsOf(local));
      for (const agent of AGENTS) {
        const pid = remote.servedBy[agent]?.split(":").pop() ?? "";
        expect(workerPids.has(pid), `${agent} of ${symbol} ran in pid ${pid}, not in a worker`).toBe(true);
        servedBy.add(pid);
      }
      // The thread is in Redis: a fresh saver (as a restarted runner would have) reads the decision back.
      const reader = new RedisSaver(redisUrl(), { keyPrefix: `${prefix}:cp` });
      try {
        const snapshot = await builder.compile({ checkpointer: reader }).getState(config);
        expect((snapshot.values as SignalFusionStateType).decision).toEqual(local.decision);
      } finally {
        await reader.end();
      }
    }
    expect(servedBy.size).toBeGreaterThanOrEqual(1);
    // The fuse node's negotiations went to the fabric's store (Redis), one session per symbol, all
    // finalized: a replacement runner would resume them rather than negotiate again.
    const sessionKeys = await redis.keys(`${prefix}:kv:*session%3Anode-*`); // test only
    expect(sessionKeys).toHaveLength(DEFAULT_SYMBOLS.length);
    const sessions = new NegotiationCoordinator({ store: state, channel: fabric.participants(), logger: silentLogger });
    expect(await sessions.openSessions("negotiation-node")).toEqual([]);
    const replicas = fabric.status().replicas;
    for (const agent of AGENTS) expect(replicas[agent]).toHaveLength(2);
  });

  it("runDemo in distributed mode (what `npm run demo -- --kafka … --redis …` runs) agrees too", async () => {
    const result = await runDemo({
      connection: {
        mode: "distributed",
        brokers: kafkaBrokers(),
        redisUrl: redisUrl(),
        prefix,
        signing: { signingKeys: testSigningKeys() },
      },
      progress: () => undefined,
      logger: silentLogger,
      replicaWaitMs: 30_000,
    });
    expect(result.mode).toBe("distributed");
    for (const agent of AGENTS) expect(result.replicas[agent]).toHaveLength(2);
    const embedded = builder.compile();
    for (const r of result.results) {
      const local = await embedded.invoke({ symbol: r.symbol });
      expect({ signals: r.signals, fused: r.fused, verdict: r.verdict, decision: r.decision }).toEqual(decisionsOf(local));
    }
    expect(result.results.map((r) => r.decision.action)).toEqual(["buy", "hold", "hold", "sell"]);
  });
});
