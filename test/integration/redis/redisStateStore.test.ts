// RedisStateStore against real Redis: the conformance suite on the shared standalone Redis (each
// test under its own random key prefix, deleted afterwards) and on a private 3-master Cluster, plus
// Redis-specific behaviour: construction, option validation, failures, key layout, server time.
import { randomUUID } from "node:crypto";
import net from "node:net";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStateStore, type RedisStateStoreOptions } from "../../../adapters/redis/RedisStateStore.js";
import type { RedisConnection } from "../../../adapters/redis/createRedisClient.js";
import { isConfigurationError, isStateStoreError } from "../../../src/errors.js";
import { stateStoreConformance, rejection, type StateStoreFactory } from "../../conformance/stateStoreConformance.js";
import { redisUrl } from "../../support/services.js";
import { startRedisCluster, startRedisServer, type RedisClusterHandle } from "../../support/redisServers.js";

const RUN = `lgf-state-test-${randomUUID().slice(0, 8)}`;
let testCount = 0;

/** Deletes every key matching `pattern` on one node (SCAN: test cleanup only, never on a hot path). */
async function deleteMatching(node: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    // One key per command: on a Cluster node the keys of one batch live in different slots.
    await Promise.all(keys.map((k) => node.unlink(k)));
  } while (cursor !== "0");
}

/** A conformance factory: stores on `connect()`, keys removed from `nodes()` after each test. */
function harnessFactory(connect: () => RedisConnection, nodes: () => Redis[]): StateStoreFactory {
  return () => {
    const base = `${RUN}-${++testCount}`;
    const prefixes = new Set<string>();
    const stores: RedisStateStore[] = [];
    const open = (keyPrefix: string): RedisStateStore => {
      prefixes.add(keyPrefix);
      const store = new RedisStateStore(connect(), { keyPrefix });
      stores.push(store);
      return store;
    };
    return Promise.resolve({
      store: open(base),
      openPeer: (options) => Promise.resolve(open(options?.keyPrefix === undefined ? base : `${base}-${options.keyPrefix}`)),
      cleanup: async () => {
        await Promise.all(stores.map((s) => s.close()));
        for (const prefix of prefixes) await Promise.all(nodes().map((n) => deleteMatching(n, `${prefix}:*`)));
      },
    });
  };
}

let admin: Redis;
beforeAll(() => {
  admin = new Redis(redisUrl());
});
afterAll(async () => {
  // Every key of this file starts with RUN (the harness prefixes and the Redis-specific tests').
  await deleteMatching(admin, `${RUN}-*`);
  await admin.quit();
});

stateStoreConformance(
  "RedisStateStore (standalone)",
  harnessFactory(
    () => redisUrl(),
    () => [admin],
  ),
);

