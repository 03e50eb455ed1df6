// The signal-fusion example (examples/signal-fusion): the indicators and the agents' signal math
// on series whose answers are known by hand, the price generator's determinism, the risk and
// decision rules, and the whole graph on the embedded fabric (agents served as replicas in this
// process) giving the same decisions as the same graph compiled without the fabric.
import { MemorySaver } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { runDemo } from "../../../examples/signal-fusion/demo.js";
import {
  AGENTS,
  builder,
  decide,
  FUSION,
  RISK,
  risk,
  type FusedSignal,
  type SignalFusionStateType,
} from "../../../examples/signal-fusion/graph.js";
import {
  annualizedVolatility,
  efficiencyRatio,
  ema,
  logRateOfChange,
  sma,
  stdev,
  zScore,
} from "../../../examples/signal-fusion/indicators.js";
import { DEFAULT_SYMBOLS, generatePrices } from "../../../examples/signal-fusion/prices.js";
import { formatDemo } from "../../../examples/signal-fusion/report.js";
import { meanReversionSignal, momentumSignal, scoreHeadline, sentimentSignal } from "../../../examples/signal-fusion/signals.js";

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

describe("indicators", () => {
  it("moving averages, deviation and rate of change on hand-checked series", () => {
    expect(sma([1, 2, 3, 4, 5], 3)).toBe(4);
    // EMA(3), k = 0.5, seeded with SMA(1, 2, 3) = 2: then 2 + 0.5·(4 − 2) = 3, 3 + 0.5·(5 − 3) = 4.
    expect(ema([1, 2, 3, 4, 5], 3)).toBe(4);
    expect(ema([10, 10, 10, 10], 2)).toBe(10);
    expect(stdev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stdev([5])).toBe(0);
    expect(logRateOfChange([100, 50, 200], 2)).toBeCloseTo(Math.log(2), 12);
    expect(() => sma([1, 2], 3)).toThrow(RangeError);
    expect(() => ema([1], 0)).toThrow(/period must be a positive integer/);
  });

  it("z-score and efficiency ratio", () => {
    // Window [100 ×9, 110]: mean 101, sample sd √10.
    const { z, mean, sd } = zScore([...range(9, () => 100), 110], 10);
    expect(mean).toBe(101);
    expect(sd).toBeCloseTo(Math.sqrt(10), 12);
    expect(z).toBeCloseTo(9 / Math.sqrt(10), 12);
    expect(
      zScore(
        range(10, () => 7),
        10,
      ).z,
    ).toBe(0);
    expect(
      efficiencyRatio(
        range(11, (i) => 100 + i),
        10,
      ),
    ).toBe(1); // straight line: pure trend
    expect(efficiencyRatio([100, 102, 100, 102, 100], 4)).toBe(0); // back where it started
    expect(efficiencyRatio([100, 104, 102, 106], 3)).toBeCloseTo(6 / 10, 12);
  });

  it("annualized volatility of constant daily returns is 0, of alternating ones is positive", () => {
    expect(
      annualizedVolatility(
        range(30, (i) => 100 * 1.01 ** i),
        20,
      ),
    ).toBeCloseTo(0, 12);
    expect(
      annualizedVolatility(
        range(30, (i) => (i % 2 === 0 ? 100 : 102)),
        20,
      ),
    ).toBeGreaterThan(0.2);
  });
});

