import { RunnableLambda } from "@langchain/core/runnables";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { distributeBuilder } from "../../../src/nodes/distribute.js";

const State = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
const Extra = Annotation.Root({ extra: Annotation<string> });

const base = () =>
  new StateGraph(State)
    .addNode("a", () => ({ log: ["a"] }))
    .addNode("b", () => ({ log: ["b"] }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", END);

/** What a builder is made of, as plain data (the collections distribute must not share). */
function shape(builder: object) {
  const b = builder as {
    nodes: Record<string, unknown>;
    edges: Set<[string, string]>;
    branches: Record<string, Record<string, unknown>>;
    waitingEdges: Set<[string[], string]>;
    channels: Record<string, unknown>;
    _schemaDefinitions: Map<unknown, unknown>;
    _nodeDefaults: Record<string, unknown>;
  };
  return {
    nodes: Object.keys(b.nodes).sort(),
    edges: [...b.edges].map((e) => e.join("->")).sort(),
    branches: Object.fromEntries(Object.entries(b.branches).map(([k, v]) => [k, Object.keys(v).sort()])),
    waitingEdges: [...b.waitingEdges].map(([s, e]) => `${s.join("+")}->${e}`).sort(),
    channels: Object.keys(b.channels).sort(),
    schemas: b._schemaDefinitions.size,
    nodeDefaults: Object.keys(b._nodeDefaults).sort(),
  };
}

const remote = (name: string) => RunnableLambda.from(() => ({ log: [`remote ${name}`] }));

describe("distributeBuilder", () => {
  it("edits of the distributed builder do not reach the original builder", async () => {
    const original = base();
    const before = shape(original);
    const copy = distributeBuilder(original, ["a"], remote);

    copy
      .addNode("c", () => ({ log: ["c"] }), { input: Extra })
      .addNode("d", () => ({ log: ["d"] }))
      .addEdge("b", "c")
      .addEdge(["a", "c"], "d")
      .addConditionalEdges("c", () => END)
      .setNodeDefaults({ retryPolicy: { maxAttempts: 2 } });
    const after = shape(copy);
    expect(after.nodes).toEqual(["a", "b", "c", "d"]);
    expect(after.edges).toContain("b->c");
    expect(after.waitingEdges).toEqual(["a+c->d"]);
    expect(after.branches.c).toHaveLength(1);
    expect(after.channels).toContain("extra");

    expect(shape(original)).toEqual(before);
    // The original still compiles to the graph it was, with its own node a.
    expect(await original.compile().invoke({})).toEqual({ log: ["a", "b"] });
  });

  it("edits of the original builder after distribute do not reach the distributed one", async () => {
    const original = base();
    const copy = distributeBuilder(original, ["a"], remote);
    const before = shape(copy);
    original
      .addNode("late", () => ({ log: ["late"] }))
      .addEdge("b", "late")
      .addConditionalEdges("a", () => "b");
    expect(shape(copy)).toEqual(before);
    expect(await copy.compile().invoke({})).toEqual({ log: ["remote a", "b"] });
  });
});