describe("RedisStateStore on a 3-master Redis Cluster", () => {
  let cluster: RedisClusterHandle;
  let clusterAdmin: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    clusterAdmin = new Cluster(cluster.nodes);
    await clusterAdmin.ping();
  }, 60_000);
  afterAll(async () => {
    await clusterAdmin.quit();
    await cluster.stop();
  });

  stateStoreConformance(
    "RedisStateStore (cluster)",
    harnessFactory(
      () => ({ cluster: cluster.nodes }),
      () => clusterAdmin.nodes("master"),
    ),
  );

  it("accepts an existing Cluster client and leaves it open", async () => {
    const store = new RedisStateStore(clusterAdmin, { keyPrefix: `${RUN}-cluster-client` });
    await store.set("k", 1);
    expect(await store.getMany(["k", "absent"])).toEqual([1, undefined]);
    await store.close();
    expect(await clusterAdmin.ping()).toBe("PONG");
    await Promise.all(clusterAdmin.nodes("master").map((n) => deleteMatching(n, `${RUN}-cluster-client:*`)));
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("RedisStateStore (Redis-specific)", () => {
  const prefix = (name: string): string => `${RUN}-${name}`;

  it("is built from a URL, fromUrl, { url } or an existing client, without I/O in the constructor", async () => {
    const lazy = new RedisStateStore(`redis://127.0.0.1:${await closedPort()}`);
    expect(lazy.client.status).toBe("wait");
    expect(lazy.keyPrefix).toBe("fabric");
    await lazy.close();

    const client = new Redis(redisUrl());
    const stores = [
      new RedisStateStore(redisUrl(), { keyPrefix: prefix("a") }),
      RedisStateStore.fromUrl(redisUrl(), { keyPrefix: prefix("a") }),
      new RedisStateStore({ url: redisUrl(), options: { connectionName: "lgf-state-test" } }, { keyPrefix: prefix("a") }),
      new RedisStateStore(client, { keyPrefix: prefix("a") }),
    ];
    await stores[0]!.set("k", "v");
    for (const s of stores) expect(await s.get("k")).toBe("v");
    for (const s of stores) await s.close();
    expect(await client.ping()).toBe("PONG"); // not owned: still open
    const owned = new RedisStateStore(client, { keyPrefix: prefix("a"), ownsClient: true });
    await owned.close();
    expect(client.status).toMatch(/end|close/);
  });

  it("rejects bad options with RangeError naming the field, and a bad connection with ConfigurationError", () => {
    const bad: [RedisStateStoreOptions, RegExp][] = [
      [{ keyPrefix: "" }, /keyPrefix.*""/],
      [{ keyPrefix: "a{b}" }, /keyPrefix.*a\{b\}/],
      [{ requeueBatchSize: 0 }, /requeueBatchSize.*0/],
      [{ requeueBatchSize: "10" as never }, /requeueBatchSize.*10/],
      [{ ownsClient: "yes" as never }, /ownsClient.*yes/],
      [{ onSubscriberError: 1 as never }, /onSubscriberError/],
    ];
    for (const [options, message] of bad) {
      expect(() => new RedisStateStore(redisUrl(), options)).toThrow(RangeError);
      expect(() => new RedisStateStore(redisUrl(), options)).toThrow(message);
    }
    let error: unknown;
    try {
      new RedisStateStore({} as never);
    } catch (e) {
      error = e;
    }
    expect(isConfigurationError(error)).toBe(true);
  });

  it("reports an unreachable Redis as a StateStoreError naming the operation", async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const store = new RedisStateStore({ url, options: { maxRetriesPerRequest: 0, retryStrategy: () => null } });
    store.client.on("error", () => undefined);
    const error = await rejection(store.get("k"), isStateStoreError);
    expect(String(error)).toMatch(/RedisStateStore\.get failed: .*unreachable/s);
    await rejection(store.acquireLock("l", { ttlMs: 1000 }), isStateStoreError);
    await rejection(
      store.subscribe("ch", () => undefined),
      isStateStoreError,
    );
    await store.close();
  });

  it("reports a client closed under it as a StateStoreError", async () => {
    const client = new Redis(redisUrl());
    await client.quit();
    const store = new RedisStateStore(client, { keyPrefix: prefix("closed") });
    const error = await rejection(store.queue("q").push(1), isStateStoreError);
    expect(String(error)).toMatch(/RedisStateStore\.queue\.push failed: Connection is closed/);
  });

  it("lays keys out under the prefix with one hash tag per script", async () => {
    const p = prefix("layout");
    const store = new RedisStateStore(redisUrl(), { keyPrefix: p });
    await store.agentState("a:1").set("k", 1);
    const lock = await store.acquireLock("l", { ttlMs: 60_000 });
    await store.fencedSet("f", 1, lock!.token);
    await store.queue("q").push("x");
    await store.queue("q").claim({ leaseMs: 60_000 });
    const keys = [];
    for (let cursor = "0"; ;) {
      const [next, batch] = await admin.scan(cursor, "MATCH", `${p}:*`);
      keys.push(...batch);
      if ((cursor = next) === "0") break;
    }
    expect(keys.sort()).toEqual(
      [
        `${p}:kv:{agent:a%3A1:k}`,
        `${p}:lock:{l}`,
        `${p}:lockseq:{l}`,
        `${p}:kv:{f}`,
        `${p}:fence:{f}`,
        `${p}:q:{q}:items`,
        `${p}:q:{q}:attempts`,
        `${p}:q:{q}:leased`,
      ].sort(),
    );
    expect(await admin.pttl(`${p}:lock:{l}`)).toBeGreaterThan(59_000);
    expect(await admin.pttl(`${p}:lockseq:{l}`)).toBe(-1);
    await store.close();
  });

  it("measures leases with the server's clock", async () => {
    const store = new RedisStateStore(redisUrl(), { keyPrefix: prefix("clock") });
    await store.queue("q").push(1);
    const [seconds, micros] = await admin.time();
    const serverNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const item = await store.queue("q").claim({ leaseMs: 5000 });
    expect(Math.abs(item!.leaseExpiresAt - (serverNow + 5000))).toBeLessThan(1000);
    await store.close();
  });

  it("opens the subscriber connection on first subscribe and closes both on close", async () => {
    const name = `lgf-state-conn-${randomUUID().slice(0, 8)}`;
    const store = new RedisStateStore({ url: redisUrl(), options: { connectionName: name } }, { keyPrefix: prefix("conn") });
    const count = async (): Promise<number> =>
      ((await admin.client("LIST")) as string).split("\n").filter((l) => l.includes(`name=${name} `)).length;
    await store.get("k");
    expect(await count()).toBe(1);
    const seen: unknown[] = [];
    await store.subscribe("ch", (m) => void seen.push(m));
    expect(await count()).toBe(2);
    await store.publish("ch", "hi");
    await expect.poll(() => seen).toEqual(["hi"]);
    await store.close();
    await expect.poll(count).toBe(0);
  });

  it("keeps working after the server forgets its scripts (NOSCRIPT falls back to EVAL)", async () => {
    const server = await startRedisServer();
    try {
      const store = new RedisStateStore(server.url, { keyPrefix: "noscript" });
      expect(await store.incr("c")).toBe(1);
      const flusher = new Redis(server.url);
      await flusher.script("FLUSH");
      await flusher.quit();
      expect(await store.incr("c")).toBe(2);
      expect(await store.acquireLock("l", { ttlMs: 1000 })).toBeDefined();
      await store.close();
    } finally {
      await server.stop();
    }
  });
});
