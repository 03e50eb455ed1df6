import { HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { Annotation, END, MemorySaver, MessagesAnnotation, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ScriptedChatModel } from "../../../examples/research-team/ScriptedChatModel.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";

// What a replica serving a whole agent must also do: stop the agent's tools when the caller aborts,
// show the subgraph's custom events to a caller that streams without `subgraphs: true`, and refuse
// to run a subgraph on a private checkpointer when the caller's graph keeps checkpoints.

let fabric: Fabric | undefined;
afterEach(async () => {
  await fabric?.stop();
  fabric = undefined;
});

const Topic = Annotation.Root({
  topic: Annotation<string>,
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function teamBuilder() {
  const team = new StateGraph(Topic)
    .addNode("write", (s, config: LangGraphRunnableConfig) => {
      config.writer?.({ writing: s.topic });
      return { log: [`wrote ${s.topic}`] };
    })
    .addEdge(START, "write")
    .addEdge("write", END)
    .compile();
  return new StateGraph(Topic).addNode("team", team).addEdge(START, "team").addEdge("team", END);
}

describe("an agent served as a node", () => {
  it("aborting the caller aborts the agent's tool on the replica", async () => {
    fabric = await createFabric();
    let toolStarted = false;
    let toolSawAbort = false;
    const wait = tool(
      async (_input: { seconds: number }, config: LangGraphRunnableConfig) => {
        toolStarted = true;
        await new Promise<void>((resolve) =>
          config.signal?.addEventListener("abort", () => {
            toolSawAbort = true;
            resolve();
          }),
        );
        return "waited";
      },
      { name: "wait", description: "Waits", schema: z.object({ seconds: z.number() }) },
    );
    const model = new ScriptedChatModel({
      script: () => ({ content: "Waiting.", toolCalls: [{ id: "w1", name: "wait", args: { seconds: 60 } }] }),
    });
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the issue asks for LangGraph's own prebuilt agent
    const agent = createReactAgent({ llm: model, tools: [wait] });
    const builder = new StateGraph(MessagesAnnotation).addNode("agent", agent).addEdge(START, "agent").addEdge("agent", END);
    const checkpointer = new MemorySaver();
    await fabric.serve(builder, { nodes: ["agent"], checkpointer });
    const graph = fabric.distribute(builder, { nodes: ["agent"] }).compile({ checkpointer });
    const controller = new AbortController();
    const run = graph.invoke(
      { messages: [new HumanMessage("wait")] },
      { configurable: { thread_id: "t-abort" }, signal: controller.signal },
    );
    await expect.poll(() => toolStarted).toBe(true);
    controller.abort(new Error("user gave up"));
    await expect(run).rejects.toThrow();
    await expect.poll(() => toolSawAbort).toBe(true);
  });

  it("shows the subgraph's custom events to a caller that streams without subgraphs: true, as locally", async () => {
    fabric = await createFabric();
    const checkpointer = new MemorySaver();
    await fabric.serve(teamBuilder(), { nodes: ["team"], checkpointer });
    const stream = async (graph: { stream(i: unknown, c: object): Promise<AsyncIterable<unknown>> }) => {
      const chunks: unknown[] = [];
      for await (const c of await graph.stream(
        { topic: "rates" },
        { configurable: { thread_id: "t-custom" }, streamMode: ["custom", "updates"] },
      ))
        chunks.push(c);
      return chunks;
    };
    const local = await stream(teamBuilder().compile({ checkpointer: new MemorySaver() }));
    const remote = await stream(fabric.distribute(teamBuilder(), { nodes: ["team"] }).compile({ checkpointer }));
    expect(local).toContainEqual(["custom", { writing: "rates" }]);
    expect(remote).toEqual(local);
  });

  it("a subgraph served without a checkpointer fails the call with a ConfigurationError naming the option", async () => {
    fabric = await createFabric();
    await fabric.serve(teamBuilder(), { nodes: ["team"] });
    const graph = fabric.distribute(teamBuilder(), { nodes: ["team"] }).compile({ checkpointer: new MemorySaver() });
    const error = await graph.invoke({ topic: "rates" }, { configurable: { thread_id: "t-none" } }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/compiled subgraph served without a checkpointer/);
    expect((error as Error).name).toBe("ConfigurationError");
    // Without a checkpointer on the caller's side there is nothing to share, and the call runs.
    const plain = fabric.distribute(teamBuilder(), { nodes: ["team"] }).compile();
    await expect(plain.invoke({ topic: "rates" })).resolves.toEqual({ topic: "rates", log: ["wrote rates"] });
  });
});
