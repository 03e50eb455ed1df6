import type { RunnableConfig } from "@langchain/core/runnables";
import { Annotation, END, MemorySaver, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { Checkpoint, CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { checkpointDurabilityOf, checkpointStored, trackCheckpointDurability } from "../../../src/nodes/durableCheckpoints.js";
import { getIdempotencyKey } from "../../../src/nodes/idempotencyKey.js";

// LangGraph's default durability ("async") starts a step's tasks while the checkpoint they were
// prepared from is still being written. A slow saver makes that window wide: every remote call
// must still reach its replica only after its checkpoint is stored.

const State = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** A MemorySaver whose puts take `delayMs` and which remembers which checkpoints are stored. */
class SlowSaver extends MemorySaver {
  readonly stored = new Set<string>();
  failNext = false;
  constructor(private readonly delayMs: number) {
    super();
  }
  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata): Promise<RunnableConfig> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext) {
      this.failNext = false;
      throw new Error("disk full");
    }
    const saved = await super.put(config, checkpoint, metadata);
    this.stored.add(checkpoint.id);
    return saved;
  }
}

let fabric: Fabric | undefined;
afterEach(async () => {
  await fabric?.stop({ drainTimeoutMs: 1000 });
  fabric = undefined;
});

function effectGraph(saver: SlowSaver, seen: { node: string; checkpointId: string; stored: boolean; key: string }[]) {
  const node = (name: string) => (_s: unknown, config: LangGraphRunnableConfig) => {
    const checkpointId = String((config as { executionInfo?: { checkpointId?: string } }).executionInfo?.checkpointId);
    seen.push({ node: name, checkpointId, stored: saver.stored.has(checkpointId), key: getIdempotencyKey(config) });
    return { log: [name] };
  };
  return new StateGraph(State).addNode("a", node("a")).addNode("b", node("b")).addEdge(START, "a").addEdge("a", "b").addEdge("b", END);
}

describe("remote calls wait for their task's checkpoint", () => {
  it("with async durability and a slow saver, every remote call starts after its checkpoint is stored", async () => {
    fabric = await createFabric();
    const saver = new SlowSaver(150);
    const seen: { node: string; checkpointId: string; stored: boolean; key: string }[] = [];
    const builder = effectGraph(saver, seen);
    await fabric.serve(builder, { nodes: ["a", "b"] });
    const graph = fabric.distribute(builder, { nodes: ["a", "b"] }).compile({ checkpointer: saver });
    const result = await graph.invoke({ log: [] }, { configurable: { thread_id: "slow-saver" } });
    expect(result.log).toEqual(["a", "b"]);
    expect(seen.map((s) => [s.node, s.stored])).toEqual([
      ["a", true],
      ["b", true],
    ]);
  });

  it("the same graph run locally starts its nodes before their checkpoint is stored (the window the wait closes)", async () => {
    const saver = new SlowSaver(150);
    const seen: { node: string; checkpointId: string; stored: boolean; key: string }[] = [];
    const graph = effectGraph(saver, seen).compile({ checkpointer: saver });
    await graph.invoke({ log: [] }, { configurable: { thread_id: "local" } });
    expect(seen.map((s) => s.stored)).toEqual([false, false]);
  });

  it("checkpointStored lets a local node wait the same way, for the same key", async () => {
    const saver = trackCheckpointDurability(new SlowSaver(100));
    const seen: { stored: boolean; key: string }[] = [];
    const graph = new StateGraph(State)
      .addNode("local", async (_s, config: LangGraphRunnableConfig) => {
        await checkpointStored(config);
        const id = String((config as { executionInfo?: { checkpointId?: string } }).executionInfo?.checkpointId);
        seen.push({ stored: saver.stored.has(id), key: getIdempotencyKey(config) });
        return { log: ["local"] };
      })
      .addEdge(START, "local")
      .addEdge("local", END)
      .compile({ checkpointer: saver });
    await graph.invoke({ log: [] }, { configurable: { thread_id: "local-wait" } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.stored).toBe(true);
  });

  it("a failed put fails the call instead of sending it", async () => {
    fabric = await createFabric();
    const saver = new SlowSaver(20);
    const seen: { node: string; checkpointId: string; stored: boolean; key: string }[] = [];
    const builder = effectGraph(saver, seen);
    await fabric.serve(builder, { nodes: ["a", "b"] });
    const graph = fabric.distribute(builder, { nodes: ["a", "b"] }).compile({ checkpointer: saver });
    saver.failNext = true;
    await expect(graph.invoke({ log: [] }, { configurable: { thread_id: "failing-put" } })).rejects.toThrow("disk full");
    expect(seen).toEqual([]);
  });

  it("time travel still runs the node again, under a new key, as LangGraph does locally", async () => {
    fabric = await createFabric();
    const saver = new SlowSaver(10);
    const seen: { node: string; checkpointId: string; stored: boolean; key: string }[] = [];
    const builder = effectGraph(saver, seen);
    await fabric.serve(builder, { nodes: ["a", "b"] });
    const graph = fabric.distribute(builder, { nodes: ["a", "b"] }).compile({ checkpointer: saver });
    const config = { configurable: { thread_id: "travel" } };
    await graph.invoke({ log: [] }, config);
    const history = [];
    for await (const s of graph.getStateHistory(config)) history.push(s);
    const beforeB = history.find((s) => s.next.includes("b"))!;
    await graph.invoke(null, beforeB.config);
    const bs = seen.filter((s) => s.node === "b");
    expect(bs).toHaveLength(2);
    expect(bs[0]?.key).not.toBe(bs[1]?.key);
    expect(bs.every((s) => s.stored)).toBe(true);
  });

  it("wrapping keeps the saver's class and wraps once", () => {
    const saver = new SlowSaver(1);
    const tracked = trackCheckpointDurability(saver);
    expect(tracked).toBeInstanceOf(MemorySaver);
    expect(checkpointDurabilityOf(tracked)).toBeDefined();
    expect(checkpointDurabilityOf(saver)).toBeUndefined();
    expect(trackCheckpointDurability(tracked)).toBe(tracked);
  });
});
