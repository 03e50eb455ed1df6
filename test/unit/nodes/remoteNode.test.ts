import { Annotation, END, MemorySaver, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { createFabric, remoteNode, type Fabric } from "../../../src/fabric.js";
import { getIdempotencyKey } from "../../../src/nodes/idempotencyKey.js";
import { isFabricStoppedError, isNoReplicaError, isUnknownNodeError } from "../../../src/errors.js";

const State = Annotation.Root({
  n: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  keys: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

let fabric: Fabric | undefined;
afterEach(async () => {
  await fabric?.stop({ drainTimeoutMs: 1000 });
  fabric = undefined;
});

describe("remote nodes on the embedded fabric", () => {
  it("aborting the caller aborts the node on the replica", async () => {
    fabric = await createFabric();
    let sawAbort = false;
    const builder = new StateGraph(State)
      .addNode("slow", async (_s, config: LangGraphRunnableConfig) => {
        await new Promise<void>((resolve) => {
          config.signal?.addEventListener("abort", () => {
            sawAbort = true;
            resolve();
          });
        });
        return { n: 1 };
      })
      .addEdge(START, "slow")
      .addEdge("slow", END);
    await fabric.serve(builder, { nodes: ["slow"] });
    const graph = fabric.distribute(builder, { nodes: ["slow"] }).compile();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("user gave up")), 100);
    await expect(graph.invoke({}, { signal: controller.signal })).rejects.toThrow();
    await expect.poll(() => sawAbort).toBe(true);
  });

  it("a retried task gets the recorded result instead of running the node again", async () => {
    fabric = await createFabric();
    let runs = 0;
    const builder = new StateGraph(State)
      .addNode("effect", (_s, config: LangGraphRunnableConfig) => {
        runs += 1;
        return { n: 1, keys: [getIdempotencyKey(config)] };
      })
      .addEdge(START, "effect")
      .addEdge("effect", END);
    await fabric.serve(builder, { nodes: ["effect"] });
    const graph = fabric.distribute(builder, { nodes: ["effect"] }).compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "t-idem" } };
    const first = await graph.invoke({}, config);
    // Replay the same task: same checkpoint, same task id, so the same idempotency key.
    const history = [];
    for await (const s of graph.getStateHistory(config)) history.push(s);
    const beforeEffect = history.find((s) => s.next.includes("effect"))!;
    const fabricCall = fabric.remoteNode("effect");
    const taskConfig = {
      ...beforeEffect.config,
      configurable: { ...beforeEffect.config.configurable, checkpoint_ns: `effect:${beforeEffect.tasks[0]!.id}` },
      executionInfo: { taskId: beforeEffect.tasks[0]!.id },
    } as never;
    const replayed = await fabricCall.invoke(beforeEffect.values, taskConfig);
    expect(runs).toBe(1);
    expect(replayed).toEqual({ n: 1, keys: first.keys });
    // The same key with another input is another call: refused, never served the recorded result.
    await expect(fabricCall.invoke({ n: 99 }, taskConfig)).rejects.toThrow(/idempotency key .* another input/);
    expect(runs).toBe(1);
    expect(first.keys[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("remoteNode() wraps one node by hand, served from a map of functions", async () => {
    fabric = await createFabric();
    const f = fabric;
    await f.serve({ double: (s: { n: number }) => ({ n: s.n }) }, { nodes: ["double"] });
    const graph = new StateGraph(State)
      .addNode("double", remoteNode("double", { fabric: Promise.resolve(f) }))
      .addEdge(START, "double")
      .addEdge("double", END)
      .compile();
    expect((await graph.invoke({ n: 21 })).n).toBe(42);
  });

  it("fails with clear, typed errors: unknown node, no replica, stopped fabric", async () => {
    fabric = await createFabric({ replicaWaitMs: 100 });
    const builder = new StateGraph(State)
      .addNode("a", () => ({ n: 1 }))
      .addEdge(START, "a")
      .addEdge("a", END);
    expect(() => fabric!.distribute(builder, { nodes: ["nope"] })).toThrow(/unknown node "nope"/);
    try {
      fabric.distribute(builder, { nodes: ["nope"] });
    } catch (e) {
      expect(isUnknownNodeError(e)).toBe(true);
    }
    const graph = fabric.distribute(builder, { nodes: ["a"] }).compile();
    const noReplica = await graph.invoke({}).catch((e: unknown) => e);
    expect(isNoReplicaError(noReplica)).toBe(true);
    await fabric.stop();
    expect(() => fabric!.distribute(builder, { nodes: ["a"] })).toThrow();
    const stopped = await graph.invoke({}).catch((e: unknown) => e);
    expect(isFabricStoppedError(stopped)).toBe(true);
  });
});