describe("agents' signals", () => {
  it("momentum: a noiseless uptrend is +1 with high confidence, its mirror −1, a flat series 0 and unsure", () => {
    const up = momentumSignal(range(60, (i) => 100 * 1.01 ** i));
    expect(up.value).toBe(1);
    expect(up.confidence).toBe(0.9);
    const down = momentumSignal(range(60, (i) => 100 * 0.99 ** i));
    expect(down.value).toBe(-1);
    expect(down.confidence).toBe(0.9);
    const flat = momentumSignal(range(60, () => 100));
    expect(flat).toMatchObject({ value: 0, confidence: 0.25 });
    expect(() => momentumSignal(range(20, () => 100))).toThrow(RangeError);
  });

  it("momentum: value = tanh(z / 2) with z the 40-day log return in 40-day standard deviations", () => {
    const closes = range(60, (i) => 100 * 1.004 ** i * (i % 2 === 0 ? 1.01 : 0.99));
    const roc = logRateOfChange(closes, 40);
    const rets = range(40, (i) => Math.log(closes[20 + i]! / closes[19 + i]!));
    const z = roc / (stdev(rets) * Math.sqrt(40));
    expect(momentumSignal(closes).value).toBeCloseTo(Math.tanh(z / 2), 4);
    expect(momentumSignal(closes).value).toBeGreaterThan(0);
  });

  it("mean reversion: bets against a deviation from the 10-day mean, damped by the 20-day trend", () => {
    // Oscillation around 100 (no trend: efficiency 0 over 20 days), then the last close 4 below.
    const closes = [...range(30, (i) => (i % 2 === 0 ? 100 : 102)), 96];
    const { z } = zScore(closes, 10);
    const er = efficiencyRatio(closes, 20);
    const s = meanReversionSignal(closes);
    expect(z).toBeLessThan(-1.5);
    expect(s.value).toBeCloseTo(-Math.tanh(z / 2) * (1 - er), 4);
    expect(s.value).toBeGreaterThan(0.4); // below the mean in a range: buy
    expect(s.confidence).toBeCloseTo(Math.min(0.9, Math.abs(z) / 2.5), 4);
    // The same deviation at the end of a straight rally is damped to nothing: that is a trend, not noise.
    expect(meanReversionSignal(range(40, (i) => 100 + i)).value).toBe(0);
  });

  it("sentiment: lexicon scores with negation, recency weights, coverage and consistency", () => {
    expect(scoreHeadline("Apple beats estimates on record revenue")).toEqual({ score: 1, hits: 2 });
    expect(scoreHeadline("Tesla misses estimates and recalls cars")).toEqual({ score: -1, hits: 2 });
    expect(scoreHeadline("Launch delayed, not ready")).toEqual({ score: -1, hits: 2 }); // "not ready" reads negative
    expect(scoreHeadline("Microsoft holds a conference")).toEqual({ score: 0, hits: 0 });
    expect(scoreHeadline("Growth slows")).toEqual({ score: 0, hits: 2 });
    expect(sentimentSignal(["strong growth", "record demand"])).toMatchObject({ value: 1, confidence: 0.8 });
    // Newest weighs 1, the older 0.8: (0.8·(−1) + 1·(+1)) / 1.8; consistency 0.2 / 1.8.
    const mixed = sentimentSignal(["weak demand", "upgrade"]);
    expect(mixed.value).toBeCloseTo(0.2 / 1.8, 4);
    expect(mixed.confidence).toBeCloseTo(0.2 + 0.6 * (0.2 / 1.8), 4);
    expect(sentimentSignal([])).toMatchObject({ value: 0, confidence: 0 });
  });

  it("every signal of the default symbols is within its range", () => {
    for (const symbol of DEFAULT_SYMBOLS) {
      const { closes } = generatePrices(symbol);
      for (const s of [momentumSignal(closes), meanReversionSignal(closes)]) {
        expect(Math.abs(s.value)).toBeLessThanOrEqual(1);
        expect(s.confidence).toBeGreaterThanOrEqual(0);
        expect(s.confidence).toBeLessThanOrEqual(1);
        expect(s.rationale.length).toBeGreaterThan(0);
      }
    }
  });
});

describe("prices", () => {
  it("are deterministic per (symbol, seed), 120 closes, and differ across seeds and symbols", () => {
    const a = generatePrices("AAPL");
    expect(a.closes).toHaveLength(120);
    expect(a.closes[0]).toBe(190);
    expect(generatePrices("AAPL").closes).toEqual(a.closes);
    expect(generatePrices("AAPL", 8).closes).not.toEqual(a.closes);
    expect(generatePrices("ZZZZ").closes).toEqual(generatePrices("ZZZZ").closes);
    expect(generatePrices("ZZZZ").closes).not.toEqual(generatePrices("YYYY").closes);
    expect(() => generatePrices("")).toThrow(RangeError);
  });
});

