// Unit tests of KafkaTransport's pure parts: names, offset tracking, batching, options, logging.
import fc from "fast-check";
import { logLevel, type ProducerBatch } from "kafkajs";
import { describe, expect, it } from "vitest";
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { isSigningKeyRequiredError } from "../../../src/errors.js";
import { generateSigningKey } from "../../../src/transport/signingKeys.js";
import { KAFKA_TRANSPORT_DEFAULTS, resolveKafkaOptions } from "../../../adapters/kafka/kafkaDefaults.js";
import { kafkaLogCreator } from "../../../adapters/kafka/kafkaLogger.js";
import { OffsetTracker } from "../../../adapters/kafka/OffsetTracker.js";
import { ProduceBatcher } from "../../../adapters/kafka/ProduceBatcher.js";
import { decodeTopicPart, encodeTopicPart, parseReplyTo, replyPartitionFor, TopicNames } from "../../../adapters/kafka/topicNames.js";
import { silentLogger, type LogFields, type Logger } from "../../../src/observability/logger.js";

describe("topic names", () => {
  it("encode node names reversibly into Kafka's alphabet, never with '_'", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 60 }), (name) => {
        const part = encodeTopicPart(name);
        expect(part).toMatch(/^[a-zA-Z0-9.-]+$/);
        expect(decodeTopicPart(part)).toBe(name);
      }),
    );
    expect(encodeTopicPart("mean reversion_v2")).toBe("mean-20reversion-5fv2");
  });

  it("keep request topics within 249 characters and distinct for long names", () => {
    const names = new TopicNames("lgf");
    const a = names.requests("x".repeat(300));
    const b = names.requests(`${"x".repeat(299)}y`);
    expect(a.length).toBeLessThanOrEqual(249);
    expect(a).not.toBe(b);
    expect(names.requests("momentum")).toBe("lgf.node.momentum");
    expect(names.replicaGroup).toBe("lgf.replicas");
    expect(names.callerGroup("c1")).toBe("lgf.caller.c1");
  });

  it("hash callers to a stable reply partition and parse return addresses", () => {
    expect(replyPartitionFor("caller-1", 16)).toBe(replyPartitionFor("caller-1", 16));
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (id, n) => replyPartitionFor(id, n) >= 0 && replyPartitionFor(id, n) < n),
    );
    expect(parseReplyTo("lgf.replies:7")).toEqual({ topic: "lgf.replies", partition: 7 });
    expect(parseReplyTo("lgf.replies")).toBeUndefined();
    expect(parseReplyTo("lgf.replies:-1")).toBeUndefined();
  });
});

describe("OffsetTracker", () => {
  it("commits the lowest unfinished offset, or one past the highest when all are done", () => {
    const t = new OffsetTracker("t", 0);
    expect(t.commitPoint()).toBeUndefined();
    for (const o of [10, 11, 12]) expect(t.receive(o)).toBe(true);
    expect(t.commitPoint()).toBe(10);
    t.complete(11);
    t.complete(12);
    expect(t.commitPoint()).toBe(10); // 10 still runs: nothing new to commit past it
    t.markCommitting(10);
    t.markCommitted(10, true);
    expect(t.commitPoint()).toBeUndefined();
    t.complete(10);
    expect(t.commitPoint()).toBe(13);
  });

  it("rejects offsets re-fetched after a rebalance", () => {
    const t = new OffsetTracker("t", 0);
    t.receive(5);
    t.receive(6);
    t.complete(5);
    expect(t.receive(5)).toBe(false);
    expect(t.receive(6)).toBe(false);
    expect(t.receive(7)).toBe(true);
  });

  it("retries a failed commit with the next point", () => {
    const t = new OffsetTracker("t", 0);
    t.receive(0);
    t.complete(0);
    t.markCommitting(1);
    expect(t.commitPoint()).toBeUndefined();
    t.markCommitted(1, false);
    expect(t.commitPoint()).toBe(1);
  });
});

describe("ProduceBatcher", () => {
  it("sends records of one turn in one batch, and what arrives meanwhile in the next", async () => {
    const batches: ProducerBatch[] = [];
    let release!: () => void;
    const producer = {
      sendBatch: (batch: ProducerBatch) => {
        batches.push(batch);
        return batches.length === 1 ? new Promise<never[]>((resolve) => (release = () => resolve([]))) : Promise.resolve([]);
      },
    };
    const batcher = new ProduceBatcher(producer, 1_000_000);
    const first = [0, 1, 2].map((i) => batcher.send({ topic: "a", partition: i, value: Buffer.from(`m${i}`) }));
    await new Promise((resolve) => setImmediate(resolve));
    const second = [3, 4].map((i) => batcher.send({ topic: i === 3 ? "a" : "b", partition: 0, value: Buffer.from(`m${i}`) }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toHaveLength(1);
    release();
    await Promise.all([...first, ...second]);
    expect(batches).toHaveLength(2);
    expect(batches[0]!.acks).toBe(-1);
    expect(batches[0]!.topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value)))).toEqual(["m0", "m1", "m2"]);
    expect(batches[1]!.topicMessages!.map((t) => t.topic)).toEqual(["a", "b"]);
    await batcher.idle();
  });

  it("splits by size and rejects the records of a failed batch", async () => {
    const batches: ProducerBatch[] = [];
    const producer = {
      sendBatch: (batch: ProducerBatch) => {
        batches.push(batch);
        return batches.length === 1 ? Promise.reject(new Error("broker said no")) : Promise.resolve([]);
      },
    };
    const batcher = new ProduceBatcher(producer, 300);
    const results = await Promise.allSettled([0, 1, 2].map(() => batcher.send({ topic: "a", partition: 0, value: Buffer.alloc(200) })));
    expect(batches).toHaveLength(3);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
  });
});

