// coalesceWrites against real Redis: commands issued in one turn leave in one write (the socket is
// corked until the next tick), every command still gets its own reply, and the socket of a
// reconnected client is corked too. RedisStateStore turns it on for the clients it creates.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { coalesceWrites } from "../../../adapters/redis/createRedisClient.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { redisUrl } from "../../support/services.js";

const prefix = `lgf-coalesce-${randomUUID().slice(0, 8)}`;
const clients: Redis[] = [];
afterAll(async () => {
  const cleanup = new Redis(redisUrl());
  const keys = await cleanup.keys(`${prefix}*`); // test cleanup only
  if (keys.length > 0) await cleanup.unlink(...keys);
  await cleanup.quit();
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
});

/** Counts the writes that reach the socket's handle: one per write() uncorked, one per writev() corked. */
function countWrites(client: Redis): { writes: () => number } {
  const stream = client.stream as unknown as { _writeGeneric: (...a: unknown[]) => unknown };
  const original = stream._writeGeneric.bind(stream);
  let writes = 0;
  stream._writeGeneric = (...args: unknown[]) => {
    writes += 1;
    return original(...args);
  };
  return { writes: () => writes };
}

async function connected(client: Redis): Promise<Redis> {
  clients.push(client);
  await client.ping();
  return client;
}

describe("coalesceWrites", () => {
  it("sends the commands of one turn in one write, each with its own reply", async () => {
    const plain = await connected(new Redis(redisUrl()));
    const corked = await connected(new Redis(redisUrl()));
    coalesceWrites(corked);
    const send = async (client: Redis, tag: string): Promise<number> => {
      const counter = countWrites(client);
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => client.set(`${prefix}:${tag}:${i}`, String(i))));
      expect(replies).toEqual(Array.from({ length: 50 }, () => "OK"));
      return counter.writes();
    };
    expect(await send(plain, "plain")).toBe(50);
    expect(await send(corked, "corked")).toBe(1);
    const values = await corked.mget(Array.from({ length: 50 }, (_, i) => `${prefix}:corked:${i}`));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it("keeps coalescing after a reconnect", async () => {
    const client = await connected(new Redis(redisUrl()));
    coalesceWrites(client);
    const first = client.stream;
    const reconnected = new Promise((resolve) => client.once("ready", resolve));
    first.destroy(); // the connection drops; ioredis reconnects on its own
    await reconnected;
    expect(client.stream).not.toBe(first);
    const counter = countWrites(client);
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.incr(`${prefix}:again:${i}`)));
    expect(counter.writes()).toBe(1);
  });

  it("is on for a RedisStateStore's own client, off for one passed in unless asked", async () => {
    const own = new RedisStateStore(redisUrl(), { keyPrefix: prefix });
    const passed = await connected(new Redis(redisUrl()));
    const borrowed = new RedisStateStore(passed, { keyPrefix: prefix });
    try {
      await own.set("a", 1);
      const ownCounter = countWrites(own.client as Redis);
      const borrowedCounter = countWrites(passed);
      await Promise.all(Array.from({ length: 20 }, (_, i) => Promise.all([own.set(`k${i}`, i), borrowed.set(`b${i}`, i)])));
      expect(ownCounter.writes()).toBe(1);
      expect(borrowedCounter.writes()).toBe(20);
      expect(() => new RedisStateStore(redisUrl(), { coalesceWrites: "yes" as never })).toThrow(/coalesceWrites must be a boolean/);
    } finally {
      await own.close();
      await borrowed.close();
    }
  });
});