describe("risk and decision", () => {
  const base = (fused: Partial<FusedSignal>, prices = range(30, (i) => 100 * 1.001 ** i * (i % 2 === 0 ? 1.005 : 0.995))) =>
    ({
      symbol: "X",
      prices,
      fused: {
        value: 0.5,
        confidence: 0.6,
        agreed: true,
        conflict: false,
        spread: 0.3,
        shares: {},
        outcome: "finalized/all-answered",
        ...fused,
      },
    }) as SignalFusionStateType;

  it("rejects conflicts, excess volatility and low confidence; otherwise sizes by conviction and volatility", () => {
    expect(risk(base({ conflict: true, spread: 1.5 })).verdict).toMatchObject({
      approved: false,
      reason: expect.stringMatching(/conflict/),
    });
    const wild = range(30, (i) => (i % 2 === 0 ? 100 : 110));
    expect(risk(base({}, wild)).verdict).toMatchObject({ approved: false, reason: expect.stringMatching(/volatility/) });
    expect(risk(base({ confidence: 0.1 })).verdict).toMatchObject({ approved: false, reason: expect.stringMatching(/confidence/) });
    const ok = risk(base({})).verdict!;
    expect(ok.approved).toBe(true);
    const volScale = Math.min(1, RISK.targetVolatility / ok.volatility);
    expect(ok.sizePct).toBeCloseTo(Math.round(RISK.maxPositionPct * 0.5 * 0.6 * volScale * 10) / 10, 10);
  });

  it("buys or sells in the fused direction at the approved size, holds without an edge or approval", () => {
    const state = (value: number, approved = true) =>
      ({ ...base({ value }), verdict: { approved, sizePct: 2, volatility: 0.2, reason: "r" } }) as SignalFusionStateType;
    expect(decide(state(0.4)).decision).toMatchObject({ action: "buy", sizePct: 2 });
    expect(decide(state(-0.4)).decision).toMatchObject({ action: "sell", sizePct: 2 });
    expect(decide(state(0.05)).decision).toMatchObject({ action: "hold", sizePct: 0 });
    expect(decide(state(0.9, false)).decision).toMatchObject({ action: "hold", reason: "risk: r" });
  });
});

describe("the graph", () => {
  let fabric: Fabric | undefined;
  afterEach(async () => {
    await fabric?.stop();
    fabric = undefined;
  });

  const decisionsOf = (s: SignalFusionStateType) => ({ signals: s.signals, fused: s.fused, verdict: s.verdict, decision: s.decision });

  it("tells the demo's four stories: a buy, a conflict, a volatility veto and a sell", async () => {
    const graph = builder.compile();
    const decisions: Record<string, unknown> = {};
    for (const symbol of DEFAULT_SYMBOLS) {
      const s = await graph.invoke({ symbol });
      decisions[symbol] = { action: s.decision?.action, conflict: s.fused?.conflict, approved: s.verdict?.approved };
      expect(s.fused?.outcome).toBe("finalized/all-answered");
      expect(Object.keys(s.signals).sort()).toEqual([...AGENTS].sort());
    }
    expect(decisions).toEqual({
      AAPL: { action: "buy", conflict: false, approved: true },
      MSFT: { action: "hold", conflict: true, approved: false },
      NVDA: { action: "hold", conflict: false, approved: false },
      TSLA: { action: "sell", conflict: false, approved: true },
    });
    expect(FUSION.conflictThreshold).toBeGreaterThan(0);
  });

  it("on the embedded fabric (agents served as replicas here) decides exactly as without the fabric", async () => {
    fabric = await createFabric({ logger: silentLogger });
    await fabric.serve(builder, { nodes: AGENTS });
    const distributed = fabric.distribute(builder, { nodes: AGENTS }).compile({ checkpointer: new MemorySaver() });
    const local = builder.compile({ checkpointer: new MemorySaver() });
    const symbols = [...DEFAULT_SYMBOLS, "AMZN"];
    for (const symbol of symbols) {
      const config = { configurable: { thread_id: symbol } };
      const [viaFabric, direct] = await Promise.all([distributed.invoke({ symbol }, config), local.invoke({ symbol }, config)]);
      expect(decisionsOf(viaFabric)).toEqual(decisionsOf(direct));
      expect(viaFabric.decision).toBeDefined();
    }
    // The agent calls really went through the fabric: its client counted them.
    const calls = fabric.status().calls;
    for (const agent of AGENTS) expect(calls[agent]?.calls).toBe(symbols.length);
  });

  it("runDemo (what `npm run demo` runs) gives those decisions and a readable report", async () => {
    const lines: string[] = [];
    const result = await runDemo({ connection: { mode: "embedded" }, progress: (l) => lines.push(l), logger: silentLogger });
    const local = builder.compile();
    expect(result.results.map((r) => r.symbol)).toEqual([...DEFAULT_SYMBOLS]);
    for (const r of result.results) {
      const direct = await local.invoke({ symbol: r.symbol });
      expect({ signals: r.signals, fused: r.fused, verdict: r.verdict, decision: r.decision }).toEqual(decisionsOf(direct));
      for (const node of ["market", ...AGENTS, "fuse", "risk", "decide"]) expect(r.timings[node]).toBeGreaterThanOrEqual(0);
    }
    expect(Object.values(result.replicas).every((ids) => ids.length === 1)).toBe(true);
    const report = formatDemo(result);
    expect(report).toMatch(/AAPL .*BUY 4\.2%/);
    expect(report).toMatch(/MSFT .*HOLD/);
    expect(report).toMatch(/agents conflict/);
    expect(report).toMatch(/volatility \d+% above the 60% limit/);
    expect(lines[0]).toMatch(/^fabric: embedded/);
  });
});
