import { randomUUID } from "node:crypto";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { createFabric, type Fabric, type FabricConfig } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { redisUrl } from "../../support/services.js";

// Shared breaker state through the real Redis: two caller fabrics, each with its own
// RedisStateStore (its own connections, as two processes would have), under one key prefix. What
// one finds broken the other skips at once; when the probe time comes, one half-open probe is sent
// across both. Calls travel on an in-memory network (the medium is not under test here; the Kafka
// failover tests cover it), so only the shared state crosses Redis: records, notices, probe locks.

const prefix = `lgf-sb-${randomUUID().slice(0, 8)}`;
const State = Annotation.Root({ n: Annotation<number> });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function builder(target: { calls: number }, fails: () => boolean) {
  return new StateGraph(State)
    .addNode("work", (s) => {
      target.calls += 1;
      if (fails()) throw new Error("replica broken");
      return { n: s.n + 1 };
    })
    .addEdge(START, "work")
    .addEdge("work", END);
}

let redis: Redis;
const fabrics: Fabric[] = [];
const network = new InMemoryNetwork();

/** A fabric with a RedisStateStore of its own, closed with the fabric. */
async function fabric(config: FabricConfig = {}): Promise<Fabric> {
  const f = await createFabric({
    transport: new InMemoryTransport({ network, logger: silentLogger }),
    state: new RedisStateStore(redisUrl(), { keyPrefix: prefix }),
    closeState: true,
    registryOptions: { heartbeatIntervalMs: 100 },
    logger: silentLogger,
    balancer: "round-robin",
    ...config,
  });
  fabrics.push(f);
  return f;
}

/** Keys of shared breaker records under this file's prefix (SCAN: test only). */
async function breakerKeys(): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:kv:*breakers*`, "COUNT", 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== "0");
  return out;
}

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 500 })));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

// Notices travel through Redis pub/sub, and a caller also re-reads on a timer: on a busy machine
// the news can take a few seconds.
const POLL = { timeout: 10_000, interval: 50 };

describe("shared breaker state over Redis (two callers, each with its own RedisStateStore)", () => {
  it("one caller's open breaker is honoured by the other, with one half-open probe across both, and closes for both", async () => {
    const broken = { failing: false, calls: 0 };
    const healthy = { calls: 0 };
    const resilience = {
      shared: true,
      breaker: { kind: "consecutive" as const, threshold: 1 },
      halfOpenAfter: { initialMs: 300, maxMs: 300 },
      outlier: { enabled: false },
    };
    const [callerA, callerB, brokenWorker, healthyWorker] = await Promise.all([
      fabric({ resilience }),
      fabric({ resilience }),
      fabric(),
      fabric(),
    ]);
    await brokenWorker.serve(
      builder(broken, () => broken.failing),
      { nodes: ["work"] },
    );
    await healthyWorker.serve(
      builder(healthy, () => false),
      { nodes: ["work"] },
    );
    const local = builder({ calls: 0 }, () => false);
    const graphA = callerA.distribute(local, { nodes: ["work"] }).compile();
    const graphB = callerB.distribute(local, { nodes: ["work"] }).compile();
    await Promise.all([callerA.registry.refresh(), callerB.registry.refresh()]);
    expect(callerB.registry.replicas("work")).toHaveLength(2);
    // B calls while all is well (and so starts following the node's shared records); then the replica breaks.
    for (let i = 0; i < 2; i += 1) await graphB.invoke({ n: i });
    expect(broken.calls).toBeGreaterThan(0);
    broken.failing = true;

    // A finds the replica broken; B hears of it through Redis (a notice, or its periodic re-read).
    for (let i = 0; i < 4 && !callerA.status().breakerEvents.some((e) => e.type === "break"); i += 1)
      await graphA.invoke({ n: i }).catch(() => undefined);
    expect(callerA.status().breakerEvents.filter((e) => e.type === "break" && e.shared !== true)).toHaveLength(1);
    await expect.poll(() => callerB.status().breakerEvents.some((e) => e.type === "break" && e.shared === true), POLL).toBe(true);
    expect(await breakerKeys()).toHaveLength(1);

    // B never calls the replica while it is open.
    const beforeB = broken.calls;
    for (let i = 0; i < 10; i += 1) await graphB.invoke({ n: i });
    expect(broken.calls).toBe(beforeB);

    // Past the probe time (and a refresh, which takes the probe lock), both call at once: exactly
    // one call across both callers reaches the broken replica.
    await sleep(1_500);
    const atProbe = broken.calls;
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? graphA : graphB).invoke({ n: i }).catch(() => undefined)));
    expect(broken.calls - atProbe).toBe(1);

    // It recovers: the next probe closes it for both callers, and both send it calls again.
    broken.failing = false;
    await sleep(1_500);
    for (let i = 0; i < 10; i += 1) await (i % 2 ? graphA : graphB).invoke({ n: i });
    await expect.poll(() => callerA.status().breakerEvents.some((e) => e.type === "reset"), POLL).toBe(true);
    await expect.poll(() => callerB.status().breakerEvents.some((e) => e.type === "reset"), POLL).toBe(true);
    await expect.poll(() => breakerKeys(), POLL).toEqual([]);
    const recovered = broken.calls;
    for (let i = 0; i < 10; i += 1) await graphA.invoke({ n: i });
    for (let i = 0; i < 10; i += 1) await graphB.invoke({ n: i });
    expect(broken.calls - recovered).toBeGreaterThanOrEqual(8); // round robin: about half of the 20
  });
});
