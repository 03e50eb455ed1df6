// `langgraph-fabric dashboard` over the real Kafka broker and Redis, as a person runs it: the
// command observes the fabric the environment names, a worker started by the CLI appears on the
// page by its replica id (with a caller's calls once it reports), and leaves the page when a
// SIGTERM drains it. In headless Chromium; screenshots in test-results/dashboard/.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabricFromEnv } from "../../../adapters/kafka/createFabricFromEnv.js";
import { generatePrices } from "../../../examples/signal-fusion/prices.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { kafkaBrokers, redisUrl, signingEnv } from "../../support/services.js";
import { launchChromium, replicaRow, screenshot } from "./browser.js";

const cli = fileURLToPath(new URL("../../../cli/main.ts", import.meta.url));
const prefix = `lgf-dash-${randomUUID().slice(0, 8)}`;
let env: Record<string, string>;
let redis: Redis;
let browser: Browser;
const children: Child[] = [];

beforeAll(async () => {
  redis = new Redis(redisUrl());
  env = {
    ...signingEnv(),
    KAFKA_BROKERS: kafkaBrokers().join(","),
    REDIS_URL: redisUrl(),
    FABRIC_PREFIX: prefix,
    FABRIC_LOG_LEVEL: "error",
  };
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser.close();
  await Promise.all(children.map((c) => c.stop(10_000)));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}, 60_000);

describe("langgraph-fabric dashboard on Kafka and Redis", () => {
  it("shows a worker's replica by id, a caller's calls, and the replica gone after SIGTERM", async () => {
    const dashboard = spawnTs(cli, env, ["dashboard", "--port", "0", "--interval", "250"]);
    children.push(dashboard);
    const url = (await dashboard.waitFor(/^dashboard http:\/\/127\.0\.0\.1:\d+\/$/, 60_000)).split(" ")[1]!;

    const worker = spawnTs(cli, env, ["worker", "examples/signal-fusion/graph.ts", "--nodes", "momentum", "--concurrency", "2"]);
    children.push(worker);
    const replicaId = (await worker.waitFor(/^registered momentum /, 90_000)).split(" ")[2]!;
    await worker.waitFor(/^ready$/, 90_000);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(url);
      const row = replicaRow(page, replicaId);
      await row.waitFor({ timeout: 30_000 });
      expect(await page.locator("#connection").textContent()).toContain(`prefix ${prefix}`);
      await row.locator(".badge", { hasText: "healthy" }).waitFor();

      // A caller in this process: its report reaches the page through Redis, as it reaches `status`.
      const caller = await createFabricFromEnv({ logger: silentLogger, monitors: { intervalMs: 3_600_000 } }, env);
      try {
        await caller.registry.refresh();
        // As LangGraph calls a node: a thread, a namespace and a task id (the idempotency key).
        const task = (i: number) => ({
          configurable: { thread_id: `dash-${i}`, checkpoint_ns: `momentum:${i}` },
          executionInfo: { taskId: `${i}` },
        });
        for (let i = 0; i < 3; i += 1) await caller.remoteNode("momentum").invoke({ prices: generatePrices("AAPL", 7).closes }, task(i));
        await caller.coordination.runMonitors();
        await page.locator("#callers td", { hasText: caller.status().callerId }).waitFor({ timeout: 30_000 });
      } finally {
        await caller.stop({ drainTimeoutMs: 0 });
      }
      await screenshot(page, "kafka-redis-replica");

      await worker.stop(30_000);
      await row.waitFor({ state: "detached", timeout: 30_000 });
      await screenshot(page, "kafka-redis-gone");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
    await dashboard.stop(10_000);
    expect(dashboard.process.exitCode).toBe(0);
  });
});
