import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { keyedEffectKeys } from "../../support/processes/keyedEffectGraph.js";
import { kafkaBrokers, redisUrl, signingEnv } from "../../support/services.js";

// The graph's process SIGKILLed in the middle of a load of many threads, with LangGraph's default
// durability ("async": a step's tasks start before the checkpoint they were prepared from is
// stored), then every thread picked up by a new process. Each node makes its effect idempotent
// with its idempotency key, as the docs say; the promise under test is that the key a resumed run
// computes is the key the crashed run used, so no effect ever happens under two keys.

const here = (f: string) => fileURLToPath(new URL(`../../support/processes/${f}`, import.meta.url));
const THREADS = 30;
const NODES = ["a", "b", "c"] as const;
let redis: Redis;
const children: Child[] = [];
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop(5000)));
});
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(redis, p);
  await redis.quit();
});

async function waitUntil(fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a runner crash under load (real Kafka, real Redis, real processes)", () => {
  it("every thread's effects happen once, each under one key, after a SIGKILL mid-load and a resume in a new process", async () => {
    const prefix = `lgf-rcrash-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    // Checkpoint puts delayed 200 ms in the runner, as under a busy Redis: without the wait for
    // the task's checkpoint, nearly every thread would have run a node whose checkpoint is lost.
    const env = {
      KAFKA_BROKERS: kafkaBrokers().join(","),
      ...signingEnv(),
      REDIS_URL: redisUrl(),
      FABRIC_PREFIX: prefix,
      EFFECT_PREFIX: prefix,
      THREADS: String(THREADS),
      CHECKPOINT_PUT_DELAY_MS: "200",
    };
    const workers = [spawnTs(here("keyedWorker.ts"), env), spawnTs(here("keyedWorker.ts"), env)];
    children.push(...workers);
    await Promise.all(workers.map((w) => w.waitFor(/^ready$/)));

    const runner = spawnTs(here("keyedRunner.ts"), { ...env, MODE: "run" });
    children.push(runner);
    await runner.waitFor(/^started$/);
    // Mid-load: half of all effects have happened (threads are at b or c, whose checkpoints are in flight).
    const total = keyedEffectKeys(prefix, "", "").total;
    await waitUntil(async () => Number((await redis.get(total)) ?? 0) >= Math.floor((THREADS * NODES.length) / 2));
    await runner.kill();
    expect(runner.stdout()).not.toContain("finished");
    const atCrash = Number(await redis.get(total));
    expect(atCrash).toBeLessThan(THREADS * NODES.length);

    const resumer = spawnTs(here("keyedRunner.ts"), { ...env, MODE: "resume" });
    children.push(resumer);
    const line = await resumer.waitFor(/^resumed /, 90_000);
    const logs = JSON.parse(line.slice("resumed ".length)) as Record<string, string[]>;

    const twice: string[] = [];
    for (let i = 0; i < THREADS; i++) {
      const thread = `thread-${i}`;
      expect(logs[thread], thread).toEqual(["a", "b", "c"]);
      for (const node of NODES) {
        const k = keyedEffectKeys(prefix, thread, node);
        const [keys, effects] = await Promise.all([redis.smembers(k.keys), redis.get(k.effects)]);
        if (keys.length !== 1 || Number(effects) !== 1) twice.push(`${thread}/${node}: ${keys.length} keys, ${effects} effects`);
      }
    }
    expect(twice).toEqual([]);
    expect(Number(await redis.get(total))).toBe(THREADS * NODES.length);
  });
});
