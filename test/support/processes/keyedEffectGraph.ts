/**
 * A graph module for runner-crash tests with many threads: three nodes in a row, each making one
 * external effect per thread idempotent with its idempotency key (`SET NX`), and recording every
 * key it ran under, per thread and node. A test then tells "ran again under the same key"
 * (allowed after a crash) from "ran under a second key" (the effect happened twice).
 *
 * Environment: REDIS_URL, EFFECT_PREFIX (key prefix of this test), KEYED_SLOW_MS (each node sleeps
 * that long after its effect, default 0, so a test can kill a worker with calls in flight).
 */
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { getIdempotencyKey } from "../../../src/nodes/idempotencyKey.js";

export const KeyedState = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

let redis: Redis | undefined;
function client(): Redis {
  redis ??= new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  return redis;
}

/** Closes this module's Redis connection (for processes that import it). */
export async function closeKeyedEffectGraph(): Promise<void> {
  await redis?.quit();
  redis = undefined;
}

/** Redis keys of one thread's node: the keys it ran under (a set) and how often its effect happened. */
export const keyedEffectKeys = (prefix: string, thread: string, node: string) => ({
  keys: `${prefix}:keys:${thread}:${node}`,
  effects: `${prefix}:effects:${thread}:${node}`,
  /** Effects of every thread and node, so a test can wait for the load to be under way. */
  total: `${prefix}:effects-total`,
  /** The pid of the process that last started the node for the thread. */
  pid: `${prefix}:pid:${thread}:${node}`,
});

/** SET NX the key's guard; only when it was absent, count the effect. */
const EFFECT_ONCE = `
if redis.call("SET", KEYS[1], "1", "EX", 3600, "NX") then
  redis.call("INCR", KEYS[2])
  redis.call("INCR", KEYS[3])
end
return 1`;

function keyedNode(name: string) {
  return async (_state: unknown, config: LangGraphRunnableConfig) => {
    const prefix = process.env.EFFECT_PREFIX ?? "keyed-effect";
    const thread = String(config.configurable?.thread_id);
    const keys = keyedEffectKeys(prefix, thread, name);
    const key = getIdempotencyKey(config);
    const r = client();
    await r.sadd(keys.keys, key);
    await r.set(keys.pid, String(process.pid), "EX", 3600);
    // The external effect, made idempotent with the call's key, as the docs tell node authors to;
    // one script, so a process killed mid-effect leaves either all of it or none.
    await r.eval(EFFECT_ONCE, 3, `${prefix}:done:${key}`, keys.effects, keys.total);
    const slowMs = Number(process.env.KEYED_SLOW_MS ?? 0);
    if (slowMs > 0) await new Promise((resolve) => setTimeout(resolve, slowMs));
    return { log: [name] };
  };
}

export const keyedBuilder = new StateGraph(KeyedState)
  .addNode("a", keyedNode("a"))
  .addNode("b", keyedNode("b"))
  .addNode("c", keyedNode("c"))
  .addEdge(START, "a")
  .addEdge("a", "b")
  .addEdge("b", "c")
  .addEdge("c", END);
