/**
 * A runner process of the chaos suite: runs the chaos graph with `act` distributed, from a fabric
 * and a checkpointer built from its environment (`createFabricFromEnv`, `RedisSaver.fromEnv`:
 * KAFKA_BROKERS, REDIS_SENTINELS + REDIS_SENTINEL_NAME, FABRIC_PREFIX, security settings), with
 * the default settings (`durability` included). It drives the threads of the plan the orchestrator
 * sends, at most `inFlight` at once, each not before its planned time, and reports every start
 * and end (see `chaosMessages.ts`). The suite SIGKILLs it mid-load and starts another with
 * `resume: true`.
 */
import { createFabricFromEnv } from "../../adapters/kafka/createFabricFromEnv.js";
import { RedisSaver } from "../../adapters/redis/RedisSaver.js";
import { createConsoleLogger } from "../../src/observability/logger.js";
import { ACT, builder, closeChaosGraph, expectedActed, type ChaosValues } from "./chaosGraph.js";
import type { InvocationMode, RunnerEvent, RunnerPlan, ThreadPlan } from "./chaosMessages.js";

const logger = createConsoleLogger({ name: `chaos-runner-${process.pid}`, level: "warn" });
const send = (event: RunnerEvent): void => {
  process.send?.(event);
};
const prefix = process.env.FABRIC_PREFIX ?? "chaos";
const fabric = await createFabricFromEnv({ logger });
const checkpointer = await RedisSaver.fromEnv({ keyPrefix: `${prefix}-cp`, logger });
const graph = fabric.distribute(builder, { nodes: [ACT] }).compile({ checkpointer });

const messageOf = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

async function drive(thread: ThreadPlan, resume: boolean): Promise<void> {
  const wait = thread.at - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const config = { configurable: { thread_id: thread.id } };
  let mode: InvocationMode = "fresh";
  if (resume && (await checkpointer.getTuple(config)) !== undefined) {
    const snapshot = await graph.getState(config);
    if ((snapshot.values as Partial<ChaosValues>).done === true && snapshot.next.length === 0) {
      send({ type: "complete", thread: thread.id, at: Date.now() });
      return;
    }
    mode = "resume";
  }
  const t0 = Date.now();
  send({ type: "start", thread: thread.id, at: t0, mode });
  try {
    const result = await graph.invoke(mode === "resume" ? null : { n: thread.n }, config);
    const end = Date.now();
    const right = result.done && result.acted === expectedActed(thread.n);
    send({
      type: "end",
      thread: thread.id,
      at: end,
      ms: end - t0,
      mode,
      ok: right,
      ...(right ? {} : { error: `wrong result ${JSON.stringify(result)}` }),
    });
  } catch (e) {
    const end = Date.now();
    send({ type: "end", thread: thread.id, at: end, ms: end - t0, mode, ok: false, error: messageOf(e) });
  }
}

async function run(plan: RunnerPlan): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(plan.inFlight, plan.threads.length) }, async () => {
      while (next < plan.threads.length) {
        const thread = plan.threads[next]!;
        next += 1;
        // A failed state read counts as a failed invocation of that thread; the loop goes on.
        await drive(thread, plan.resume).catch((e: unknown) => {
          send({ type: "end", thread: thread.id, at: Date.now(), ms: 0, mode: "resume", ok: false, error: messageOf(e) });
        });
      }
    }),
  );
  send({ type: "finished" });
}

const stop = (): void => {
  void fabric
    .stop()
    .then(() => Promise.all([checkpointer.end(), closeChaosGraph()]))
    .finally(() => process.exit(0));
};
process.on("message", (m: RunnerPlan | { type: "stop" }) => {
  if (m.type === "plan") void run(m);
  else stop();
});
process.on("SIGTERM", stop);
process.on("disconnect", stop);
send({ type: "ready", pid: process.pid });
