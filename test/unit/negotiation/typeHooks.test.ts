// Negotiation types' hooks replace the protocol's defaults: toContribution (what an answer counts
// as), converged (when a round's result ends it) and nextProposal (what the next round proposes);
// and a session whose participants live in different places (MixedParticipants): local handlers
// and agents served by another fabric, contract-net notices delivered to both.
import { afterEach, describe, expect, it } from "vitest";
import { LocalParticipants } from "../../../src/negotiation/LocalParticipants.js";
import { MixedParticipants } from "../../../src/negotiation/MixedParticipants.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import type { LocalParticipantMessage } from "../../../src/negotiation/LocalParticipants.js";
import type { ParticipantNotice } from "../../../src/negotiation/ParticipantChannel.js";
import { contractNet, weightedAverage } from "../../../src/negotiation/strategies/index.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { Cluster } from "../coordination/harness.js";
import { answering, World } from "./harness.js";

let world: World | undefined;
let cluster: Cluster | undefined;
afterEach(async () => {
  await world?.close();
  await cluster?.close();
  world = undefined;
  cluster = undefined;
});

const proposal = { value: 100, confidence: 0.5 };

describe("negotiation type hooks", () => {
  it("toContribution decides what an answer counts as (here: rejections count at zero weight, accepts double)", async () => {
    world = new World();
    const channel = new LocalParticipants({
      a: answering({ kind: "accept", confidence: 1 }),
      b: answering({ kind: "counter", value: 130, confidence: 1 }),
      c: answering({ kind: "reject", reason: "no" }),
    });
    const c = world.coordinator({
      channel,
      types: {
        t: {
          strategy: weightedAverage(),
          toContribution: (participant, answer, { proposal: p }) => {
            if (answer.kind === "reject") return undefined; // left out
            const value = answer.kind === "counter" ? (answer.value as number) : (p.value as number);
            return { participant, value, confidence: 1, weight: answer.kind === "accept" ? 2 : 1 };
          },
        },
      },
    });
    const { id } = await c.start({ type: "t", topic: "x", participants: ["a", "b", "c"], proposal });
    const outcome = await c.run(id);
    expect(outcome.contributions.map((x) => x.participant)).toEqual(["a", "b"]);
    expect(outcome.value).toBeCloseTo((100 * 2 + 130) / 3, 9);
  });

  it("converged and nextProposal drive the rounds: a proposal that moves halfway each round until within 1", async () => {
    world = new World();
    // b holds out at 110; a accepts whatever is proposed.
    const channel = new LocalParticipants({
      a: answering({ kind: "accept", confidence: 1 }),
      b: answering((m: LocalParticipantMessage) =>
        m.proposal.value === 110 ? { kind: "accept", confidence: 1 } : { kind: "counter", value: 110, confidence: 1 },
      ),
    });
    const proposals: number[] = [];
    const c = world.coordinator({
      channel,
      types: {
        t: {
          strategy: weightedAverage({ conflictThreshold: 1_000 }),
          converged: (result, session) => Math.abs((result.value as number) - (session.rounds.at(-1)!.proposal.value as number)) < 1,
          nextProposal: (result, session) => {
            const last = session.rounds.at(-1)!.proposal.value as number;
            const next = last + ((result.value as number) - last) * 2; // overshoot toward the holdout
            proposals.push(Math.min(next, 110));
            return { value: Math.min(next, 110), confidence: result.confidence };
          },
        },
      },
    });
    const { id } = await c.start({ type: "t", topic: "x", participants: ["a", "b"], proposal, maxRounds: 10 });
    const outcome = await c.run(id);
    expect(proposals).toEqual([110]); // round 1 fuses 105 → next proposal 110, which both accept
    expect(outcome).toMatchObject({ state: "finalized", rounds: 2, value: 110 });
  });
});

describe("MixedParticipants", () => {
  it("asks local handlers here and served agents there, and delivers contract-net notices to both", async () => {
    cluster = new Cluster();
    const [desk, agents] = [await cluster.fabric(), await cluster.fabric()];
    const notices: [string, ParticipantNotice["kind"]][] = [];
    await agents.serveParticipants(
      { carrierB: () => ({ kind: "bid", cost: 80, confidence: 0.9 }) },
      { onNotice: (participant, notice) => void notices.push([participant, notice.kind]) },
    );
    await desk.registry.refresh();
    const local = new LocalParticipants(
      { carrierA: () => ({ kind: "bid", cost: 95, confidence: 0.9 }) },
      { onNotice: (participant, notice) => void notices.push([participant, notice.kind]) },
    );
    const coordinator = new NegotiationCoordinator({
      store: desk.state,
      channel: new MixedParticipants(local, desk.participants()),
      types: { freight: { strategy: contractNet() } },
      logger: silentLogger,
    });
    const { id } = await coordinator.start({ type: "freight", topic: "lane", participants: ["carrierA", "carrierB"], proposal });
    const outcome = await coordinator.run(id);
    expect(outcome.decision?.winner).toBe("carrierB");
    expect(notices.sort()).toEqual([
      ["carrierA", "reject"],
      ["carrierB", "award"],
    ]);
    expect(() => new MixedParticipants(local, {} as never)).toThrow(/remote must be a ParticipantChannel/);
  });
});
