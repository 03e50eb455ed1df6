import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import type { Emergency } from "../../../src/coordination/emergencyMessages.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { kafkaBrokers, kafkaTransportOptions, redisUrl } from "../../support/services.js";

// Coordination over the real thing: three fabrics, each with its own KafkaTransport (its own
// producer, consumers and groups, as separate processes would have) on one broker, sharing state
// in Redis. Emergencies and their acknowledgements travel as Kafka notices; signal fusion asks
// agents served by other fabrics through the Kafka call path.
const prefix = `lgf-coord-${randomUUID().slice(0, 8)}`;
let desk: Fabric;
let p1: Fabric;
let p2: Fabric;
let redis: Redis;

async function fabric(): Promise<Fabric> {
  return createFabric({
    transport: new KafkaTransport({
      ...kafkaTransportOptions(),
      topicPrefix: prefix,
      requestPartitions: 2,
      replyPartitions: 4,
      logger: silentLogger,
    }),
    state: RedisStateStore.fromUrl(redisUrl(), { keyPrefix: prefix }),
    registryOptions: { heartbeatIntervalMs: 500 },
    coordination: { agents: { heartbeatIntervalMs: 500 } },
    monitors: { intervalMs: 1_000 },
    logger: silentLogger,
  });
}

beforeAll(async () => {
  redis = new Redis(redisUrl());
  [desk, p1, p2] = await Promise.all([fabric(), fabric(), fabric()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([desk, p1, p2].filter(Boolean).map((f) => f.stop({ drainTimeoutMs: 1_000 })));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  const admin = new Kafka({ clientId: "lgf-tests", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

describe("coordination over Kafka and Redis", () => {
  it("broadcasts an emergency to agents in two other processes and collects their acknowledgements", async () => {
    const received: { agent: string; emergency: Emergency }[] = [];
    const onEmergency = (emergency: Emergency, agent: { agentId: string }): void => void received.push({ agent: agent.agentId, emergency });
    await p1.registerAgent({ agentId: "momentum", role: "signal", capabilities: ["equities"] }, { onEmergency });
    await p1.registerAgent({ agentId: "meanReversion", role: "signal" }, { onEmergency });
    await p2.registerAgent({ agentId: "executor", role: "execution" }, { onEmergency });
    await desk.coordination.directory.refresh();
    expect(desk.agents().map((a) => a.agentId)).toEqual(["executor", "meanReversion", "momentum"]);
    expect(desk.agents({ capability: "equities" }).map((a) => a.process)).toEqual([p1.transport.callerId]);

    const result = await desk.broadcastEmergency({ kind: "halt", venue: "XNAS" }, { timeoutMs: 20_000 });
    expect(result).toMatchObject({ acknowledged: ["executor", "meanReversion", "momentum"], missing: [], failed: {} });
    expect(received.map((r) => r.agent).sort()).toEqual(["executor", "meanReversion", "momentum"]);
    expect(received[0]!.emergency).toMatchObject({
      id: result.id,
      message: { kind: "halt", venue: "XNAS" },
      from: desk.transport.callerId,
    });

    // Only the execution role, and idempotent per id.
    const exec = await desk.broadcastEmergency("cancel all orders", { roles: ["execution"], timeoutMs: 20_000, id: `${prefix}-cancel` });
    expect(exec.acknowledged).toEqual(["executor"]);
    const again = await desk.broadcastEmergency("cancel all orders", { roles: ["execution"], timeoutMs: 20_000, id: `${prefix}-cancel` });
    expect(again).toEqual(exec);
    expect(received.filter((r) => r.agent === "executor")).toHaveLength(2);
  });

  it("fuses signals with agents served by other processes, who counter the proposal", async () => {
    await p1.serveParticipants({ momentum: () => ({ kind: "accept", confidence: 0.9 }) });
    await p2.serveParticipants({ meanReversion: () => ({ kind: "counter", value: -0.9, confidence: 0.9 }) });
    await desk.registry.refresh();
    const signals = { momentum: { value: 0.8, confidence: 0.9 }, meanReversion: { value: 0.6, confidence: 0.5 } };
    const result = await desk.coordinateSignalFusion("AAPL", signals, {
      participants: "remote",
      deadlineMs: 30_000,
      sessionId: `${prefix}-fusion`,
    });
    const proposed = (0.8 * 0.9 + 0.6 * 0.5) / 1.4;
    expect(result.outcome).toMatchObject({ state: "finalized", reason: "all-answered", answered: ["momentum", "meanReversion"] });
    expect(result.value).toBeCloseTo((proposed - 0.9) / 2, 9);
    // The mean-reversion agent changed its mind on seeing the proposal: a conflict, so hold.
    expect(result.conflict.detected).toBe(true);
    expect(result.decision).toBe("hold");
    // The session is in Redis: another process retrying the same id gets the same outcome.
    const retry = await p2.coordinateSignalFusion("AAPL", signals, { participants: "remote", sessionId: `${prefix}-fusion` });
    expect(retry.outcome).toEqual(result.outcome);
  });
});
