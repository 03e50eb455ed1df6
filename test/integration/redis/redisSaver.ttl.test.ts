// RedisSaver's optional TTL: a thread's keys expire together, reads push the expiry back unless
// refreshOnRead is off, an expired thread is gone, and list() over all threads drops expired
// threads from the thread index so that it does not grow forever.
import { randomUUID } from "node:crypto";
import { emptyCheckpoint, uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisSaver, type RedisSaverOptions } from "../../../adapters/redis/RedisSaver.js";
import { threadIndexKey, threadKeys } from "../../../adapters/redis/checkpointKeys.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { redisUrl } from "../../support/services.js";

const client = new Redis(redisUrl());
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deleteByPrefix(client, prefix);
  await client.quit();
});

function newPrefix(): string {
  const prefix = `lgf-test:ttl:${randomUUID()}`;
  prefixes.push(prefix);
  return prefix;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Puts one checkpoint with a channel value and one pending write: all five keys of the thread exist. */
async function writeThread(saver: RedisSaver, threadId: string): Promise<RunnableConfig> {
  const checkpoint: Checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { v: "x" }, channel_versions: { v: 1 } };
  const config = await saver.put(
    { configurable: { thread_id: threadId, checkpoint_ns: "" } },
    checkpoint,
    { source: "loop", step: 0, parents: {} },
    { v: 1 },
  );
  await saver.putWrites(config, [["v", "y"]], "task-1", "~__pregel_pull, n");
  return config;
}

async function pttls(prefix: string, threadId: string): Promise<number[]> {
  return Promise.all(threadKeys(prefix, threadId).map((key) => client.pttl(key)));
}

async function threadIdsListed(saver: RedisSaver): Promise<string[]> {
  const ids = new Set<string>();
  for await (const tuple of saver.list({})) ids.add(String(tuple.config.configurable?.thread_id));
  return [...ids].sort();
}

describe("RedisSaver with ttlMs", () => {
  it("expires every key of a thread together and refreshes them on read only with refreshOnRead", async () => {
    const ttlMs = 2000;
    const make = (options: RedisSaverOptions): { saver: RedisSaver; prefix: string } => {
      const prefix = newPrefix();
      return { saver: new RedisSaver(client, { keyPrefix: prefix, ttlMs, ...options }), prefix };
    };
    const refreshing = make({}); // refreshOnRead defaults to true
    const fixed = make({ refreshOnRead: false });
    const [refreshingConfig, fixedConfig] = await Promise.all([writeThread(refreshing.saver, "t"), writeThread(fixed.saver, "t")]);

    for (const { prefix } of [refreshing, fixed]) {
      for (const pttl of await pttls(prefix, "t")) expect(pttl).toBeGreaterThan(ttlMs - 300); // -2 (missing) and -1 (no TTL) fail too
      // The thread index is shared by every thread: it must never expire with one of them.
      expect(await client.pttl(threadIndexKey(prefix))).toBe(-1);
    }

    await sleep(1000);
    expect((await refreshing.saver.getTuple(refreshingConfig))?.pendingWrites).toHaveLength(1);
    expect((await fixed.saver.getTuple(fixedConfig))?.pendingWrites).toHaveLength(1);

    for (const pttl of await pttls(refreshing.prefix, "t")) expect(pttl).toBeGreaterThan(ttlMs - 300);
    for (const pttl of await pttls(fixed.prefix, "t")) {
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThan(ttlMs - 800);
    }
  });

  it("forgets a thread whose TTL lapsed, and list() without a thread id prunes it from the thread index", async () => {
    const prefix = newPrefix();
    const expiring = new RedisSaver(client, { keyPrefix: prefix, ttlMs: 300 });
    // Same storage, no TTL. It does the listing: a read through `expiring` would give "kept" its TTL.
    const lasting = new RedisSaver(client, { keyPrefix: prefix });
    const config = await writeThread(expiring, "gone");
    await writeThread(lasting, "kept");
    expect(await threadIdsListed(lasting)).toEqual(["gone", "kept"]);

    await sleep(400);
    expect(await expiring.getTuple(config)).toBeUndefined();
    expect(await client.exists(...threadKeys(prefix, "gone"))).toBe(0);
    expect(await client.sismember(threadIndexKey(prefix), "gone")).toBe(1); // expiry does not touch the index

    expect(await threadIdsListed(lasting)).toEqual(["kept"]);
    expect(await client.smembers(threadIndexKey(prefix))).toEqual(["kept"]);

    // A pruned thread written again is indexed again.
    await writeThread(expiring, "gone");
    expect(await threadIdsListed(lasting)).toEqual(["gone", "kept"]);
  });
});
