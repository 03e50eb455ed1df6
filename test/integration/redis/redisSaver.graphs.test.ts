import { Annotation, Command, END, MemorySaver, Send, START, StateGraph, interrupt, type BaseCheckpointSaver } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { redisSaverFactory } from "../../support/checkpointerFactory.js";
import { redisUrl } from "../../support/services.js";

// Real LangGraph graphs compiled once with MemorySaver and once with RedisSaver must agree on every
// observable: results, state history, interrupts and resumes, subgraph state, time travel.

const client = new Redis(redisUrl());
const factory = redisSaverFactory(client);
const savers: RedisSaver[] = [];
afterAll(async () => {
  await Promise.all(savers.map((s) => factory.destroy(s)));
  await client.quit();
});

function bothSavers(): [string, () => BaseCheckpointSaver][] {
  return [
    ["MemorySaver", () => new MemorySaver()],
    [
      "RedisSaver",
      () => {
        const s = factory.create();
        savers.push(s);
        return s;
      },
    ],
  ];
}

const Fan = Annotation.Root({
  items: Annotation<string[]>,
  results: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function fanOutGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(Fan)
    .addNode("work", (s: { item: string }) => ({ results: [s.item.toUpperCase()] }))
    .addNode("collect", (s) => ({ results: [`n=${s.results.length}`] }))
    .addConditionalEdges(START, (s) => s.items.map((item) => new Send("work", { item })))
    .addEdge("work", "collect")
    .addEdge("collect", END)
    .compile({ checkpointer });
}

const Approve = Annotation.Root({
  request: Annotation<string>,
  approved: Annotation<boolean | undefined>,
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function interruptGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(Approve)
    .addNode("prepare", (s) => ({ log: [`prepared ${s.request}`] }))
    .addNode("ask", () => {
      const answer = interrupt<{ question: string }, { ok: boolean }>({ question: "approve?" });
      return { approved: answer.ok, log: ["asked"] };
    })
    .addNode("finish", (s) => new Command({ update: { log: [s.approved ? "done" : "rejected"] }, goto: END }), { ends: [END] })
    .addEdge(START, "prepare")
    .addEdge("prepare", "ask")
    .addEdge("ask", "finish")
    .compile({ checkpointer });
}

const Counter = Annotation.Root({
  value: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  trail: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function subgraphGraph(checkpointer: BaseCheckpointSaver) {
  const child = new StateGraph(Counter)
    .addNode("double", (s) => ({ value: s.value, trail: ["child.double"] }))
    .addNode("pause", () => {
      const extra = interrupt<string, number>("how much more?");
      return { value: extra, trail: ["child.pause"] };
    })
    .addEdge(START, "double")
    .addEdge("double", "pause")
    .compile();
  return new StateGraph(Counter)
    .addNode("start", () => ({ value: 1, trail: ["start"] }))
    .addNode("child", child)
    .addNode("end", () => ({ trail: ["end"] }))
    .addEdge(START, "start")
    .addEdge("start", "child")
    .addEdge("child", "end")
    .compile({ checkpointer });
}

/** Interrupt ids hash the task's namespace, which holds a time-based checkpoint id: drop them. */
function withoutInterruptIds<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v: unknown) => (k === "id" ? undefined : v))) as T;
}

/** Drops fields that differ by nature between runs (ids, timestamps). */
function shape(snapshot: {
  values: unknown;
  next: readonly string[];
  metadata?: unknown;
  tasks: readonly { name: string; interrupts: readonly { value?: unknown }[] }[];
}) {
  const md = snapshot.metadata as { step?: number; source?: string } | undefined;
  return {
    values: snapshot.values,
    next: [...snapshot.next],
    step: md?.step,
    source: md?.source,
    tasks: snapshot.tasks.map((t) => ({ name: t.name, interrupts: t.interrupts.map((i) => i.value) })),
  };
}

describe("RedisSaver runs real graphs like MemorySaver", () => {
  it("Send fan-out: same result and same history", async () => {
    const outcomes = [];
    for (const [, make] of bothSavers()) {
      const graph = fanOutGraph(make());
      const config = { configurable: { thread_id: "fan" } };
      const result = await graph.invoke({ items: ["a", "b", "c"] }, config);
      const history = [];
      for await (const snap of graph.getStateHistory(config)) history.push(shape(snap));
      outcomes.push({ result, history });
    }
    expect(outcomes[0]!.result.results).toEqual(["A", "B", "C", "n=3"]);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it("interrupt and resume, with a Command from the last node", async () => {
    const outcomes = [];
    for (const [, make] of bothSavers()) {
      const graph = interruptGraph(make());
      const config = { configurable: { thread_id: "approve" } };
      const first = withoutInterruptIds(await graph.invoke({ request: "buy 10 AAPL" }, config));
      const paused = shape(await graph.getState(config));
      const resumed = await graph.invoke(new Command({ resume: { ok: true } }), config);
      outcomes.push({ first, paused, resumed, final: shape(await graph.getState(config)) });
    }
    expect(outcomes[0]!.paused.tasks).toEqual([{ name: "ask", interrupts: [{ question: "approve?" }] }]);
    expect(outcomes[0]!.resumed.log).toEqual(["prepared buy 10 AAPL", "asked", "done"]);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it("a subgraph that interrupts keeps its own checkpoint namespace and resumes", async () => {
    const outcomes = [];
    for (const [, make] of bothSavers()) {
      const saver = make();
      const graph = subgraphGraph(saver);
      const config = { configurable: { thread_id: "sub" } };
      await graph.invoke({ value: 0 }, config);
      const paused = await graph.getState(config, { subgraphs: true });
      const childState = paused.tasks[0]?.state as { values: unknown } | undefined;
      const resumed = await graph.invoke(new Command({ resume: 10 }), config);
      const namespaces = new Set<string>();
      for await (const t of saver.list({ configurable: { thread_id: "sub" } }))
        namespaces.add(t.config.configurable?.checkpoint_ns as string);
      outcomes.push({ parent: shape(paused), child: childState?.values, resumed, namespaceCount: namespaces.size });
    }
    // The child's whole state flows back through the parent's reducers: 1 + (1 + 1 + 10) = 13.
    expect(outcomes[0]!.resumed).toEqual({ value: 13, trail: ["start", "start", "child.double", "child.pause", "end"] });
    expect(outcomes[0]!.namespaceCount).toBeGreaterThan(1);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it("time travel: replaying and forking from an old checkpoint", async () => {
    const outcomes = [];
    for (const [, make] of bothSavers()) {
      const graph = fanOutGraph(make());
      const config = { configurable: { thread_id: "travel" } };
      await graph.invoke({ items: ["x", "y"] }, config);
      const history = [];
      for await (const snap of graph.getStateHistory(config)) history.push(snap);
      // The checkpoint right before "work" ran: re-run from there, and fork it with new input.
      const beforeWork = history.find((s) => s.next.includes("work"))!;
      const replayed = await graph.invoke(null, beforeWork.config);
      const forkConfig = await graph.updateState(beforeWork.config, { results: ["forked"] });
      const forked = await graph.invoke(null, forkConfig);
      let count = 0;
      for await (const _ of graph.getStateHistory(config)) count += 1;
      outcomes.push({ replayed, forked, count });
    }
    expect(outcomes[0]!.replayed.results).toEqual(["X", "Y", "n=2"]);
    expect(outcomes[0]!.forked.results).toContain("forked");
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});
