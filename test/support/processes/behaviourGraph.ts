/**
 * A graph module for the failover tests, imported by the test process (the caller) and by the
 * worker processes it spawns (the replicas), as users share one graph module. Its one node,
 * `work`, behaves as Redis says for the process it runs in, so a test can make one replica fail,
 * turn slow or recover without restarting it:
 *
 * - `<prefix>:mode:<pid>`: `ok` (or absent) answers after `BEHAVIOUR_OK_MS`; `slow` after
 *   `BEHAVIOUR_SLOW_MS`; `fail` throws an ordinary (retryable) error, which the caller's breaker
 *   counts against the replica.
 * - `<prefix>:calls` (hash, field = pid): every call the replica ran, failed ones included, so a
 *   test sees where traffic went even when the caller only saw an error.
 * - `<prefix>:running` (hash, field = pid): calls running now, so a test can kill a replica in the
 *   middle of a call.
 *
 * The mode is read on every call (one round trip): a test that flips it sees the next call behave.
 *
 * Environment: REDIS_URL, BEHAVIOUR_PREFIX, BEHAVIOUR_OK_MS (default 5), BEHAVIOUR_SLOW_MS (default 200).
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { Redis } from "ioredis";

/** What a replica does with a call. */
export type BehaviourMode = "ok" | "fail" | "slow";

export const BehaviourState = Annotation.Root({
  /** A counter the node increments, so a test can check the result is the node's. */
  n: Annotation<number>,
  /** Process id of the replica that answered. */
  pid: Annotation<number>,
});

/** Redis keys of one test's behaviour switches and counters. */
export const behaviourKeys = (prefix: string) => ({
  mode: (pid: number) => `${prefix}:mode:${pid}`,
  calls: `${prefix}:calls`,
  running: `${prefix}:running`,
});

let redis: Redis | undefined;
function client(): Redis {
  redis ??= new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  return redis;
}

/** Closes this module's Redis connection (the worker's, on shutdown). */
export async function closeBehaviourGraph(): Promise<void> {
  await redis?.quit();
  redis = undefined;
}

async function work(state: typeof BehaviourState.State): Promise<Partial<typeof BehaviourState.State>> {
  const keys = behaviourKeys(process.env.BEHAVIOUR_PREFIX ?? "behaviour-test");
  const pid = process.pid;
  const field = String(pid);
  const r = client();
  const [[, mode]] = (await r.multi().get(keys.mode(pid)).hincrby(keys.calls, field, 1).hincrby(keys.running, field, 1).exec()) as [
    [Error | null, string | null],
    ...unknown[],
  ];
  try {
    if (mode === "fail") throw new Error(`replica ${pid} is failing (mode "fail")`);
    const ms = Number(mode === "slow" ? (process.env.BEHAVIOUR_SLOW_MS ?? 200) : (process.env.BEHAVIOUR_OK_MS ?? 5));
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { n: state.n + 1, pid };
  } finally {
    await r.hincrby(keys.running, field, -1);
  }
}

export const builder = new StateGraph(BehaviourState).addNode("work", work).addEdge(START, "work").addEdge("work", END);
