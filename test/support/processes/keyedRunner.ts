/**
 * A graph process for runner-crash tests: runs the keyed effect graph distributed, with a Redis
 * checkpointer and LangGraph's default durability ("async"), on THREADS threads at once.
 *
 * - `MODE=run`: starts every thread (`invoke(input)`), printing "started" first.
 * - `MODE=resume`: picks every thread up as an operator would after a crash: a thread with no
 *   checkpoint is started again with its input, one stopped mid-run (its latest checkpoint still
 *   has tasks, even ones whose writes are saved: `next` leaves those out) is resumed
 *   (`invoke(null)`), a finished one is left alone; prints "resumed <json of thread → log>".
 *
 * CHECKPOINT_PUT_DELAY_MS (default 0) delays each checkpoint put by that long before it is sent, as
 * a busy or distant Redis does: it widens the window in which LangGraph has started a step's tasks
 * and that step's checkpoint is not stored yet, which is what a runner crash must not turn into a
 * second effect.
 */
import { createFabricFromEnv } from "../../../adapters/kafka/createFabricFromEnv.js";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { keyedBuilder } from "./keyedEffectGraph.js";

const env = process.env;
const threads = Array.from({ length: Number(env.THREADS ?? 30) }, (_, i) => `thread-${i}`);
const delayMs = Number(env.CHECKPOINT_PUT_DELAY_MS ?? 0);
const fabric = await createFabricFromEnv({ healthCheckTimeoutMs: 15_000 }); // a loaded test machine answers slowly
const saver = await RedisSaver.fromUrl(env.REDIS_URL ?? "redis://127.0.0.1:6379", { keyPrefix: `${env.FABRIC_PREFIX ?? "lgf-test"}:cp` });
const put = saver.put.bind(saver);
saver.put = async (...args) => {
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  return put(...args);
};
const graph = fabric.distribute(keyedBuilder, { nodes: ["a", "b", "c"] }).compile({ checkpointer: saver });

if (env.MODE === "resume") {
  const logs: Record<string, string[]> = {};
  await Promise.all(
    threads.map(async (thread) => {
      const config = { configurable: { thread_id: thread } };
      const state = await graph.getState(config);
      const result =
        state.createdAt === undefined
          ? await graph.invoke({ log: [] }, config)
          : state.tasks.length > 0
            ? await graph.invoke(null, config)
            : state.values;
      logs[thread] = (result as { log: string[] }).log;
    }),
  );
  process.stdout.write(`resumed ${JSON.stringify(logs)}\n`);
} else {
  process.stdout.write("started\n");
  await Promise.all(threads.map((thread) => graph.invoke({ log: [] }, { configurable: { thread_id: thread } })));
  process.stdout.write("finished\n");
}
await fabric.stop();
await saver.end();
process.exit(0);
