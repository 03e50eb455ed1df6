import { afterEach, describe, expect, it } from "vitest";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import { weightedAverage } from "../../../src/negotiation/strategies/weightedAverage.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";

// Participants served as replicas by one "process", asked by a coordinator in another, through the
// fabric's call path (balancer, breakers, idempotency).

let fabrics: Fabric[] = [];
afterEach(async () => {
  await Promise.all(fabrics.map((f) => f.stop({ drainTimeoutMs: 100 })));
  fabrics = [];
});

describe("RemoteParticipants", () => {
  it("runs a negotiation whose participants are remote replicas; a repeated question is answered from the record", async () => {
    const network = new InMemoryNetwork();
    const backend = new InMemoryStateBackend();
    const make = () =>
      createFabric({
        transport: new InMemoryTransport({ network, logger: silentLogger }),
        state: new InMemoryStateStore({ backend }),
        logger: silentLogger,
      });
    const [initiator, agents] = await Promise.all([make(), make()]);
    fabrics.push(initiator, agents);
    const asked: string[] = [];
    await agents.serveParticipants({
      momentum: (m) => {
        asked.push(`momentum:${m.round}`);
        return { kind: "counter", value: 0.8, confidence: 0.9 };
      },
      meanReversion: (m) => {
        asked.push(`meanReversion:${m.round}`);
        return { kind: "counter", value: 0.6, confidence: 0.5 };
      },
    });
    await initiator.registry.refresh();
    const coordinator = new NegotiationCoordinator({
      store: initiator.state,
      channel: initiator.participants(),
      types: { fuse: { strategy: weightedAverage() } },
      logger: silentLogger,
    });
    const session = await coordinator.start({
      id: "s1",
      type: "fuse",
      topic: "AAPL",
      participants: ["momentum", "meanReversion"],
      proposal: { value: 0.7, confidence: 0.5 },
      deadlineMs: 5_000,
    });
    const outcome = await coordinator.run(session.id);
    expect(outcome.state).toBe("finalized");
    expect(outcome.value).toBeCloseTo((0.8 * 0.9 + 0.6 * 0.5) / (0.9 + 0.5), 6);
    expect(asked.sort()).toEqual(["meanReversion:1", "momentum:1"]);

    // Asking again about the same round (a resumed initiator) does not reach the agents again.
    const again = await initiator.participants().ask(
      "momentum",
      {
        sessionId: "s1",
        type: "fuse",
        topic: "AAPL",
        round: 1,
        proposal: { value: 0.7, confidence: 0.5 },
        context: null,
        deadline: Date.now() + 5_000,
        participants: ["momentum"],
      },
      new AbortController().signal,
    );
    expect(again).toEqual({ kind: "counter", value: 0.8, confidence: 0.9 });
    expect(asked).toHaveLength(2);
  });
});
