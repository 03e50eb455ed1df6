import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createFabricFromEnv } from "../../../adapters/kafka/createFabricFromEnv.js";
import type { Fabric } from "../../../src/fabric.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { closeKeyedEffectGraph, keyedBuilder, keyedEffectKeys } from "../../support/processes/keyedEffectGraph.js";
import { kafkaBrokers, redisUrl, signingEnv } from "../../support/services.js";

// A worker SIGKILLed under load (alone, or with a replacement started at once), with the default
// timeouts (Kafka session 6 s, registry expiry 3 s, idempotency lease 15 s): no invocation fails, every effect happens once under one key, and
// the test prints how long the calls in flight at the kill took to settle and the longest pause
// in completions afterwards (figures for docs/operations.md; timing is never asserted here).

const here = (f: string) => fileURLToPath(new URL(`../../support/processes/${f}`, import.meta.url));
const THREADS = 120;
const IN_FLIGHT = 12;
let redis: Redis;
const children: Child[] = [];
const fabrics: Fabric[] = [];
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 500 })));
  await Promise.all(children.splice(0).map((c) => c.stop(5000)));
});
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(redis, p);
  await redis.quit();
  await closeKeyedEffectGraph();
});

/** Runs the load, kills one worker mid-load (and starts a replacement at once when `replace`), checks and prints. */
async function killUnderLoad(replace: boolean): Promise<void> {
  {
    const prefix = `lgf-wkill-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const env = {
      KAFKA_BROKERS: kafkaBrokers().join(","),
      ...signingEnv(),
      REDIS_URL: redisUrl(),
      FABRIC_PREFIX: prefix,
      EFFECT_PREFIX: prefix,
      KEYED_SLOW_MS: "300",
    };
    process.env.EFFECT_PREFIX = prefix; // keyedEffectGraph reads it in this process too (it only runs on workers here)
    const workers = [0, 1, 2].map(() => spawnTs(here("keyedWorker.ts"), env));
    children.push(...workers);
    await Promise.all(workers.map((w) => w.waitFor(/^ready$/)));
    const fabric = await createFabricFromEnv({ healthCheckTimeoutMs: 15_000 }, env);
    fabrics.push(fabric);
    const graph = fabric.distribute(keyedBuilder, { nodes: ["a", "b", "c"] }).compile();

    const spans: { start: number; end?: number; error?: unknown }[] = [];
    let next = 0;
    let killAt = 0;
    const lane = async () => {
      while (next < THREADS) {
        const i = next++;
        const span: { start: number; end?: number; error?: unknown } = { start: performance.now() };
        spans[i] = span;
        try {
          const out = await graph.invoke({ log: [] }, { configurable: { thread_id: `t-${i}` } });
          expect(out.log).toEqual(["a", "b", "c"]);
        } catch (e) {
          span.error = e;
        }
        span.end = performance.now();
      }
    };
    const load = Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    // Once the load runs steadily, kill the worker that is running a node right now.
    await expect
      .poll(() => spans.filter((s) => s.end !== undefined).length, { timeout: 60_000, interval: 50 })
      .toBeGreaterThanOrEqual(IN_FLIGHT);
    const running = spans.findIndex((s) => s.end === undefined);
    const pid = Number(await redis.get(keyedEffectKeys(prefix, `t-${running}`, "a").pid));
    const victim = workers.find((w) => w.process.pid === pid) ?? workers[0]!;
    killAt = performance.now();
    await victim.kill();
    if (replace) {
      // The replacement joins while the dead member's session (6 s) still runs: with kafkajs's
      // eager protocol that rebalance waits for the session to expire, and every member with it.
      const replacement = spawnTs(here("keyedWorker.ts"), env);
      children.push(replacement);
    }
    await load;

    const failed = spans.filter((s) => s.error !== undefined).map((s) => String(s.error));
    expect(failed).toEqual([]);
    const twice: string[] = [];
    for (let i = 0; i < THREADS; i++) {
      for (const node of ["a", "b", "c"]) {
        const k = keyedEffectKeys(prefix, `t-${i}`, node);
        const [keys, effects] = await Promise.all([redis.scard(k.keys), redis.get(k.effects)]);
        if (keys !== 1 || Number(effects) !== 1) twice.push(`t-${i}/${node}: ${keys} keys, ${effects} effects`);
      }
    }
    expect(twice).toEqual([]);

    const inFlightAtKill = spans.filter((s) => s.start < killAt && (s.end ?? Infinity) > killAt);
    const settle = Math.max(...inFlightAtKill.map((s) => (s.end ?? 0) - killAt));
    const ends = spans
      .map((s) => s.end ?? 0)
      .filter((e) => e > killAt)
      .sort((x, y) => x - y);
    let stall = ends.length > 0 ? ends[0]! - killAt : 0;
    for (let i = 1; i < ends.length; i++) stall = Math.max(stall, ends[i]! - ends[i - 1]!);
    const latencies = spans.map((s) => (s.end ?? 0) - s.start).sort((x, y) => x - y);
    process.stdout.write(
      `[worker-kill${replace ? " + replacement" : ""}] invocations ${THREADS}, in flight at kill ${inFlightAtKill.length}, worst settle ${Math.round(settle)} ms, ` +
        `longest pause in completions after the kill ${Math.round(stall)} ms, p50 ${Math.round(latencies[THREADS >> 1]!)} ms, max ${Math.round(latencies[THREADS - 1]!)} ms\n`,
    );
  }
}

describe("a worker killed under load (real Kafka, real Redis, real processes, default timeouts)", () => {
  it("every invocation completes, each effect once under one key; calls in flight at the kill settle on the survivors", async () => {
    await killUnderLoad(false);
  });

  it("the same with a replacement worker started right after the kill", async () => {
    await killUnderLoad(true);
  });
});
