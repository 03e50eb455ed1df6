/**
 * A graph module imported both by test processes and by the child processes they spawn (workers,
 * runners): three nodes in a row, each making one external effect (a Redis counter) idempotent
 * with its idempotency key, as the docs tell node authors to. Every execution is counted too, so a
 * test can tell "ran again" (allowed after a crash) from "effect happened again" (never allowed).
 *
 * Environment: REDIS_URL, EFFECT_PREFIX (key prefix of this test), EFFECT_SLOW_NODE and
 * EFFECT_SLOW_MS (one node sleeps that long after its effect, so a test can kill its process).
 */
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { getIdempotencyKey } from "../../../src/nodes/idempotencyKey.js";

export const EffectState = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

let redis: Redis | undefined;
function client(): Redis {
  redis ??= new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  return redis;
}

/** Closes this module's Redis connection (for test processes that import it). */
export async function closeEffectGraph(): Promise<void> {
  await redis?.quit();
  redis = undefined;
}

/** Redis keys of a test's counters. */
export const effectKeys = (prefix: string, node: string) => ({
  runs: `${prefix}:runs:${node}`,
  effects: `${prefix}:effects:${node}`,
  runningPid: `${prefix}:pid:${node}`,
});

function effectNode(name: string) {
  return async (_state: unknown, config: LangGraphRunnableConfig) => {
    const prefix = process.env.EFFECT_PREFIX ?? "effect-test";
    const keys = effectKeys(prefix, name);
    const r = client();
    await r.incr(keys.runs);
    await r.set(keys.runningPid, String(process.pid));
    // The external effect, made idempotent with the call's key: a re-run after a crash skips it.
    if ((await r.set(`${prefix}:done:${getIdempotencyKey(config)}`, "1", "EX", 3600, "NX")) === "OK") await r.incr(keys.effects);
    if (process.env.EFFECT_SLOW_NODE === name) {
      const ms = Number(process.env.EFFECT_SLOW_MS ?? 3000);
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    return { log: [name] };
  };
}

export const builder = new StateGraph(EffectState)
  .addNode("a", effectNode("a"))
  .addNode("b", effectNode("b"))
  .addNode("c", effectNode("c"))
  .addEdge(START, "a")
  .addEdge("a", "b")
  .addEdge("b", "c")
  .addEdge("c", END);
