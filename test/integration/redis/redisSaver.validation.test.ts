import { Redis } from "ioredis";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import type { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { redisSaverFactory } from "../../support/checkpointerFactory.js";
import { redisUrl } from "../../support/services.js";

// LangGraph's own checkpointer conformance suite, in full, against standalone Redis.
const client = new Redis(redisUrl());
const factory = redisSaverFactory(client);

const initializer = {
  checkpointerName: "RedisSaver (standalone)",
  createCheckpointer: (): RedisSaver => factory.create(),
  destroyCheckpointer: (saver: RedisSaver) => factory.destroy(saver),
  afterAll: async () => {
    await client.quit();
  },
};

validate(initializer);
deltaChannelHistoryTests(initializer);
