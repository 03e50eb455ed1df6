// Signal fusion on the fabric: local fusion (decision, conflict, categorical signals, resumable
// sessions) and fusion with remote agents served by another process, who may counter the proposal.
import { afterEach, describe, expect, it } from "vitest";
import type { LocalParticipantMessage } from "../../../src/negotiation/LocalParticipants.js";
import { median } from "../../../src/negotiation/strategies/median.js";
import { isNoProposalError } from "../../../src/errors.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { Cluster, flush } from "./harness.js";

let cluster: Cluster;
afterEach(async () => {
  await cluster.close();
});

describe("coordinateSignalFusion with local participants", () => {
  it("fuses by confidence-weighted average and decides buy, recording the session", async () => {
    cluster = new Cluster();
    const f = await cluster.fabric();
    const result = await f.coordinateSignalFusion("AAPL", {
      momentum: { value: 0.8, confidence: 0.9 },
      meanReversion: { value: 0.6, confidence: 0.5 },
    });
    expect(result.symbol).toBe("AAPL");
    expect(result.value).toBeCloseTo((0.8 * 0.9 + 0.6 * 0.5) / 1.4, 9);
    expect(result.decision).toBe("buy");
    expect(result.conflict.detected).toBe(false);
    expect(result.confidence).toBeGreaterThan(0.5);
    expect(result.contributions.map((c) => c.participant).sort()).toEqual(["meanReversion", "momentum"]);
    expect(result.outcome).toMatchObject({ state: "finalized", reason: "all-answered", type: "signal-fusion", topic: "AAPL" });
    expect(result.sessionId).toMatch(/^fusion-/);
  });

  it("holds on conflict (unless told otherwise), maps categorical signals, and decides sell", async () => {
    cluster = new Cluster();
    const f = await cluster.fabric();
    const split = {
      bull: { value: 0.9, confidence: 0.8 },
      bear: { value: -0.7, confidence: 0.9 },
      neutral: { value: "hold", confidence: 0.2 },
    };
    const conflicted = await f.coordinateSignalFusion("TSLA", split);
    expect(conflicted.conflict).toMatchObject({ detected: true, threshold: 0.5 });
    expect(conflicted.conflict.spread).toBeCloseTo(1.6, 9);
    expect(conflicted.decision).toBe("hold");
    const bold = await f.coordinateSignalFusion(
      "TSLA",
      { bull: { value: 0.9, confidence: 0.9 }, bear: { value: -0.2, confidence: 0.1 } },
      { holdOnConflict: false },
    );
    expect(bold.conflict.detected).toBe(true);
    expect(bold.decision).toBe("buy");
    const sell = await f.coordinateSignalFusion("MSFT", { a: { value: "sell", confidence: 0.9 }, b: { value: -0.6, confidence: 0.7 } });
    expect(sell.value).toBeLessThan(-0.2);
    expect(sell.decision).toBe("sell");
    const weak = await f.coordinateSignalFusion("MSFT", { a: { value: 0.1, confidence: 1 } }, { buyThreshold: 0.5, sellThreshold: -0.5 });
    expect(weak.decision).toBe("hold");
  });

  it("resumes a session by id instead of negotiating again", async () => {
    cluster = new Cluster();
    const [a, b] = [await cluster.fabric(), await cluster.fabric()];
    const first = await a.coordinateSignalFusion("NVDA", { x: { value: 0.5, confidence: 1 } }, { sessionId: "fusion-nvda-1" });
    // Another process retrying the same session id gets the recorded outcome, whatever it passes now.
    const retry = await b.coordinateSignalFusion("NVDA", { x: { value: -0.9, confidence: 1 } }, { sessionId: "fusion-nvda-1" });
    expect(retry.outcome).toEqual(first.outcome);
    expect(retry.decision).toBe("buy");
  });

  it("a replacement process finds a crashed one's open fusion by its stable initiator and finishes it", async () => {
    cluster = new Cluster();
    const [crashed, replacement, agents] = [await cluster.fabric(), await cluster.fabric(), await cluster.fabric()];
    let answerSlow: (() => void) | undefined;
    const answered: string[] = [];
    await agents.serveParticipants({
      quick: () => {
        answered.push("quick");
        return { kind: "accept" };
      },
      // Thinks until the first process is gone; its answer then goes to whoever asks again (the
      // same idempotency key: the replacement's question is answered by this very call).
      slow: () =>
        new Promise((resolve) => {
          answerSlow = () => {
            answered.push("slow");
            resolve({ kind: "counter", value: 0.2, confidence: 0.8 });
          };
        }),
    });
    await crashed.registry.refresh();
    const signals = { quick: { value: 0.6, confidence: 0.9 }, slow: { value: 0.4, confidence: 0.9 } };
    const abort = new AbortController();
    const first = crashed.coordinateSignalFusion("AAPL", signals, { participants: "remote", signal: abort.signal });
    const coordinator = new NegotiationCoordinator({ store: replacement.state, channel: replacement.participants(), logger: silentLogger });
    let open: string[] = [];
    for (let turn = 0; open.length === 0 || answered.length === 0; turn += 1) {
      if (turn > 100) throw new Error(`no open session of initiator "coordination" (open: ${JSON.stringify(open)})`);
      await flush();
      open = await coordinator.openSessions("coordination");
    }
    abort.abort(new Error("the process died"));
    await first.catch(() => undefined);
    expect(open).toHaveLength(1);
    await replacement.registry.refresh();
    const resumed = replacement.coordinateSignalFusion("AAPL", signals, { participants: "remote", sessionId: open[0] });
    await flush();
    answerSlow?.();
    expect((await resumed).outcome).toMatchObject({ state: "finalized", reason: "all-answered", answered: ["quick", "slow"] });
    expect(answered).toEqual(["quick", "slow"]); // each agent answered once: quick's recorded answer was kept
    expect(await coordinator.openSessions("coordination")).toEqual([]);
  });

  it("validates signals and options", async () => {
    cluster = new Cluster();
    const f = await cluster.fabric();
    await expect(f.coordinateSignalFusion("X", {})).rejects.toSatisfy(isNoProposalError);
    await expect(f.coordinateSignalFusion("X", { a: { value: 2, confidence: 1 } })).rejects.toThrow(/score in \[-1, 1\]/);
    await expect(f.coordinateSignalFusion("X", { a: { value: "maybe", confidence: 1 } })).rejects.toThrow(/"buy", "sell", "hold"/);
    await expect(f.coordinateSignalFusion("X", { a: { value: 0.1, confidence: 3 } })).rejects.toThrow(/confidence/);
    await expect(
      f.coordinateSignalFusion("X", { a: { value: 0.1, confidence: 1 } }, { sellThreshold: 0.3, buyThreshold: 0.2 }),
    ).rejects.toThrow(/sellThreshold must be below buyThreshold/);
    await expect(
      f.coordinateSignalFusion("X", { a: { value: 0.1, confidence: 1 } }, { participants: "everyone" as never }),
    ).rejects.toThrow(/participants must be "local" or "remote"/);
    await expect(f.coordinateSignalFusion("", { a: { value: 0.1, confidence: 1 } })).rejects.toThrow(/symbol/);
  });
});

