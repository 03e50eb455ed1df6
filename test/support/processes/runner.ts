/**
 * A graph process for crash tests: runs the effect graph distributed (every node remote) with a
 * Redis checkpointer on thread THREAD_ID, printing "result <json>" when done.
 */
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { builder } from "./effectGraph.js";
import { fabricFromEnv } from "./fabricFromEnv.js";

const fabric = await fabricFromEnv();
const checkpointer = await RedisSaver.fromUrl(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
  keyPrefix: `${process.env.FABRIC_KEY_PREFIX ?? "lgf-test"}:cp`,
});
const graph = fabric.distribute(builder, { nodes: ["a", "b", "c"] }).compile({ checkpointer });
process.stdout.write("started\n");
const result = await graph.invoke({ log: [] }, { configurable: { thread_id: process.env.THREAD_ID ?? "crash" } });
process.stdout.write(`result ${JSON.stringify(result)}\n`);
await fabric.stop();
await checkpointer.end();
process.exit(0);
