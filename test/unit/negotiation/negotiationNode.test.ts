// negotiationNode in real compiled LangGraph graphs (MemorySaver): the embedded default fusing the
// agents' signals, participants behind a channel, an interrupt() before the negotiation and its
// resume, a retried task and a replacement process reusing the task's session.
import { Annotation, Command, END, interrupt, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { isNoProposalError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { LocalParticipants } from "../../../src/negotiation/LocalParticipants.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import type { NegotiationOutcome, Signal } from "../../../src/negotiation/NegotiationSession.js";
import { negotiationNode } from "../../../src/negotiation/negotiationNode.js";
import { majorityVote, weightedAverage } from "../../../src/negotiation/strategies/index.js";
import { answering, Manual } from "./harness.js";

const State = Annotation.Root({
  signals: Annotation<Record<string, Signal>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
  desk: Annotation<string[]>({ reducer: (_a, b) => b, default: () => [] }),
  negotiation: Annotation<NegotiationOutcome | undefined>(),
  decided: Annotation<string | number | null | undefined>(),
});
type S = typeof State.State;

const momentum = (): Partial<S> => ({ signals: { momentum: { value: 0.8, confidence: 0.9, rationale: "breakout" } } });
const meanReversion = (): Partial<S> => ({ signals: { meanReversion: { value: -0.2, confidence: 0.6 } } });

/** Waits (real time) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("negotiationNode", () => {
  it("embedded default: fuses the agents' signals from the state, with conflict detection", async () => {
    const graph = new StateGraph(State)
      .addNode("momentum", momentum)
      .addNode("meanReversion", meanReversion)
      .addNode(
        "fuse",
        negotiationNode<S>({ participants: ["momentum", "meanReversion"], strategy: weightedAverage({ conflictThreshold: 0.5 }) }),
      )
      .addEdge(START, "momentum")
      .addEdge(START, "meanReversion")
      .addEdge(["momentum", "meanReversion"], "fuse")
      .addEdge("fuse", END)
      .compile({ checkpointer: new MemorySaver() });
    const { negotiation } = await graph.invoke({}, { configurable: { thread_id: "AAPL" } });
    const expected = (0.8 * 0.9 - 0.2 * 0.6) / (0.9 + 0.6);
    expect(negotiation).toMatchObject({
      state: "finalized",
      reason: "all-answered",
      topic: "fuse",
      type: "negotiation:fuse",
      agreed: false,
    });
    expect(negotiation!.value).toBeCloseTo(expected);
    expect(negotiation!.conflict).toMatchObject({ detected: true, spread: 1.25, threshold: 0.5 });
    expect(negotiation!.confidence).toBeCloseTo(((0.9 + 0.6) / 2) * (0.5 / 1.25));
    expect(negotiation!.contributions.map((c) => [c.participant, c.value])).toEqual([
      ["momentum", 0.8],
      ["meanReversion", -0.2],
    ]);
  });

  it("categorical signals with a custom output", async () => {
    const graph = new StateGraph(State)
      .addNode("seed", () => ({
        signals: { a: { value: "buy", confidence: 0.9 }, b: { value: "buy", confidence: 0.7 }, c: { value: "hold", confidence: 0.3 } },
        desk: ["a", "b", "c"],
      }))
      .addNode(
        "vote",
        negotiationNode<S, Partial<S>>({ participants: (s) => s.desk, strategy: majorityVote(), output: (o) => ({ decided: o.value }) }),
      )
      .addEdge(START, "seed")
      .addEdge("seed", "vote")
      .addEdge("vote", END)
      .compile();
    expect((await graph.invoke({})).decided).toBe("buy");
  });

  it("fails clearly when there is nothing to propose", async () => {
    const graph = new StateGraph(State)
      .addNode("fuse", negotiationNode<S>({ participants: ["x"], strategy: weightedAverage() }))
      .addEdge(START, "fuse")
      .addEdge("fuse", END)
      .compile();
    await expect(graph.invoke({})).rejects.toSatisfy(isNoProposalError);
  });

  it("an interrupt() before the negotiation: nothing is negotiated until the resume, then once", async () => {
    const a = answering({ kind: "counter", value: 101, confidence: 0.8 });
    const b = answering({ kind: "accept", confidence: 0.6 });
    const channel = new LocalParticipants({ a, b });
    const graph = new StateGraph(State)
      .addNode("approve", () => {
        const ok = interrupt<string, boolean>("negotiate the AAPL price?");
        return { desk: ok ? ["a", "b"] : [] };
      })
      .addNode(
        "fuse",
        negotiationNode<S>({
          participants: (s) => s.desk,
          strategy: weightedAverage(),
          proposal: () => ({ value: 100, confidence: 0.5 }),
          channel,
        }),
      )
      .addEdge(START, "approve")
      .addEdge("approve", "fuse")
      .addEdge("fuse", END)
      .compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "t-interrupt" } };
    const first = await graph.invoke({}, config);
    expect((first as Record<string, unknown>).__interrupt__).toBeDefined();
    expect(a.calls).toHaveLength(0);
    const resumed = await graph.invoke(new Command({ resume: true }), config);
    expect(resumed.negotiation).toMatchObject({ state: "finalized", answered: ["a", "b"] });
    expect(resumed.negotiation!.value).toBeCloseTo((101 * 0.8 + 100 * 0.6) / 1.4);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
  });

  it("a retried task reuses its session instead of negotiating again", async () => {
    const a = answering({ kind: "accept" });
    const coordinator = new NegotiationCoordinator({
      store: new InMemoryStateStore(),
      channel: new LocalParticipants({ a }),
      logger: silentLogger,
    });
    let failures = 1;
    const graph = new StateGraph(State)
      .addNode(
        "fuse",
        negotiationNode<S>({
          participants: ["a"],
          strategy: weightedAverage(),
          proposal: () => ({ value: 7, confidence: 1 }),
          coordinator,
          output: (o) => {
            if (failures-- > 0) throw new Error("writing the outcome failed");
            return { negotiation: o };
          },
        }),
        { retryPolicy: { maxAttempts: 2, initialInterval: 1, jitter: false, retryOn: () => true } },
      )
      .addEdge(START, "fuse")
      .addEdge("fuse", END)
      .compile({ checkpointer: new MemorySaver() });
    const { negotiation } = await graph.invoke({}, { configurable: { thread_id: "t-retry" } });
    expect(negotiation).toMatchObject({ value: 7 });
    expect(a.calls).toHaveLength(1);
    // A new run of the graph is a new task: a new session.
    await graph.invoke({}, { configurable: { thread_id: "t-retry" } });
    expect(a.calls).toHaveLength(2);
    expect(new Set(a.calls.map((m) => m.sessionId)).size).toBe(2);
  });

  it("a replacement process re-running the task resumes the same session: recorded answers kept, the missing one asked", async () => {
    const backend = new InMemoryStateBackend();
    const checkpointer = new MemorySaver();
    const config = { configurable: { thread_id: "t-crash" } };
    const build = (channel: LocalParticipants) =>
      new StateGraph(State)
        .addNode(
          "fuse",
          negotiationNode<S>({
            participants: ["p1", "p2"],
            strategy: weightedAverage(),
            proposal: () => ({ value: 50, confidence: 0.5 }),
            store: new InMemoryStateStore({ backend }),
            channel,
            logger: silentLogger,
          }),
        )
        .addEdge(START, "fuse")
        .addEdge("fuse", END)
        .compile({ checkpointer });

    // Process 1: p1 answers, p2 never does; the process goes down mid-negotiation.
    const p1First = answering({ kind: "counter", value: 60, confidence: 1 });
    const p2Stuck = new Manual();
    const controller = new AbortController();
    const first = build(new LocalParticipants({ p1: p1First, p2: p2Stuck.handler })).invoke({}, { ...config, signal: controller.signal });
    await until(() => p2Stuck.asks.length === 1);
    const sessionId = p2Stuck.asks[0]!.sessionId;
    const store = new InMemoryStateStore({ backend });
    await until(async () =>
      Object.hasOwn(
        ((await store.namespace("negotiation").get(`session:${sessionId}`)) as { rounds: { answers: object }[] }).rounds[0]!.answers,
        "p1",
      ),
    );
    controller.abort(new Error("process 1 died"));
    await expect(first).rejects.toThrow();

    // Process 2: same graph module, same checkpointer and store; the task runs again.
    const p1 = answering({ kind: "accept" });
    const p2 = answering({ kind: "counter", value: 40, confidence: 1 });
    const { negotiation } = await build(new LocalParticipants({ p1, p2 })).invoke(null, config);
    expect(p1.calls).toHaveLength(0);
    expect(p2.calls.map((m) => m.sessionId)).toEqual([sessionId]);
    expect(negotiation).toMatchObject({ sessionId, state: "finalized", answered: ["p1", "p2"], value: 50 });
    expect(negotiation!.contributions.map((c) => c.value)).toEqual([60, 40]);
  });

  it("rejects bad options at construction", () => {
    expect(() => negotiationNode({ participants: "a" as never, strategy: weightedAverage() })).toThrow(/participants must be an array/);
    expect(() => negotiationNode({ participants: ["a"], strategy: {} as never })).toThrow(/strategy must be a FusionStrategy/);
    const coordinator = new NegotiationCoordinator({ store: new InMemoryStateStore(), channel: new LocalParticipants() });
    expect(() =>
      negotiationNode({ participants: ["a"], strategy: weightedAverage(), coordinator, store: new InMemoryStateStore() }),
    ).toThrow(/coordinator must not be given together/);
  });
});