describe("coordinateSignalFusion with remote participants", () => {
  it("asks the agents served by another process to accept or counter the fused proposal", async () => {
    cluster = new Cluster();
    const [desk, agents] = [await cluster.fabric(), await cluster.fabric()];
    const asked: LocalParticipantMessage[] = [];
    await agents.serveParticipants({
      // Accepts whatever is proposed.
      momentum: (m) => {
        asked.push(m);
        return { kind: "accept", confidence: 0.9 };
      },
      // Sees the proposal and sticks to its own, lower view.
      meanReversion: (m) => {
        asked.push(m);
        return { kind: "counter", value: 0.3, confidence: 0.6 };
      },
    });
    await desk.registry.refresh();
    const result = await desk.coordinateSignalFusion(
      "AAPL",
      { momentum: { value: 0.8, confidence: 0.9 }, meanReversion: { value: 0.6, confidence: 0.5 } },
      { participants: "remote", deadlineMs: 5_000 },
    );
    const proposed = (0.8 * 0.9 + 0.6 * 0.5) / 1.4;
    expect(asked.map((m) => m.participant).sort()).toEqual(["meanReversion", "momentum"]);
    expect(asked[0]!.proposal.value).toBeCloseTo(proposed, 9);
    expect(asked[0]!.context).toMatchObject({ symbol: "AAPL", signals: { momentum: { value: 0.8, confidence: 0.9 } } });
    expect(result.value).toBeCloseTo((proposed * 0.9 + 0.3 * 0.6) / 1.5, 9);
    expect(result.decision).toBe("buy");
    expect(result.contributions.find((c) => c.participant === "momentum")).toMatchObject({ stance: "accept" });
  });

  it("reports a conflict between remote agents and holds; an agent that does not answer is missing at the deadline", async () => {
    cluster = new Cluster();
    const [desk, agents] = [await cluster.fabric(), await cluster.fabric()];
    await agents.serveParticipants({
      bull: () => ({ kind: "counter", value: 0.9, confidence: 0.9 }),
      bear: () => ({ kind: "counter", value: -0.8, confidence: 0.9 }),
      sleepy: () => new Promise(() => undefined),
    });
    await desk.registry.refresh();
    const signals = {
      bull: { value: 0.5, confidence: 0.5 },
      bear: { value: -0.5, confidence: 0.5 },
      sleepy: { value: 0, confidence: 0.5 },
    };
    const result = await desk.coordinateSignalFusion("GME", signals, { participants: "remote", deadlineMs: 300, strategy: median() });
    expect(result.outcome).toMatchObject({ state: "finalized", reason: "deadline", missing: ["sleepy"] });
    expect(result.conflict.detected).toBe(true);
    expect(result.decision).toBe("hold");
    // A quorum of two closes the negotiation without waiting for the sleepy agent.
    const quick = await desk.coordinateSignalFusion("GME", signals, { participants: "remote", deadlineMs: 5_000, quorum: 2 });
    expect(quick.outcome).toMatchObject({ reason: "quorum" });
  });
});
