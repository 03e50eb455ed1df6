// The local risk math against known values (reference figures from Python's statistics.NormalDist).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  historicalVaR,
  mean,
  netExposure,
  normalQuantile,
  normalShortfallRatio,
  parametricVaR,
  sampleStdDev,
  scenarioPnl,
  simpleReturns,
} from "../../../src/coordination/riskMath.js";

describe("normalQuantile", () => {
  it("matches reference quantiles to 1e-8", () => {
    const reference: [number, number][] = [
      [0.95, 1.6448536269514715],
      [0.975, 1.9599639845400536],
      [0.5, 0],
      [0.01, -2.3263478740408408],
      [0.999, 3.090232306167813],
      [0.001, -3.090232306167813],
    ];
    for (const [p, z] of reference) expect(normalQuantile(p)).toBeCloseTo(z, 8);
    expect(() => normalQuantile(1)).toThrow(RangeError);
    expect(() => normalQuantile(0)).toThrow(RangeError);
  });

  it("is increasing and antisymmetric", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.0001, max: 0.9999, noNaN: true }), fc.double({ min: 0.0001, max: 0.9999, noNaN: true }), (a, b) => {
        if (a < b) expect(normalQuantile(a)).toBeLessThanOrEqual(normalQuantile(b));
        expect(normalQuantile(a)).toBeCloseTo(-normalQuantile(1 - a), 6);
      }),
    );
  });
});

describe("returns and scenarios", () => {
  it("computes simple returns and the P&L of one series or of a book of series", () => {
    const r = simpleReturns([100, 110, 99]);
    expect(r[0]).toBeCloseTo(0.1, 12);
    expect(r[1]).toBeCloseTo(-0.1, 12);
    expect(scenarioPnl(1_000, [100, 110, 99])).toEqual([expect.closeTo(100, 9), expect.closeTo(-100, 9)]);
    // A short position gains when the price falls.
    expect(scenarioPnl(-1_000, [100, 110, 99])[1]).toBeCloseTo(100, 9);
    expect(netExposure({ AAPL: 700, MSFT: -200 })).toBe(500);
    expect(scenarioPnl({ AAPL: 700, MSFT: -200 }, [100, 110])[0]).toBeCloseTo(50, 9);
    // Per-symbol series, aligned on the latest price: MSFT's extra early history is ignored.
    const book = scenarioPnl({ AAPL: 1_000, MSFT: 500 }, { AAPL: [10, 11, 11], MSFT: [50, 40, 50, 45] });
    expect(book).toHaveLength(2);
    expect(book[0]).toBeCloseTo(1_000 * 0.1 + 500 * 0.25, 9);
    expect(book[1]).toBeCloseTo(1_000 * 0 + 500 * -0.1, 9);
  });

  it("refuses malformed histories and exposures", () => {
    expect(() => simpleReturns([100])).toThrow(/at least 2 prices/);
    expect(() => simpleReturns([100, 0])).toThrow(/prices\[1\] must be a finite number > 0/);
    expect(() => scenarioPnl({ AAPL: 1 }, { MSFT: [1, 2] })).toThrow(/prices\.AAPL/);
    expect(() => scenarioPnl(Number.NaN, [1, 2])).toThrow(/exposure/);
    expect(() => scenarioPnl(1, { AAPL: [1, 2] })).toThrow(/one series/);
  });
});

describe("historicalVaR", () => {
  // Returns −10 % … +9 % in 1 % steps on an exposure of 1 000: P&L −100 … 90.
  const pnl = Array.from({ length: 20 }, (_, i) => 10 * (i - 10));

  it("takes the k-th largest loss, k = ⌈(1 − c)·n⌉, and the mean of the k largest as ES", () => {
    // (1 − 0.95) × 20 is 1.0000000000000009 in floating point: still k = 1.
    expect(historicalVaR(pnl, 0.95)).toEqual({ var: 100, expectedShortfall: 100 });
    expect(historicalVaR(pnl, 0.9)).toEqual({ var: 90, expectedShortfall: 95 });
    expect(historicalVaR(pnl, 0.8)).toEqual({ var: 70, expectedShortfall: 85 });
  });

  it("scales with the square root of the horizon, and reports no VaR when even the tail gains", () => {
    const v = historicalVaR(pnl, 0.9, 4);
    expect(v.var).toBeCloseTo(180, 9);
    expect(v.expectedShortfall).toBeCloseTo(190, 9);
    expect(historicalVaR([5, 6, 7], 0.95)).toEqual({ var: 0, expectedShortfall: 0 });
  });

  it("validates its inputs", () => {
    expect(() => historicalVaR([], 0.95)).toThrow(RangeError);
    expect(() => historicalVaR(pnl, 1)).toThrow(/confidenceLevel/);
    expect(() => historicalVaR(pnl, 0.95, 0)).toThrow(/horizonDays/);
  });

  it("never reports an ES below the VaR, and a higher level never lowers the VaR", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0.5, max: 0.99, noNaN: true }),
        (xs, c) => {
          const low = historicalVaR(xs, c);
          const high = historicalVaR(xs, Math.min(0.999, c + 0.005));
          expect(low.expectedShortfall).toBeGreaterThanOrEqual(low.var);
          expect(high.var).toBeGreaterThanOrEqual(low.var);
          expect(low.var).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe("parametricVaR", () => {
  it("is z·σ·√h − μ·h, with ES σ·√h·φ(z)/(1 − c) − μ·h", () => {
    // mean 0, sample standard deviation √(8/3)
    const flat = parametricVaR([-2, 0, 2, 0], 0.95);
    expect(flat.var).toBeCloseTo(2.686034725064892, 7);
    expect(flat.expectedShortfall).toBeCloseTo(3.368395909531295, 7);
    // the same spread with a mean gain of 1 per day
    const drift = parametricVaR([-1, 1, 3, 1], 0.95);
    expect(drift.var).toBeCloseTo(1.686034725064892, 7);
    expect(drift.expectedShortfall).toBeCloseTo(2.368395909531295, 7);
    // over 10 days the drift outgrows the spread: no VaR left
    expect(parametricVaR([-1, 1, 3, 1], 0.95, 10).var).toBe(0);
    expect(() => parametricVaR([1], 0.95)).toThrow(/at least 2/);
  });

  it("gives the normal ES/VaR ratio", () => {
    expect(normalShortfallRatio(0.95)).toBeCloseTo(1.2540403435960488, 7);
    expect(() => normalShortfallRatio(0.4)).toThrow(RangeError);
  });

  it("has the usual moments", () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(sampleStdDev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleStdDev([1])).toBe(0);
  });
});
