import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { startRedisServer, type RedisServerHandle } from "../../support/redisServers.js";

// A private Redis with AOF fsync on every write (the shared one keeps nothing on disk), restarted
// or killed while a graph is running.
let server: RedisServerHandle;
let saver: RedisSaver;

beforeAll(async () => {
  server = await startRedisServer({ args: ["--appendonly", "yes", "--appendfsync", "always"] });
  saver = await RedisSaver.fromUrl(server.url);
});
afterAll(async () => {
  await saver.end();
  await server.stop();
});

const State = Annotation.Root({
  trail: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** A 5-node chain; `hook` runs inside node n2 and may restart or kill Redis. */
function chain(calls: Map<string, number>, hook: (attempt: number) => Promise<void>) {
  const builder = new StateGraph(State);
  const names = ["n0", "n1", "n2", "n3", "n4"] as const;
  for (const name of names) {
    builder.addNode(name, async () => {
      const attempt = (calls.get(name) ?? 0) + 1;
      calls.set(name, attempt);
      if (name === "n2") await hook(attempt);
      return { trail: [name] };
    });
  }
  const b = builder as unknown as StateGraph<typeof State.spec, typeof State.State, typeof State.Update, (typeof names)[number]>;
  b.addEdge(START, "n0").addEdge("n0", "n1").addEdge("n1", "n2").addEdge("n2", "n3").addEdge("n3", "n4").addEdge("n4", END);
  return b.compile({ checkpointer: saver });
}

describe("RedisSaver when Redis restarts mid-run", () => {
  it("reconnects and the run completes with its full history", async () => {
    const calls = new Map<string, number>();
    const graph = chain(calls, () => server.restart());
    const config = { configurable: { thread_id: "restart-graceful" } };
    const result = await graph.invoke({ trail: [] }, config);
    expect(result.trail).toEqual(["n0", "n1", "n2", "n3", "n4"]);
    let steps = 0;
    for await (const _ of graph.getStateHistory(config)) steps += 1;
    expect(steps).toBe(7); // input, n0 … n4, and the final checkpoint
  });

  it("after a crash, resumes from the last checkpoint without re-running finished nodes", async () => {
    const calls = new Map<string, number>();
    const graph = chain(calls, async (attempt) => {
      if (attempt > 1) return;
      // Crash Redis (SIGKILL: nothing flushed beyond the AOF), bring it back shortly after,
      // and fail this node, as a process that lost its state store would.
      await server.kill();
      setTimeout(() => void server.restart(), 200);
      throw new Error("lost Redis in the middle of n2");
    });
    const config = { configurable: { thread_id: "restart-crash" } };
    await expect(graph.invoke({ trail: [] }, config)).rejects.toThrow("lost Redis in the middle of n2");
    const state = await graph.getState(config);
    expect(state.next).toEqual(["n2"]);
    const result = await graph.invoke(null, config);
    expect(result.trail).toEqual(["n0", "n1", "n2", "n3", "n4"]);
    expect(Object.fromEntries(calls)).toEqual({ n0: 1, n1: 1, n2: 2, n3: 1, n4: 1 });
  });
});
