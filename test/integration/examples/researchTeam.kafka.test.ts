// The research-team example end to end over the real Kafka and Redis: two worker processes
// (examples/research-team/worker.ts, what `npm run example:research-team:worker` runs) serve the two
// prebuilt agents whole; this process runs the team (`runTeam`, what `npm run example:research-team`
// runs). The conversation must equal the embedded run's, the agents' tools must have run in the
// workers, and the agents' checkpoints must be in Redis under the runner's thread.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/observability/logger.js";
import { AGENTS } from "../../../examples/research-team/graph.js";
import { runTeam } from "../../../examples/research-team/team.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { kafkaBrokers, redisUrl, testSigningKeys } from "../../support/services.js";

const prefix = `lgf-rt-${randomUUID().slice(0, 8)}`;
const workerScript = fileURLToPath(new URL("../../../examples/research-team/worker.ts", import.meta.url));
const workers: Child[] = [];
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  const env = { KAFKA_BROKERS: kafkaBrokers().join(","), REDIS_URL: redisUrl(), FABRIC_PREFIX: prefix, FABRIC_LOG_LEVEL: "error" };
  for (let i = 0; i < 2; i += 1) workers.push(spawnTs(workerScript, env));
  await Promise.all(workers.map((w) => w.waitFor(/^ready$/, 90_000)));
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(10_000)));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}, 60_000);

describe("research-team example over Kafka and Redis", () => {
  it("runs the agents whole in the worker processes, with the embedded run's conversation", async () => {
    const embedded = await runTeam({ connection: { mode: "embedded" }, logger: silentLogger, progress: () => undefined });
    const distributed = await runTeam({
      connection: {
        mode: "distributed",
        brokers: kafkaBrokers(),
        redisUrl: redisUrl(),
        prefix,
        signing: { signingKeys: testSigningKeys() },
      },
      logger: silentLogger,
      progress: () => undefined,
      replicaWaitMs: 30_000,
    });
    expect(distributed.transcript).toEqual(embedded.transcript);
    const workerPids = new Set(workers.map((w) => String(w.process.pid)));
    for (const agent of AGENTS) {
      const activity = distributed.activity[agent]!;
      expect(activity.tokens).toBe(embedded.activity[agent]!.tokens);
      expect(activity.tools.map((t) => t.tool)).toEqual(embedded.activity[agent]!.tools.map((t) => t.tool));
      for (const t of activity.tools) expect(workerPids.has(t.servedBy.split(":").at(-1)!)).toBe(true);
      // Read back from Redis by the runner's RedisSaver, under its thread and the agent's namespace.
      expect(distributed.agentCheckpoints[agent]).toBeGreaterThan(0);
      expect(distributed.agentCheckpoints[agent]).toBe(embedded.agentCheckpoints[agent]);
    }
  });
});
