// assessRisk: consensus of remote risk agents (robust to one wild agent), the local fallback when
// none is available or none answers, limits, and what happens without a price history.
import { afterEach, describe, expect, it } from "vitest";
import { historicalVaR, parametricVaR, scenarioPnl } from "../../../src/coordination/riskMath.js";
import { isNoRiskEstimateError } from "../../../src/errors.js";
import type { Answer } from "../../../src/negotiation/NegotiationSession.js";
import type { LocalParticipantMessage } from "../../../src/negotiation/LocalParticipants.js";
import { trimmedMean } from "../../../src/negotiation/strategies/trimmedMean.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
afterEach(async () => {
  await cluster.close();
});

// A year-like history with a few bad days: deterministic, no randomness.
const prices = Array.from({ length: 120 }, (_, i) => 100 * (1 + 0.02 * Math.sin(i / 3) + 0.001 * i - (i % 17 === 0 ? 0.03 : 0)));

function riskAgent(varEstimate: number, seen?: LocalParticipantMessage[]): (m: LocalParticipantMessage) => Answer {
  return (m) => {
    seen?.push(m);
    return { kind: "counter", value: varEstimate, confidence: 0.8, rationale: "my model" };
  };
}

describe("assessRisk", () => {
  it("computes locally when no risk agent is available, and says so", async () => {
    cluster = new Cluster();
    const f = await cluster.fabric();
    const result = await f.assessRisk({ symbol: "AAPL", exposure: 1_000_000, prices, limit: 100_000 });
    const pnl = scenarioPnl(1_000_000, prices);
    const h = historicalVaR(pnl, 0.95);
    const p = parametricVaR(pnl, 0.95);
    expect(result.source).toBe("local");
    expect(result.method).toBe("local: historical and parametric VaR (no risk agent available)");
    expect(result.var).toBeCloseTo(Math.max(h.var, p.var), 6);
    expect(result.expectedShortfall).toBeCloseTo(Math.max(h.expectedShortfall, p.expectedShortfall), 6);
    expect(result.confidence).toBeCloseTo(1 - Math.abs(h.var - p.var) / Math.max(h.var, p.var), 9);
    expect(result.approved).toBe(result.var <= 100_000);
    expect(result.contributions.map((c) => c.source)).toEqual(["local:historical", "local:parametric"]);
    expect(result).toMatchObject({ symbol: "AAPL", confidenceLevel: 0.95, horizonDays: 1, limit: 100_000 });
  });

  it("reaches consensus among the risk agents with the median, unmoved by one wild agent", async () => {
    cluster = new Cluster();
    const [desk, riskProcess, otherProcess] = [await cluster.fabric(), await cluster.fabric(), await cluster.fabric()];
    const seen: LocalParticipantMessage[] = [];
    await riskProcess.serveParticipants({ "risk-a": riskAgent(20_000, seen), "risk-b": riskAgent(21_000, seen) });
    await otherProcess.serveParticipants({ "risk-c": riskAgent(22_000, seen), "risk-wild": riskAgent(9_000_000, seen) });
    for (const id of ["risk-a", "risk-b"]) await riskProcess.registerAgent({ agentId: id, role: "risk" });
    for (const id of ["risk-c", "risk-wild"]) await otherProcess.registerAgent({ agentId: id, role: "risk" });
    // An agent with the role but no served participant is not asked.
    await otherProcess.registerAgent({ agentId: "risk-offline", role: "risk" });
    await desk.registry.refresh();
    await desk.coordination.directory.refresh();

    const result = await desk.assessRisk({ symbol: "AAPL", exposure: 1_000_000, prices, limit: 25_000, confidenceLevel: 0.99 });
    expect(result.source).toBe("agents");
    expect(result.method).toBe("consensus: median of 4 risk agents");
    expect(result.var).toBe(21_500);
    expect(result.approved).toBe(true);
    expect(result.conflict?.detected).toBe(false);
    expect(result.contributions.map((c) => c.source).sort()).toEqual(["risk-a", "risk-b", "risk-c", "risk-wild"]);
    expect(result.sessionId).toMatch(/^risk-/);
    // The tail beyond the consensus VaR is scaled as in the local estimate.
    const local = await desk.assessRisk({ exposure: 1_000_000, prices, confidenceLevel: 0.99 }, { localOnly: true });
    expect(result.expectedShortfall / result.var).toBeCloseTo(local.expectedShortfall / local.var, 9);
    expect(local.method).toBe("local: historical and parametric VaR (asked for a local estimate)");
    // The agents saw the request and the local estimate as the proposal.
    expect(seen).toHaveLength(4);
    expect(seen[0]!.context).toMatchObject({
      kind: "var-request",
      request: { symbol: "AAPL", exposure: 1_000_000, confidenceLevel: 0.99 },
    });
    expect(seen[0]!.proposal.value).toBeCloseTo(local.var, 6);

    // A trimmed mean drops the wild one as well; a tighter limit rejects.
    const trimmed = await desk.assessRisk({ exposure: 1_000_000, prices, limit: 20_000 }, { strategy: trimmedMean() });
    expect(trimmed.var).toBe(21_500);
    expect(trimmed.approved).toBe(false);
    expect(trimmed.method).toBe("consensus: trimmed-mean of 4 risk agents");
  });

  it("asks named participants without a price history, and gives the ES a normal tail", async () => {
    cluster = new Cluster();
    const [desk, agents] = [await cluster.fabric(), await cluster.fabric()];
    await agents.serveParticipants({
      q1: () => ({ kind: "bid", value: 1_000, confidence: 1 }),
      q2: () => ({ kind: "counter", value: 1_200, confidence: 1 }),
      q3: () => ({ kind: "accept" }),
    });
    await desk.registry.refresh();
    const result = await desk.assessRisk({ positions: { AAPL: 50_000, MSFT: -10_000 } }, { participants: ["q1", "q2", "q3"] });
    // q3 accepted a placeholder (there was no local estimate): it is not counted as a figure.
    expect(result.method).toBe("consensus: median of 2 risk agents");
    expect(result.var).toBe(1_100);
    expect(result.expectedShortfall).toBeCloseTo(1_100 * 1.2540403435960488, 4);
  });

  it("falls back to the local estimate when no agent answers by the deadline, and fails without prices", async () => {
    cluster = new Cluster();
    const [desk, agents] = [await cluster.fabric(), await cluster.fabric()];
    await agents.serveParticipants({ slow: () => new Promise<Answer>(() => undefined) });
    await desk.registry.refresh();
    const result = await desk.assessRisk({ exposure: 500_000, prices }, { participants: ["slow"], deadlineMs: 200 });
    expect(result.source).toBe("local");
    expect(result.method).toBe("local: historical and parametric VaR (no risk agent answered)");
    await expect(desk.assessRisk({ exposure: 500_000 }, { participants: ["slow"], deadlineMs: 200 })).rejects.toSatisfy(
      isNoRiskEstimateError,
    );
    await expect(desk.assessRisk({ exposure: 500_000 })).rejects.toThrow(/no risk agent available, and no price history was given/);
  });

  it("validates the request", async () => {
    cluster = new Cluster();
    const f = await cluster.fabric();
    await expect(f.assessRisk({ prices })).rejects.toThrow(/exactly one of positions and exposure/);
    await expect(f.assessRisk({ exposure: 1, positions: { A: 1 }, prices })).rejects.toThrow(/exactly one of positions and exposure/);
    await expect(f.assessRisk({ exposure: 1, prices, confidenceLevel: 1.2 })).rejects.toThrow(/confidenceLevel must be in \(0, 1\)/);
    await expect(f.assessRisk({ exposure: 1, prices, horizonDays: -1 })).rejects.toThrow(/horizonDays/);
    await expect(f.assessRisk({ exposure: 1, prices: [1] })).rejects.toThrow(/at least 2 prices/);
    await expect(f.assessRisk({ exposure: 1, prices, limit: -5 })).rejects.toThrow(/limit/);
  });
});
