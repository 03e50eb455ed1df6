// RedisRegistry against the real (shared) Redis: two registries with their own connections act as
// two processes. Every key lives under a random prefix and is deleted afterwards.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisRegistry, type RedisRegistryOptions } from "../../../adapters/redis/RedisRegistry.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { realTimers, type RegistryEvent, type RegistryTimers } from "../../../src/registry/Registry.js";
import { waitFor } from "../../conformance/stateStoreConformance.js";
import { redisUrl } from "../../support/services.js";

const RUN = `lgf-registry-test-${randomUUID().slice(0, 8)}`;
const HB = 200;
const EXPIRE = 3 * HB;
let testCount = 0;

/** Real timers that can be killed, as a crashed process's would be: nothing fires after kill(). */
function killableTimers(): { timers: RegistryTimers; kill: () => void } {
  let dead = false;
  const live = new Set<unknown>();
  return {
    timers: {
      setTimeout: (fn, ms) => {
        const handle = realTimers.setTimeout(() => {
          live.delete(handle);
          if (!dead) fn();
        }, ms);
        live.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        live.delete(handle);
        realTimers.clearTimeout(handle);
      },
    },
    kill: () => {
      dead = true;
      for (const handle of live) realTimers.clearTimeout(handle);
      live.clear();
    },
  };
}

let admin: Redis;
const opened: RedisRegistry[] = [];

beforeAll(() => {
  admin = new Redis(redisUrl());
});
afterAll(async () => {
  await Promise.all(opened.map((r) => r.stop()));
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${RUN}-*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== "0");
  await admin.quit();
});

/** A fresh key prefix for one test. */
const prefix = (): string => `${RUN}-${++testCount}`;

/** A registry that owns its own Redis connections (one "process"). */
function processOn(keyPrefix: string, options: RedisRegistryOptions = {}): RedisRegistry {
  const registry = new RedisRegistry(redisUrl(), { heartbeatIntervalMs: HB, logger: silentLogger, store: { keyPrefix }, ...options });
  opened.push(registry);
  return registry;
}

describe("RedisRegistry", () => {
  it("a second process sees a registration within one interval, with its load figures and capabilities", async () => {
    const keyPrefix = prefix();
    const caller = processOn(keyPrefix);
    const worker = processOn(keyPrefix);
    await caller.start();
    let inFlight = 2;
    const registeredAt = Date.now();
    await worker.register({
      node: "momentum",
      replicaId: "m-1",
      address: { replicaId: "m-1", partitions: [1, 2] },
      capabilities: ["gpu"],
      version: "1.0.0",
      loadProvider: () => ({ inFlight, latencyEwmaMs: 30, errorRate: 0, cpu: 0.5, memoryBytes: 123 }),
    });
    await worker.register({ node: "reversion", replicaId: "r-1", capabilities: ["cpu"] });
    await waitFor(() => caller.replicas("momentum").length === 1 && caller.replicas("reversion").length === 1, HB);
    expect(Date.now() - registeredAt).toBeLessThan(HB * 2);
    expect(caller.replicas("momentum")[0]).toMatchObject({
      address: { replicaId: "m-1", partitions: [1, 2] },
      version: "1.0.0",
      load: { inFlight: 2, latencyEwmaMs: 30, cpu: 0.5, memoryBytes: 123 },
    });
    expect(caller.findByCapability("gpu").map((r) => r.replicaId)).toEqual(["m-1"]);
    expect(caller.nodes()).toEqual(["momentum", "reversion"]);

    inFlight = 9; // the next heartbeat carries it; the caller's next refresh reads it
    await waitFor(() => caller.replicas("momentum")[0]?.load.inFlight === 9, 3 * HB);

    await worker.stop(); // deregisters both, closes its own store
    await waitFor(() => caller.nodes().length === 0, HB);
    expect(await admin.exists(`${keyPrefix}:kv:{registry:nodes}`)).toBe(0);
  });

  it("expires a replica whose process stopped heartbeating without deregistering", async () => {
    const keyPrefix = prefix();
    const caller = processOn(keyPrefix);
    const crash = killableTimers();
    const worker = processOn(keyPrefix, { timers: crash.timers });
    await caller.start();
    const removed: RegistryEvent[] = [];
    caller.watch("n", (e) => e.type === "removed" && removed.push(e));
    await worker.register({ node: "n", replicaId: "doomed" });
    await worker.register({ node: "n", replicaId: "doomed-2" });
    const survivor = processOn(keyPrefix);
    await survivor.register({ node: "n", replicaId: "survivor" });
    await waitFor(() => caller.replicas("n").length === 3, HB);

    // Three heartbeats later the worker is still there.
    await new Promise((resolve) => setTimeout(resolve, 3 * HB));
    expect(caller.replicas("n")).toHaveLength(3);

    const recordKey = `${keyPrefix}:kv:{registry:replica:n:doomed}`;
    const ttl = await admin.pttl(recordKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(EXPIRE);

    const crashedAt = Date.now();
    crash.kill(); // the process is gone: no heartbeat, no deregistration, no notice
    await waitFor(() => caller.replicas("n").length === 1, EXPIRE + 2 * HB);
    const goneAfter = Date.now() - crashedAt;
    expect(goneAfter).toBeGreaterThanOrEqual(EXPIRE - HB - 150); // at most one heartbeat was lost before the kill
    expect(goneAfter).toBeLessThanOrEqual(EXPIRE + HB + 200);
    expect(caller.replicas("n").map((r) => r.replicaId)).toEqual(["survivor"]);
    await waitFor(() => removed.length === 2, 2 * HB);

    // Redis expired the records; a reader pruned their ids from the index.
    expect(await admin.exists(recordKey)).toBe(0);
    await caller.refresh();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(JSON.parse((await admin.get(`${keyPrefix}:kv:{registry:index/n}`)) ?? "null")).toEqual(["survivor"]);
  });

  it("shares a given RedisStateStore without closing it, and closes a store it created", async () => {
    const keyPrefix = prefix();
    const store = new RedisStateStore(redisUrl(), { keyPrefix });
    const shared = new RedisRegistry(store, { heartbeatIntervalMs: HB, logger: silentLogger });
    expect(shared.stateStore).toBe(store);
    await shared.start();
    await shared.register({ node: "n", replicaId: "r" });
    expect(shared.replicas("n")).toHaveLength(1);
    await shared.stop();
    expect(await store.get("still-open")).toBeUndefined(); // the store still works
    await store.close();

    const owned = RedisRegistry.fromUrl(redisUrl(), { heartbeatIntervalMs: HB, logger: silentLogger, store: { keyPrefix } });
    await owned.start();
    await owned.stop();
    expect(owned.stateStore.client.status).toBe("end");

    expect(() => new RedisRegistry(store, { store: { keyPrefix } })).toThrow(/store options/);
    expect(() => new RedisRegistry(redisUrl(), { heartbeatIntervalMs: -5 })).toThrow(/heartbeatIntervalMs.*-5/);
  });
});
