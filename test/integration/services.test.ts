// Smoke test of the test infrastructure itself: the services the global setup provides, and the
// private Redis servers and clusters that other integration tests start.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { Kafka, Partitioners, logLevel } from "kafkajs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startRedisCluster, startRedisServer } from "../support/redisServers.js";

describe("shared services", () => {
  it("Redis answers PING", async () => {
    const redis = new Redis(inject("redisUrl"), { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe("PONG");
    } finally {
      redis.disconnect();
    }
  });

  it("Kafka has one broker and round-trips a message on a new topic", async () => {
    const kafka = new Kafka({ clientId: "services-smoke", brokers: inject("kafkaBrokers"), logLevel: logLevel.WARN });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId: `services-smoke-${randomUUID()}`, maxWaitTimeInMs: 100 });
    const topic = `services-smoke-${randomUUID()}`;
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toHaveLength(1);

      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })).toBe(true);
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({
          eachMessage: ({ message }) => {
            resolve(message.value?.toString() ?? "");
            return Promise.resolve();
          },
        });
      });
      await producer.send({ topic, messages: [{ key: "k", value: "hello fabric" }] });
      expect(await received).toBe("hello fabric");
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});

describe("private Redis servers", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(cleanups.map((cleanup) => cleanup()));
  });

  it("startRedisServer restarts on the same port", async () => {
    const server = await startRedisServer();
    cleanups.push(() => server.stop());
    expect(server.port).not.toBe(6379);
    const firstPid = server.pid;
    // The client reconnects on its own, as an application's would across a Redis restart.
    const redis = new Redis(server.url, { lazyConnect: true });
    redis.on("error", () => undefined); // ECONNREFUSED while the server is down is expected
    try {
      await redis.connect();
      expect(await redis.ping()).toBe("PONG");
      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
      expect(await redis.ping()).toBe("PONG");
    } finally {
      redis.disconnect();
    }
  });

  it("startRedisCluster gives a working cluster", async () => {
    const cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    expect(cluster.nodes).toHaveLength(3);
    const client = new Cluster(cluster.nodes);
    try {
      const info = await client.cluster("INFO");
      expect(info).toContain("cluster_state:ok");
      // Keys spread over the slot range, so they land on different masters.
      const keys = Array.from({ length: 20 }, (_, i) => `smoke:${i}`);
      await Promise.all(keys.map((key, i) => client.set(key, String(i))));
      expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map((_, i) => String(i)));
      const perNode = await Promise.all(client.nodes("master").map((node) => node.dbsize()));
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
    } finally {
      client.disconnect();
    }
  });
});

describe("scripts/services.mjs", () => {
  const script = fileURLToPath(new URL("../../scripts/services.mjs", import.meta.url));
  // The global setup exports REDIS_URL and KAFKA_BROKERS, which make the script only check those
  // servers. When they are the local defaults, drop them so that `up` takes its real path (pid
  // file, start lock, "already answering") — never a second broker, since one answers.
  const local = inject("redisUrl") === "redis://127.0.0.1:6379" && inject("kafkaBrokers").join(",") === "127.0.0.1:9092";
  const env = { ...process.env };
  if (local) {
    delete env.REDIS_URL;
    delete env.KAFKA_BROKERS;
  }
  const run = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    promisify(execFile)(process.execPath, [script, ...args], { env, cwd: path.dirname(path.dirname(script)), timeout: 60_000 });
  interface Status {
    redis: { answers: boolean; pid: number | null };
    kafka: { answers: boolean; pid: number | null; clusterId: string | null };
  }
  const status = async (): Promise<Status> => JSON.parse((await run("status", "--json")).stdout) as Status;

  it("`up` while the services run is quick, starts nothing and keeps the same broker; `status --json` reports both answering", async () => {
    const before = await status();
    expect(before.redis.answers).toBe(true);
    expect(before.kafka.answers).toBe(true);

    const t0 = Date.now();
    const up = await run("up", "--json"); // rejects on a non-zero exit
    expect(Date.now() - t0).toBeLessThan(10_000); // a broker start alone takes longer on this machine
    expect(JSON.parse(up.stdout)).toMatchObject({ started: { redis: false, kafka: false } });
    if (local && before.kafka.pid !== null) expect(up.stderr).toContain(`already answering at 127.0.0.1:9092 (pid ${before.kafka.pid})`);

    const after = await status();
    expect(after).toEqual(before); // same pids (null when another checkout started them), same cluster id
  });
});
