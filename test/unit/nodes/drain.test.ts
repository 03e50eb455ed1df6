import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { createFabric } from "../../../src/fabric.js";
import { FabricStoppedError, isFabricStoppedError } from "../../../src/errors.js";

const State = Annotation.Root({ n: Annotation<number> });

describe("Fabric#stop drains gracefully (embedded fabric)", () => {
  it("a call in flight finishes after stop(); a call started during the drain is refused with FabricStoppedError", async () => {
    const fabric = await createFabric({ drainTimeoutMs: 10_000 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    let finished = 0;
    const builder = new StateGraph(State)
      .addNode("slow", async (s) => {
        started += 1;
        await gate;
        finished += 1;
        return { n: s.n + 1 };
      })
      .addEdge(START, "slow")
      .addEdge("slow", END);
    await fabric.serve(builder, { nodes: ["slow"] });
    const graph = fabric.distribute(builder, { nodes: ["slow"] }).compile();

    const inFlight = graph.invoke({ n: 1 });
    await expect.poll(() => started).toBe(1);
    let stopped = false;
    const stopping = fabric.stop().then(() => (stopped = true));
    expect(fabric.status().state).toBe("draining");

    const refused: unknown = await graph.invoke({ n: 10 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FabricStoppedError);
    expect(isFabricStoppedError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/call to node "slow": the fabric is stopping or stopped/);
    expect(started).toBe(1); // the refused call never reached the replica

    // The drain waits for the call in flight: stop() has not finished while the node is held.
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    release();
    expect(await inFlight).toEqual({ n: 2 });
    await stopping;
    expect(finished).toBe(1);
    expect(fabric.status().state).toBe("stopped");
  });
});
