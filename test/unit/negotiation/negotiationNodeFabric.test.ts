// negotiationNode bound by fabric.distribute: sessions in the fabric's state store, participants
// served by another process asked with `remote: true`, and a runner that dies mid-negotiation
// replaced by another that resumes the thread from its checkpoint without asking again who answered.
import { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { isConfigurationError } from "../../../src/errors.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import type { Answer, NegotiationOutcome, Signal } from "../../../src/negotiation/NegotiationSession.js";
import { negotiationNode } from "../../../src/negotiation/negotiationNode.js";
import { weightedAverage } from "../../../src/negotiation/strategies/index.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { Cluster, flush } from "../coordination/harness.js";

const State = Annotation.Root({
  signals: Annotation<Record<string, Signal>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
  negotiation: Annotation<NegotiationOutcome | undefined>(),
});
type S = typeof State.State;

function builderWith(fuse: ReturnType<typeof negotiationNode<S>>) {
  return new StateGraph(State)
    .addNode("momentum", () => ({ signals: { momentum: { value: 0.8, confidence: 0.9 } } }))
    .addNode("reversion", () => ({ signals: { reversion: { value: 0.2, confidence: 0.6 } } }))
    .addNode("fuse", fuse)
    .addEdge(START, "momentum")
    .addEdge(START, "reversion")
    .addEdge(["momentum", "reversion"], "fuse")
    .addEdge("fuse", END);
}

let cluster: Cluster;
afterEach(async () => {
  await cluster.close();
});

describe("negotiationNode in a distributed graph", () => {
  it("keeps its sessions in the fabric's store and, remote, asks the participants served by another process", async () => {
    cluster = new Cluster();
    const [runner, agents] = [await cluster.fabric(), await cluster.fabric()];
    await agents.serveParticipants({
      momentum: () => ({ kind: "accept", confidence: 0.9 }),
      reversion: () => ({ kind: "counter", value: 0.1, confidence: 0.8 }),
    });
    await runner.registry.refresh();
    const builder = builderWith(negotiationNode<S>({ participants: ["momentum", "reversion"], strategy: weightedAverage(), remote: true }));
    const graph = runner.distribute(builder, { nodes: ["momentum"] }).compile({ checkpointer: new MemorySaver() });
    await agents.serve(builder, { nodes: ["momentum"] });
    await runner.registry.refresh();
    const { negotiation } = await graph.invoke({}, { configurable: { thread_id: "t1" } });
    expect(negotiation).toMatchObject({ state: "finalized", reason: "all-answered", answered: ["momentum", "reversion"] });
    const proposal = (0.8 * 0.9 + 0.2 * 0.6) / 1.5;
    expect(negotiation!.value).toBeCloseTo((proposal * 0.9 + 0.1 * 0.8) / 1.7, 9);
    // The session is in the fabric's (shared) store: any process can read it.
    const reader = new NegotiationCoordinator({ store: agents.state, channel: agents.participants(), logger: silentLogger });
    expect(await reader.get(negotiation!.sessionId)).toMatchObject({ state: "finalized" });
  });

  it("refuses remote: true outside a fabric, with a hint", async () => {
    cluster = new Cluster();
    const graph = builderWith(negotiationNode<S>({ participants: ["momentum"], strategy: weightedAverage(), remote: true })).compile();
    const error = await graph.invoke({}).catch((e: unknown) => e);
    expect(isConfigurationError(error)).toBe(true);
    expect((error as Error).message).toMatch(/outside a fabric/);
    expect(() => negotiationNode<S>({ participants: ["a"], strategy: weightedAverage(), remote: "yes" as never })).toThrow(
      /remote must be a boolean/,
    );
  });

  it("a runner that dies mid-negotiation is replaced by one that resumes the thread; who answered is not asked again", async () => {
    cluster = new Cluster();
    const [first, second, agents] = [await cluster.fabric(), await cluster.fabric(), await cluster.fabric()];
    const asked: string[] = [];
    let answerReversion: ((a: Answer) => void) | undefined;
    await agents.serveParticipants({
      momentum: () => {
        asked.push("momentum");
        return { kind: "accept", confidence: 0.9 };
      },
      reversion: () => {
        asked.push("reversion");
        return new Promise<Answer>((resolve) => (answerReversion = resolve));
      },
    });
    const checkpointer = new MemorySaver(); // stands for the RedisSaver both runners share
    const builder = builderWith(negotiationNode<S>({ participants: ["momentum", "reversion"], strategy: weightedAverage(), remote: true }));
    const config = { configurable: { thread_id: "t2" } };
    await first.registry.refresh();
    const dying = new AbortController();
    const run = first
      .distribute(builder, { nodes: ["reversion"] })
      .compile({ checkpointer })
      .invoke({}, { ...config, signal: dying.signal });
    await agents.serve(builder, { nodes: ["reversion"] });
    for (let turn = 0; asked.length < 2; turn += 1) {
      if (turn > 200) throw new Error(`participants not asked: ${JSON.stringify(asked)}`);
      await flush();
    }
    dying.abort(new Error("the runner died"));
    await run.catch(() => undefined);

    await second.registry.refresh();
    const resumed = second
      .distribute(builder, { nodes: ["reversion"] })
      .compile({ checkpointer })
      .invoke(null, config);
    await flush();
    answerReversion?.({ kind: "counter", value: 0.1, confidence: 0.8 });
    const { negotiation } = await resumed;
    expect(negotiation).toMatchObject({ state: "finalized", reason: "all-answered", answered: ["momentum", "reversion"] });
    expect(asked).toEqual(["momentum", "reversion"]); // once each, across both runners
  });
});