describe("KafkaTransport options", () => {
  it("merges the defaults and validates each field by name", () => {
    const o = resolveKafkaOptions({ brokers: ["h:1"], insecure: true });
    expect(o.topicPrefix).toBe(KAFKA_TRANSPORT_DEFAULTS.topicPrefix);
    expect(o.requestPartitions).toBe(16);
    expect(o.callerId.length).toBeGreaterThan(0);
    expect(() => resolveKafkaOptions({})).toThrow(/brokers/);
    expect(() => resolveKafkaOptions({ brokers: ["h:1"], topicPrefix: "a b" })).toThrow(/topicPrefix/);
    expect(() => resolveKafkaOptions({ brokers: ["h:1"], requestPartitions: 0 })).toThrow(/requestPartitions must .* \(got 0\)/);
    expect(() => resolveKafkaOptions({ brokers: ["h:1"], sessionTimeoutMs: 5000, heartbeatIntervalMs: 5000 })).toThrow(
      /heartbeatIntervalMs/,
    );
    expect(() => resolveKafkaOptions({ brokers: ["h:1"], maxWaitTimeMs: 0 })).toThrow(/maxWaitTimeMs/);
  });

  it("refuses to be built without signing keys unless insecure is given by name", () => {
    let error: unknown;
    try {
      new KafkaTransport({ brokers: ["h:1"] });
    } catch (e) {
      error = e;
    }
    expect(isSigningKeyRequiredError(error)).toBe(true);
    expect((error as Error).message).toMatch(/FABRIC_SIGNING_KEYS.*insecure: true/s);
    expect(() => new KafkaTransport({ brokers: ["h:1"], signingKeys: [{ id: "k1", secret: "short" }] })).toThrow(
      /signingKeys\[0\]\.secret .*5 bytes/,
    );
    expect(() => new KafkaTransport({ brokers: ["h:1"], insecure: true, signingKeys: [{ id: "k1", secret: "s".repeat(32) }] })).toThrow(
      /insecure must not be true/,
    );
    expect(new KafkaTransport({ brokers: ["h:1"], signingKeys: [{ id: "k1", secret: "s".repeat(32) }] }).kind).toBe("kafka");
  });

  it("warns on every start when insecure", async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => warnings.push(message) };
    // A client whose broker refuses at once: the warning comes before any I/O, on each start.
    const kafka = { admin: () => ({ connect: () => Promise.reject(new Error("no broker")), disconnect: () => Promise.resolve() }) };
    const t = new KafkaTransport({ kafka: kafka as never, insecure: true, logger });
    await expect(t.start()).rejects.toThrow(/no broker/);
    await expect(t.start()).rejects.toThrow(/no broker/);
    expect(warnings.filter((w) => w.startsWith("INSECURE"))).toHaveLength(2);
  });

  it("reads its brokers from KAFKA_BROKERS and its keys from FABRIC_SIGNING_KEYS in fromEnv()", () => {
    const keys = generateSigningKey("k1");
    expect(
      KafkaTransport.fromEnv({ topicPrefix: "x" }, { KAFKA_BROKERS: "h1:9092,h2:9092", FABRIC_SIGNING_KEYS: keys }).names.replies,
    ).toBe("x.replies");
    expect(() => KafkaTransport.fromEnv({}, {})).toThrow(/KAFKA_BROKERS/);
    expect(() => KafkaTransport.fromEnv({}, { KAFKA_BROKERS: "h:1" })).toThrow(/no signing keys/);
    expect(KafkaTransport.fromEnv({}, { KAFKA_BROKERS: "h:1", FABRIC_INSECURE: "1" }).kind).toBe("kafka");
  });

  it("does no I/O in its constructor", async () => {
    const t = new KafkaTransport({ brokers: ["127.0.0.1:1"], insecure: true, logger: silentLogger });
    expect(t.kind).toBe("kafka");
    await expect(t.call({} as never, new Uint8Array(), { target: { replicaId: "r" } })).rejects.toThrow(/not started/);
    await t.stop();
  });
});

describe("kafkaLogCreator", () => {
  it("maps kafkajs levels and demotes routine noise to debug", () => {
    const lines: string[] = [];
    const rec = (level: string) => (message: string, _fields?: LogFields) => lines.push(`${level} ${message}`);
    const logger: Logger = { debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") };
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    const entry = (level: logLevel, message: string) => log({ namespace: "Consumer", level, label: "", log: { timestamp: "", message } });
    entry(logLevel.ERROR, "Crash: boom");
    entry(logLevel.ERROR, "Response Heartbeat(key: 12, version: 3)");
    entry(logLevel.WARN, "The group is rebalancing, re-joining");
    entry(logLevel.WARN, "something odd");
    entry(logLevel.INFO, "Consumer has joined the group");
    expect(lines).toEqual([
      "error kafkajs Consumer: Crash: boom",
      "debug kafkajs Consumer: Response Heartbeat(key: 12, version: 3)",
      "debug kafkajs Consumer: The group is rebalancing, re-joining",
      "warn kafkajs Consumer: something odd",
      "debug kafkajs Consumer: Consumer has joined the group",
    ]);
  });
});
