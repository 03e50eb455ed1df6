// Graceful degradation when Kafka or Redis cannot be reached at start: fail fast with a clear
// FabricUnavailableError, or fall back to the in-process transport / state store with a warning,
// reported by status(). The backends point at a closed port (127.0.0.1:1) with short retry settings.
import { Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { checkState } from "../../../src/coordination/degradation.js";
import { isFabricUnavailableError, type FabricUnavailableError } from "../../../src/errors.js";
import { createFabric, Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import type { StateStore } from "../../../src/state/StateStore.js";
import { RecordingLogger } from "./harness.js";

const CLOSED = "127.0.0.1:1";

function unreachableKafka(): KafkaTransport {
  const kafka = new Kafka({
    brokers: [CLOSED],
    retry: { retries: 0, initialRetryTime: 50 },
    connectionTimeout: 300,
    logLevel: logLevel.NOTHING,
  });
  return new KafkaTransport({
    kafka,
    logger: silentLogger,
    topicPrefix: "lgf-degradation",
    signingKeys: [{ id: "t", secret: "a test key of thirty-two bytes or more" }],
  });
}

function unreachableRedis(): RedisStateStore {
  const store = new RedisStateStore(
    { url: `redis://${CLOSED}`, options: { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 } },
    { onSubscriberError: () => undefined },
  );
  // The refused connection is the point of these tests: keep ioredis from printing it as unhandled.
  store.client.on("error", () => undefined);
  return store;
}

const opened: { close(): Promise<void> }[] = [];
const fabrics: Fabric[] = [];
afterEach(async () => {
  await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 100 })));
  await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
});

async function failure(p: Promise<unknown>): Promise<FabricUnavailableError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isFabricUnavailableError(e)).toBe(true);
  return e as FabricUnavailableError;
}

describe("degradation: fail-fast (the default)", () => {
  it("refuses to start when Kafka is unreachable, naming the transport and what to do", async () => {
    const logger = new RecordingLogger();
    const e = await failure(createFabric({ transport: unreachableKafka(), logger }));
    expect(Object.keys(e.failures)).toEqual(["transport"]);
    expect(e.failures.transport).toMatch(/^kafka transport could not start: .*(ECONNREFUSED|connect)/i);
    expect(e.message).toMatch(/the fabric cannot start: transport: kafka transport could not start/);
    expect(e.hint).toMatch(/degradation: "fallback"/);
    expect(logger.find("error", "failing fast")).toHaveLength(1);
  });

  it("refuses to start when Redis is unreachable, naming the state store", async () => {
    const state = unreachableRedis();
    opened.push(state);
    const e = await failure(createFabric({ state, logger: silentLogger, healthCheckTimeoutMs: 1_000 }));
    expect(Object.keys(e.failures)).toEqual(["state"]);
    expect(e.failures.state).toMatch(/the state store (failed a health check|did not answer a health check within 1000 ms)/);
    expect(e.message).toMatch(/state store: /);
  });

  it("names both when both are down, and applies to a fabric started directly too", async () => {
    const state = unreachableRedis();
    opened.push(state);
    const e = await failure(createFabric({ transport: unreachableKafka(), state, logger: silentLogger }));
    expect(Object.keys(e.failures).sort()).toEqual(["state", "transport"]);
    const direct = new Fabric({ transport: unreachableKafka(), logger: silentLogger, monitors: false, degradation: "fallback" });
    await failure(direct.start());
  });

  it("times out a state store that does not answer", async () => {
    const silent = { namespace: () => ({ get: () => new Promise(() => undefined) }) } as unknown as StateStore;
    expect(await checkState(silent, 50)).toBe("the state store did not answer a health check within 50 ms");
  });
});

describe("degradation: fallback", () => {
  it("runs on the in-process transport when Kafka is unreachable, logs a warning and reports it", async () => {
    const logger = new RecordingLogger();
    const transport = unreachableKafka();
    const fabric = await createFabric({ transport, logger, degradation: "fallback", monitors: false });
    fabrics.push(fabric);
    expect(fabric.transport.kind).toBe("memory");
    expect(fabric.transport.callerId).toBe(transport.callerId);
    const status = fabric.status();
    expect(status.transport).toBe("memory");
    expect(Object.keys(status.degraded)).toEqual(["transport"]);
    expect(status.degraded.transport).toMatch(/^kafka transport could not start: /);
    expect(logger.find("warn", "running in-process instead")).toHaveLength(1);
    // The process works alone: its own agents and nodes still run.
    await fabric.registerAgent({ agentId: "solo", role: "signal" }, { onEmergency: () => undefined });
    expect((await fabric.broadcastEmergency("halt", { timeoutMs: 2_000 })).acknowledged).toEqual(["solo"]);
    await fabric.serve({ inc: (x: number) => x + 1 }, { nodes: ["inc"] });
    await fabric.registry.refresh();
    expect(await fabric.callNode("inc", 41, {})).toBe(42);
  });

  it("runs on the in-process state store (and registry) when Redis is unreachable", async () => {
    const logger = new RecordingLogger();
    const state = unreachableRedis();
    opened.push(state);
    const fabric = await createFabric({ state, logger, degradation: "fallback", monitors: false, healthCheckTimeoutMs: 1_000 });
    fabrics.push(fabric);
    expect(fabric.state).not.toBe(state);
    expect(Object.keys(fabric.status().degraded)).toEqual(["state"]);
    expect(logger.find("warn", "running in-process instead")[0]?.fields).toMatchObject({ state: expect.stringMatching(/health check/) });
    const pool = await fabric.allocateResources({ key: "cpu", total: 4, demands: { a: { demand: 3 }, b: { demand: 3 } } });
    expect(pool.allocations).toEqual({ a: 2, b: 2 });
  });

  it("reports nothing degraded when the backends answer", async () => {
    const fabric = await createFabric({ logger: silentLogger, degradation: "fallback", monitors: false });
    fabrics.push(fabric);
    expect(fabric.status().degraded).toEqual({});
    await expect(createFabric({ degradation: "sometimes" as never })).rejects.toThrow(/degradation must be "fallback" or "fail-fast"/);
  });
});
