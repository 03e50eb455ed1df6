// Contract net through the protocol: participants bid, the best bid wins, and every bidder is told
// (award or reject) through the channel once; a notice that failed is retried by the next run.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalParticipants } from "../../../src/negotiation/LocalParticipants.js";
import type { ParticipantNotice } from "../../../src/negotiation/ParticipantChannel.js";
import { contractNet } from "../../../src/negotiation/strategies/index.js";
import { answering, World } from "./harness.js";

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

describe("contract net", () => {
  it("awards the lowest bid, notifies every bidder once, and records the notices", async () => {
    const notices: [string, ParticipantNotice][] = [];
    const channel = new LocalParticipants(
      {
        a: answering({ kind: "bid", cost: 5, value: "route-a" }),
        b: answering({ kind: "bid", cost: 3, value: "route-b", confidence: 0.8 }),
        c: answering({ kind: "bid", cost: 7 }),
        d: answering({ kind: "reject", reason: "busy" }),
      },
      { onNotice: (p, n) => void notices.push([p, n]) },
    );
    const c = world.coordinator({ channel, types: { task: { strategy: contractNet() } } });
    const { id } = await c.start({
      type: "task",
      topic: "deliver order 17",
      participants: ["a", "b", "c", "d"],
      proposal: { value: "order-17", confidence: 1 },
    });
    const outcome = await c.run(id);
    expect(outcome).toMatchObject({ value: "route-b", confidence: 0.8, agreed: true, decision: { winner: "b" } });
    expect(notices.map(([p, n]) => [p, n.kind]).sort()).toEqual([
      ["a", "reject"],
      ["b", "award"],
      ["c", "reject"],
    ]);
    expect(notices[0]![1]).toMatchObject({ sessionId: id, topic: "deliver order 17", winner: "b", value: "route-b", round: 1 });
    expect(Object.keys((await c.get(id))!.notices).sort()).toEqual(["a", "b", "c"]);
    await c.run(id);
    expect(notices).toHaveLength(3);
  });

  it("retries a notice that failed on the next run", async () => {
    let failures = 1;
    const received: string[] = [];
    const channel = new LocalParticipants(
      { a: answering({ kind: "bid", cost: 1 }), b: answering({ kind: "bid", cost: 2 }) },
      {
        onNotice: (p) => {
          if (p === "b" && failures-- > 0) throw new Error("bidder unreachable");
          received.push(p);
        },
      },
    );
    const c = world.coordinator({ channel, types: { task: { strategy: contractNet() } } });
    const { id } = await c.start({ type: "task", topic: "t", participants: ["a", "b"], proposal: { value: "job", confidence: 1 } });
    await c.run(id);
    expect(received).toEqual(["a"]);
    await c.resume(id);
    expect(received).toEqual(["a", "b"]);
  });
});
