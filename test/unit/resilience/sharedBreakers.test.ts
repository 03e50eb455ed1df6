import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { createFabric, type Fabric, type FabricConfig } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";

// Two callers ("processes") share breaker state through the state store: what one finds broken
// the other skips at once, and a single half-open probe is sent across both.

const State = Annotation.Root({ n: Annotation<number> });
const behaviour = { failing: false, calls: 0 };
const healthyCalls = { calls: 0 };

function builder(target: { calls: number }, fails: () => boolean) {
  return new StateGraph(State)
    .addNode("work", (s) => {
      target.calls += 1;
      if (fails()) throw new Error("replica broken");
      return { n: s.n + 1 };
    })
    .addEdge(START, "work")
    .addEdge("work", END);
}

let fabrics: Fabric[] = [];
afterEach(async () => {
  await Promise.all(fabrics.map((f) => f.stop({ drainTimeoutMs: 100 })));
  fabrics = [];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("shared breaker state", () => {
  it("one caller's open breaker is honoured by the other, with one probe at a time across both", async () => {
    const network = new InMemoryNetwork();
    const backend = new InMemoryStateBackend();
    const make = (config: FabricConfig = {}) =>
      createFabric({
        transport: new InMemoryTransport({ network, logger: silentLogger }),
        state: new InMemoryStateStore({ backend }),
        registryOptions: { heartbeatIntervalMs: 100 },
        logger: silentLogger,
        balancer: "round-robin",
        ...config,
      });
    const resilience = {
      shared: true,
      breaker: { kind: "consecutive" as const, threshold: 1 },
      halfOpenAfter: { initialMs: 300, maxMs: 300 },
      outlier: { enabled: false },
    };
    const [callerA, callerB, broken, healthy] = await Promise.all([make({ resilience }), make({ resilience }), make(), make()]);
    fabrics.push(callerA, callerB, broken, healthy);
    await broken.serve(
      builder(behaviour, () => behaviour.failing),
      { nodes: ["work"] },
    );
    await healthy.serve(
      builder(healthyCalls, () => false),
      { nodes: ["work"] },
    );
    const graphA = callerA
      .distribute(
        builder({ calls: 0 }, () => false),
        { nodes: ["work"] },
      )
      .compile();
    const graphB = callerB
      .distribute(
        builder({ calls: 0 }, () => false),
        { nodes: ["work"] },
      )
      .compile();
    await Promise.all([callerA.registry.refresh(), callerB.registry.refresh()]);
    // B calls while all is well (and starts following the node's shared records); then the replica breaks.
    for (let i = 0; i < 2; i += 1) await graphB.invoke({ n: i });
    behaviour.failing = true;

    // Caller A finds the replica broken.
    for (let i = 0; i < 4 && !callerA.status().breakerEvents.some((e) => e.type === "break"); i += 1)
      await graphA.invoke({ n: i }).catch(() => undefined);
    await expect.poll(() => callerB.status().breakerEvents.some((e) => e.type === "break" && e.shared === true)).toBe(true);

    // Caller B never calls it while it is open.
    const before = behaviour.calls;
    for (let i = 0; i < 10; i += 1) await graphB.invoke({ n: i });
    expect(behaviour.calls).toBe(before);

    // Past the probe time, both call concurrently: exactly one probe reaches the broken replica.
    await sleep(1_500);
    const atProbe = behaviour.calls;
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? graphA : graphB).invoke({ n: i }).catch(() => undefined)));
    expect(behaviour.calls - atProbe).toBe(1);

    // It recovers: the next probe closes it for both callers.
    behaviour.failing = false;
    await sleep(1_500);
    for (let i = 0; i < 10; i += 1) await (i % 2 ? graphA : graphB).invoke({ n: i });
    await expect.poll(() => callerB.status().breakerEvents.some((e) => e.type === "reset")).toBe(true);
    const recovered = behaviour.calls;
    for (let i = 0; i < 10; i += 1) await graphB.invoke({ n: i });
    expect(behaviour.calls).toBeGreaterThan(recovered);
  });
});
