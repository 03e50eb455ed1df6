import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import { describe, expect, it } from "vitest";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { threadIndexKey, threadKeys } from "../../../adapters/redis/checkpointKeys.js";
import { deleteByPrefix, redisSaverFactory } from "../../support/checkpointerFactory.js";
import { startRedisCluster, type RedisClusterHandle } from "../../support/redisServers.js";

// The same conformance suite against a real 3-master Redis Cluster started on loopback ports: every
// script touches the keys of one thread only, and those share a hash tag, so nothing crosses slots.
let cluster: RedisClusterHandle | undefined;
let client: Cluster | undefined;
let factory: ReturnType<typeof redisSaverFactory> | undefined;

const initializer = {
  checkpointerName: "RedisSaver (cluster)",
  beforeAllTimeout: 60_000,
  beforeAll: async () => {
    cluster = await startRedisCluster({ masters: 3 });
    client = new Cluster(cluster.nodes);
    factory = redisSaverFactory(client);
  },
  afterAll: async () => {
    await client?.quit();
    await cluster?.stop();
  },
  createCheckpointer: (): RedisSaver => factory!.create(),
  destroyCheckpointer: (saver: RedisSaver) => factory!.destroy(saver),
};

validate(initializer);
deltaChannelHistoryTests(initializer);

// The cluster above is started by the suite's file-level beforeAll and stopped by its afterAll, so
// it serves these cases too.
describe("RedisSaver from { cluster } seed nodes", () => {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const put = (saver: RedisSaver, threadId: string) =>
    saver.put(
      { configurable: { thread_id: threadId, checkpoint_ns: "" } },
      { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { v: threadId }, channel_versions: { v: 1 } },
      { source: "loop", step: 0, parents: {} },
      { v: 1 },
    );
  const listedThreads = async (saver: RedisSaver): Promise<string[]> => {
    const ids: string[] = [];
    for await (const tuple of saver.list({})) ids.push(String(tuple.config.configurable?.thread_id));
    return ids.sort();
  };

  it("owns its Cluster client: put, getTuple, list across slots, deleteThread, pruning of expired threads, end()", async () => {
    const keyPrefix = `lgf-test:${randomUUID()}`;
    const lasting = new RedisSaver({ cluster: cluster!.nodes }, { keyPrefix });
    const expiring = new RedisSaver({ cluster: cluster!.nodes }, { keyPrefix, ttlMs: 300 });
    try {
      await Promise.all([lasting.setup(), expiring.setup()]);
      expect(lasting.client).toBeInstanceOf(Cluster);
      // Enough threads that their hash tags land on every master.
      const threads = Array.from({ length: 12 }, (_, i) => `thread-${i}`);
      const configs = await Promise.all(threads.map((t) => put(lasting, t)));
      const tuples = await Promise.all(configs.map((c) => lasting.getTuple(c)));
      expect(tuples.map((t) => t?.checkpoint.channel_values.v)).toEqual(threads);
      expect(await listedThreads(lasting)).toEqual([...threads].sort());
      await lasting.deleteThread("thread-0");
      expect(await listedThreads(lasting)).toEqual(threads.slice(1).sort());

      // On Cluster the thread index lives in another slot, so pruning is not one script.
      await put(expiring, "gone");
      await sleep(400);
      expect(await lasting.client.exists(...threadKeys(keyPrefix, "gone"))).toBe(0);
      expect(await listedThreads(lasting)).toEqual(threads.slice(1).sort());
      expect(await lasting.client.sismember(threadIndexKey(keyPrefix), "gone")).toBe(0);
      await put(expiring, "gone"); // written again after the prune: indexed again
      expect(await listedThreads(lasting)).toEqual(["gone", ...threads.slice(1)].sort());
    } finally {
      await deleteByPrefix(client!, keyPrefix);
      await Promise.all([lasting.end(), expiring.end()]);
    }
    expect(lasting.client.status).toBe("end");
    expect(await client!.ping()).toBe("PONG"); // the suite's own client is untouched
  });
});
