/**
 * The graph of the chaos suite, imported by the runner processes (which distribute `act`), the
 * worker processes (which serve it) and the orchestrator (which reads final states):
 * START → plan (local) → act (remote) → record (local) → END.
 *
 * `act` is the node with an external effect. It records every execution in the effect ledger, a
 * Redis of its own that no fault touches (`CHAOS_LEDGER_URL`), by its idempotency key:
 * `INCR <p>:effect:<key>` and `SADD <p>:thread:<thread>:keys <key>`. Deliberately NOT made
 * idempotent: the ledger must see every run, so the suite can count an effect run twice under one
 * key (a redelivery after a worker died mid-call) apart from one run under two keys (a key that did
 * not survive a crash). It then sleeps `CHAOS_NODE_MS` ± half, so calls are in flight when a fault
 * strikes.
 *
 * Environment: CHAOS_LEDGER_URL, CHAOS_LEDGER_PREFIX, CHAOS_NODE_MS (default 100).
 */
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { getIdempotencyKey } from "../../src/nodes/idempotencyKey.js";

/** The distributed node. */
export const ACT = "act";

export const ChaosState = Annotation.Root({
  /** The thread's number, the input. */
  n: Annotation<number>,
  /** n + 1 once `plan` ran. */
  planned: Annotation<number>,
  /** planned × 2 once `act` ran: a wrong value would show a mixed-up reply. */
  acted: Annotation<number>,
  /** True once `record` ran: the thread completed. */
  done: Annotation<boolean>,
});

export type ChaosValues = typeof ChaosState.State;

/** Keys of the effect ledger under `prefix`. */
export const ledgerKeys = (prefix: string) => ({
  effect: (key: string) => `${prefix}:effect:${key}`,
  threadKeys: (thread: string) => `${prefix}:thread:${thread}:keys`,
});

/** The value `acted` must have for input `n`. */
export const expectedActed = (n: number): number => (n + 1) * 2;

let ledger: Redis | undefined;
function ledgerClient(): Redis {
  ledger ??= new Redis(process.env.CHAOS_LEDGER_URL ?? "redis://127.0.0.1:26399", { maxRetriesPerRequest: null });
  return ledger;
}

/** Closes this module's ledger connection. */
export async function closeChaosGraph(): Promise<void> {
  await ledger?.quit();
  ledger = undefined;
}

async function act(state: ChaosValues, config: LangGraphRunnableConfig): Promise<Partial<ChaosValues>> {
  const keys = ledgerKeys(process.env.CHAOS_LEDGER_PREFIX ?? "chaos");
  const key = getIdempotencyKey(config);
  const thread = String(config.configurable?.thread_id);
  await ledgerClient().multi().incr(keys.effect(key)).sadd(keys.threadKeys(thread), key).exec();
  const ms = Number(process.env.CHAOS_NODE_MS ?? 100);
  await new Promise((resolve) => setTimeout(resolve, ms * (0.5 + Math.random())));
  return { acted: state.planned * 2 };
}

export const builder = new StateGraph(ChaosState)
  .addNode("plan", (s: ChaosValues) => ({ planned: s.n + 1 }))
  .addNode(ACT, act)
  .addNode("record", () => ({ done: true }))
  .addEdge(START, "plan")
  .addEdge("plan", ACT)
  .addEdge(ACT, "record")
  .addEdge("record", END);
