import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import type { Fabric } from "../../../src/fabric.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { builder, closeEffectGraph, effectKeys } from "../../support/processes/effectGraph.js";
import { fabricFromEnv } from "../../support/processes/fabricFromEnv.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { kafkaBrokers, redisUrl } from "../../support/services.js";

// Crashes with real processes, a real Kafka broker and a real Redis: a worker replica SIGKILLed in
// the middle of a node call, and the graph's own process SIGKILLed in the middle of a run. Nodes
// make their external effect idempotent with their idempotency key, as the docs tell them to; a
// node may run again after a crash, its effect may not happen twice.

const here = (f: string) => fileURLToPath(new URL(`../../support/processes/${f}`, import.meta.url));
let redis: Redis;
const children: Child[] = [];
const fabrics: Fabric[] = [];
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 500 })));
});
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(redis, p);
  await redis.quit();
  await closeEffectGraph();
});

/** A fresh, isolated environment (topics, keys, counters) for one test. */
function environment(extra: Record<string, string> = {}) {
  const id = randomUUID().slice(0, 8);
  const prefix = `lgf-crash-${id}`;
  prefixes.push(prefix);
  const env = {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    REDIS_URL: redisUrl(),
    FABRIC_TOPIC_PREFIX: prefix,
    FABRIC_KEY_PREFIX: prefix,
    EFFECT_PREFIX: prefix,
    FABRIC_SESSION_TIMEOUT_MS: "3000",
    FABRIC_LEASE_MS: "2000",
    ...extra,
  };
  // This test process uses the same settings as its children.
  Object.assign(process.env, env);
  const counters = async (node: string) => {
    const k = effectKeys(prefix, node);
    const [runs, effects, pid] = await redis.mget(k.runs, k.effects, k.runningPid);
    return { runs: Number(runs ?? 0), effects: Number(effects ?? 0), pid: pid === null ? undefined : Number(pid) };
  };
  return { env, prefix, counters };
}

async function startWorkers(env: Record<string, string>, count: number): Promise<Child[]> {
  const started = Array.from({ length: count }, () => spawnTs(here("worker.ts"), env));
  children.push(...started);
  await Promise.all(started.map((c) => c.waitFor(/^ready$/)));
  return started;
}

async function waitUntil<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("crashes (real Kafka, real Redis, real processes)", () => {
  it("a worker SIGKILLed mid-call: the call completes on another replica and its effect happens once", async () => {
    const { env, prefix, counters } = environment({ EFFECT_SLOW_NODE: "b", EFFECT_SLOW_MS: "4000" });
    const workers = await startWorkers(env, 2);
    const fabric = await fabricFromEnv();
    fabrics.push(fabric);
    const checkpointer = await RedisSaver.fromUrl(redisUrl(), { keyPrefix: `${prefix}:cp` });
    const graph = fabric.distribute(builder, { nodes: ["a", "b", "c"] }).compile({ checkpointer });
    const run = graph.invoke({ log: [] }, { configurable: { thread_id: "worker-crash" } });

    // Killed only once b's effect is recorded (SET NX, then INCR, then the slow sleep): a kill
    // between the two would leave the guard set and the counter at 0, a flake rather than a
    // finding. The pid key, written before the effect, names the process that is now sleeping.
    const pid = await waitUntil(async () => {
      const b = await counters("b");
      return b.effects >= 1 ? b.pid : undefined;
    });
    const victim = workers.find((w) => w.process.pid === pid)!;
    await victim.kill();

    const result = await run;
    await checkpointer.end();
    expect(result.log).toEqual(["a", "b", "c"]);
    expect(await counters("b")).toMatchObject({ runs: 2, effects: 1 });
    expect((await counters("a")).effects).toBe(1);
    expect((await counters("c")).effects).toBe(1);
  });

  it("the graph's process SIGKILLed mid-run: a resume from the Redis checkpoint finishes with each effect once", async () => {
    const { env, prefix, counters } = environment({ EFFECT_SLOW_NODE: "b", EFFECT_SLOW_MS: "3000", THREAD_ID: "runner-crash" });
    await startWorkers(env, 2);
    const runner = spawnTs(here("runner.ts"), env);
    children.push(runner);
    await runner.waitFor(/^started$/);
    await waitUntil(async () => (await counters("b")).pid);
    await runner.kill();

    // A new process (this one) picks the thread up from its last checkpoint.
    const fabric = await fabricFromEnv();
    fabrics.push(fabric);
    const checkpointer = await RedisSaver.fromUrl(redisUrl(), { keyPrefix: `${prefix}:cp` });
    const graph = fabric.distribute(builder, { nodes: ["a", "b", "c"] }).compile({ checkpointer });
    const config = { configurable: { thread_id: "runner-crash" } };
    expect((await graph.getState(config)).next).toEqual(["b"]);
    const result = await graph.invoke(null, config);
    await checkpointer.end();
    expect(result.log).toEqual(["a", "b", "c"]);
    // b was still running on its replica when the resume asked for it again: the replica's
    // recorded reply answered the resume, so b did not even run twice.
    for (const node of ["a", "b", "c"]) expect(await counters(node)).toMatchObject({ runs: 1, effects: 1 });
  });

  it("a node call twice as long as the consumer session timeout runs once and completes", async () => {
    const { env, prefix, counters } = environment({ EFFECT_SLOW_NODE: "b", EFFECT_SLOW_MS: "6500" });
    await startWorkers(env, 1);
    const fabric = await fabricFromEnv();
    fabrics.push(fabric);
    const checkpointer = await RedisSaver.fromUrl(redisUrl(), { keyPrefix: `${prefix}:cp` });
    const graph = fabric.distribute(builder, { nodes: ["a", "b", "c"] }).compile({ checkpointer });
    const result = await graph.invoke({ log: [] }, { configurable: { thread_id: "long-call" } });
    await checkpointer.end();
    expect(result.log).toEqual(["a", "b", "c"]);
    expect(await counters("b")).toMatchObject({ runs: 1, effects: 1 });
  });
});
