import { Cluster } from "ioredis";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import type { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { redisSaverFactory } from "../../support/checkpointerFactory.js";
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
