// The fusion strategies: properties (fast-check) of the numeric strategies, the majority vote and
// the conflict rule, and examples of contract net, unanimity and validation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Contribution, FusionStrategy } from "../../../src/negotiation/strategies/FusionStrategy.js";
import { contractNet, majorityVote, median, trimmedMean, unanimity, weightedAverage } from "../../../src/negotiation/strategies/index.js";

const value = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const confidence = fc.double({ min: 0, max: 1, noNaN: true });
const weight = fc.double({ min: 0, max: 10, noNaN: true });

/** `n` contributions with distinct values (so "the largest" is one participant). */
function contributions(min: number, max = 12): fc.Arbitrary<Contribution[]> {
  return fc
    .uniqueArray(value, { minLength: min, maxLength: max })
    .chain((values) =>
      fc.tuple(
        fc.constant(values),
        fc.array(confidence, { minLength: values.length, maxLength: values.length }),
        fc.array(weight, { minLength: values.length, maxLength: values.length }),
      ),
    )
    .map(([values, confidences, weights]) =>
      values.map((v, i) => ({ participant: `p${i}`, value: v, confidence: confidences[i]!, weight: weights[i]! })),
    );
}

const numbers = (r: { value: unknown }): number => r.value as number;
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Replaces the value of the contribution holding the largest value with `wild`. */
function replaceLargest(list: Contribution[], wild: number): Contribution[] {
  const max = Math.max(...list.map((c) => c.value as number));
  return list.map((c) => (c.value === max ? { ...c, value: wild } : c));
}

const effective = (c: Contribution): number => (c.weight ?? 1) * c.confidence;

describe("numeric strategies (properties)", () => {
  it("weightedAverage stays within [min, max] of its inputs", () => {
    fc.assert(
      fc.property(contributions(1), (list) => {
        const r = weightedAverage().fuse(list);
        const vs = list.map((c) => c.value as number);
        expect(numbers(r)).toBeGreaterThanOrEqual(Math.min(...vs));
        expect(numbers(r)).toBeLessThanOrEqual(Math.max(...vs));
        expect(r.confidence).toBeGreaterThanOrEqual(0);
        expect(r.confidence).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("weightedAverage's shares sum to 1 and follow weight × confidence", () => {
    fc.assert(
      fc.property(contributions(2), (list) => {
        fc.pre(list.some((c) => effective(c) > 0));
        const r = weightedAverage().fuse(list);
        expect(
          close(
            r.contributions.reduce((s, c) => s + c.share, 0),
            1,
          ),
        ).toBe(true);
        const total = list.reduce((s, c) => s + effective(c), 0);
        list.forEach((c, i) => expect(close(r.contributions[i]!.share, effective(c) / total)).toBe(true));
      }),
    );
  });

  it("trimmedMean (trim ≥ 1) ignores one outlier: replacing the largest value with a wilder one changes nothing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        contributions(3, 15),
        fc.double({ min: 1e7, max: 1e12, noNaN: true }),
        (trim, list, wild) => {
          fc.pre(list.length >= 2 * trim + 1);
          const strategy = trimmedMean({ trim });
          expect(numbers(strategy.fuse(replaceLargest(list, wild)))).toBe(numbers(strategy.fuse(list)));
        },
      ),
    );
  });

  it("trimmedMean (trim ≥ 1) stays within the honest values whichever value goes wild", () => {
    fc.assert(
      fc.property(contributions(3, 12), fc.nat(), fc.double({ min: -1e12, max: 1e12, noNaN: true }), (list, pick, wild) => {
        const i = pick % list.length;
        const honest = list.filter((_, j) => j !== i).map((c) => c.value as number);
        const r = trimmedMean({ trim: 1 }).fuse(list.map((c, j) => (j === i ? { ...c, value: wild } : c)));
        expect(numbers(r)).toBeGreaterThanOrEqual(Math.min(...honest));
        expect(numbers(r)).toBeLessThanOrEqual(Math.max(...honest));
      }),
    );
  });

  it("median ignores one outlier holding less than half the weight", () => {
    fc.assert(
      fc.property(contributions(3, 15), fc.double({ min: 1e7, max: 1e12, noNaN: true }), (list, wild) => {
        const max = Math.max(...list.map((c) => c.value as number));
        const total = list.reduce((s, c) => s + effective(c), 0);
        const top = list.find((c) => c.value === max)!;
        fc.pre(total > 0 && effective(top) < 0.49 * total);
        expect(numbers(median().fuse(replaceLargest(list, wild)))).toBe(numbers(median().fuse(list)));
      }),
    );
  });

  it("median of equal weights is the middle value (mean of the two middle ones for an even count)", () => {
    expect(median().fuse([1, 9, 5].map((v, i) => ({ participant: `p${i}`, value: v, confidence: 1 }))).value).toBe(5);
    expect(median().fuse([1, 9, 5, 3].map((v, i) => ({ participant: `p${i}`, value: v, confidence: 1 }))).value).toBe(4);
  });

  it("conflict is detected iff spread > threshold, with spread = (max − min) / max|v|", () => {
    fc.assert(
      fc.property(contributions(1, 8), fc.double({ min: 0, max: 2.5, noNaN: true }), (list, threshold) => {
        const r = weightedAverage({ conflictThreshold: threshold }).fuse(list);
        const vs = list.map((c) => c.value as number);
        const scale = Math.max(...vs.map(Math.abs));
        const spread = vs.length < 2 || scale === 0 ? 0 : (Math.max(...vs) - Math.min(...vs)) / scale;
        expect(close(r.conflict.spread, spread)).toBe(true);
        expect(r.conflict.detected).toBe(r.conflict.spread > threshold);
        expect(r.agreed).toBe(!r.conflict.detected);
      }),
    );
  });

  it("conflict never raises confidence: with a threshold it is at most what it is without one", () => {
    const strategies: ((t: number) => FusionStrategy)[] = [
      (t) => weightedAverage({ conflictThreshold: t }),
      (t) => median({ conflictThreshold: t }),
      (t) => trimmedMean({ conflictThreshold: t }),
      (t) => majorityVote({ conflictThreshold: t }),
    ];
    fc.assert(
      fc.property(contributions(1, 8), fc.double({ min: 0, max: 2, noNaN: true }), fc.nat(3), (list, t, s) => {
        const make = strategies[s]!;
        const withConflict = make(t).fuse(list);
        const without = make(1e9).fuse(list);
        expect(withConflict.confidence).toBeLessThanOrEqual(without.confidence + 1e-12);
        if (withConflict.conflict.detected)
          expect(close(withConflict.confidence, without.confidence * (t / withConflict.conflict.spread))).toBe(true);
      }),
    );
  });

  it("scale sets the unit of the spread", () => {
    const list = [
      { participant: "a", value: 0.5, confidence: 1 },
      { participant: "b", value: 0.6, confidence: 1 },
    ];
    expect(weightedAverage().fuse(list).conflict.spread).toBeCloseTo(0.1 / 0.6);
    expect(weightedAverage().fuse(list, { scale: 1 }).conflict.spread).toBeCloseTo(0.1);
  });

  it("rejects carry no value but lower confidence and prevent agreement", () => {
    const r = weightedAverage().fuse([
      { participant: "a", value: 100, confidence: 0.8 },
      { participant: "b", value: 100, confidence: 0.8 },
      { participant: "c", value: 999, confidence: 0.8, stance: "reject" },
    ]);
    expect(r.value).toBe(100);
    expect(r.agreed).toBe(false);
    expect(r.confidence).toBeCloseTo(0.8 * (2 / 3));
    expect(r.decision?.dissenters).toEqual(["c"]);
    expect(r.contributions.map((c) => c.share)).toEqual([0.5, 0.5, 0]);
  });

  it("trimmedMean lists the trimmed participants and measures spread over the kept ones", () => {
    const r = trimmedMean({ trim: 1 }).fuse([100, 101, 102, 10_000].map((v, i) => ({ participant: `p${i}`, value: v, confidence: 1 })));
    expect(r.value).toBeCloseTo(101.5);
    expect(r.decision?.trimmed).toEqual(["p0", "p3"]);
    expect(r.conflict.detected).toBe(false);
    expect(
      weightedAverage().fuse([100, 101, 102, 10_000].map((v, i) => ({ participant: `p${i}`, value: v, confidence: 1 }))).conflict.detected,
    ).toBe(true);
  });

  it("fuses nothing to null", () => {
    for (const s of [weightedAverage(), median(), trimmedMean(), majorityVote(), contractNet(), unanimity()]) {
      const r = s.fuse([]);
      expect(r).toMatchObject({ value: null, confidence: 0, agreed: false });
    }
  });
});

describe("majorityVote", () => {
  const labels = fc.constantFrom("buy", "sell", "hold");

  it("picks the confidence-weighted plurality", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ value: labels, confidence, weight }), { minLength: 1, maxLength: 12 }), (votes) => {
        const list = votes.map((v, i) => ({ participant: `p${i}`, ...v }));
        const r = majorityVote().fuse(list);
        const useConfidence = list.some((c) => effective(c) > 0);
        const useWeight = list.some((c) => c.weight > 0);
        const tally = new Map<string, number>();
        for (const c of list) tally.set(c.value, (tally.get(c.value) ?? 0) + (useConfidence ? effective(c) : useWeight ? c.weight : 1));
        const best = Math.max(...tally.values());
        expect(tally.get(r.value as string)).toBe(best);
        expect(r.decision?.tie === true).toBe([...tally.values()].filter((v) => v === best).length > 1);
        expect(r.conflict.detected).toBe(r.conflict.spread > 0.25);
        expect(r.agreed).toBe(!r.conflict.detected && r.decision?.tie !== true);
      }),
    );
  });

  it("is independent of the order answers arrive in", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ value: labels, confidence }), { minLength: 1, maxLength: 8 }), (votes) => {
        const list = votes.map((v, i) => ({ participant: `p${i}`, ...v }));
        expect(majorityVote().fuse([...list].reverse()).value).toBe(majorityVote().fuse(list).value);
      }),
    );
  });

  it("breaks ties by voter count, then tieValue when given", () => {
    const tied = [
      { participant: "a", value: "buy", confidence: 0.6 },
      { participant: "b", value: "sell", confidence: 0.3 },
      { participant: "c", value: "sell", confidence: 0.3 },
    ];
    const r = majorityVote().fuse(tied);
    expect(r.value).toBe("sell");
    expect(r.decision).toMatchObject({ tie: true, tally: { buy: 0.6, sell: 0.6 } });
    expect(r.agreed).toBe(false);
    expect(majorityVote({ tieValue: "hold" }).fuse(tied).value).toBe("hold");
  });

  it("agrees when one side holds more than 75 % of the vote", () => {
    const r = majorityVote().fuse([
      { participant: "a", value: "buy", confidence: 0.9 },
      { participant: "b", value: "buy", confidence: 0.8 },
      { participant: "c", value: "sell", confidence: 0.2 },
    ]);
    expect(r).toMatchObject({ value: "buy", agreed: true });
    expect(r.conflict.spread).toBeCloseTo(0.2 / 1.9);
    [0.9 / 1.9, 0.8 / 1.9, 0].forEach((share, i) => expect(r.contributions[i]!.share).toBeCloseTo(share));
  });
});

describe("contractNet", () => {
  const bids: Contribution[] = [
    { participant: "a", value: "route-a", confidence: 0.9, stance: "bid", cost: 5, score: 0.7 },
    { participant: "b", value: "route-b", confidence: 0.8, stance: "bid", cost: 3, score: 0.6 },
    { participant: "c", value: "route-c", confidence: 0.7, stance: "bid", cost: 7, score: 0.9 },
    { participant: "d", value: "x", confidence: 1, stance: "reject" },
  ];

  it("lowest cost wins; every bidder gets an award or a rejection, decliners nothing", () => {
    const r = contractNet().fuse(bids);
    expect(r).toMatchObject({
      value: "route-b",
      confidence: 0.8,
      agreed: true,
      decision: { winner: "b", awards: { a: "reject", b: "award", c: "reject" } },
    });
    expect(r.contributions.find((c) => c.participant === "b")?.share).toBe(1);
  });

  it("best score wins with that objective", () => {
    expect(contractNet({ objective: "best-score" }).fuse(bids).decision?.winner).toBe("c");
  });

  it("bids without the metric cannot win", () => {
    const r = contractNet().fuse([{ participant: "a", value: 1, confidence: 1, stance: "bid", score: 3 }]);
    expect(r).toMatchObject({ value: null, agreed: false, decision: { awards: { a: "reject" } } });
  });

  it("ties go to the more confident bidder, whatever the order", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(bids.slice(0, 3), { minLength: 3, maxLength: 3 }), (shuffled) => {
        const tied = shuffled.map((c) => ({ ...c, cost: 1 }));
        expect(contractNet().fuse(tied).decision?.winner).toBe("a");
      }),
    );
  });
});

describe("unanimity", () => {
  it("agrees only when everyone holds the reference value, with the weakest confidence", () => {
    const all = [
      { participant: "a", value: "buy", confidence: 0.9, stance: "accept" as const },
      { participant: "b", value: "buy", confidence: 0.6, stance: "accept" as const },
    ];
    expect(unanimity().fuse(all, { reference: "buy" })).toMatchObject({
      value: "buy",
      confidence: 0.6,
      agreed: true,
      conflict: { detected: false },
    });
    const split = [
      ...all,
      { participant: "c", value: "buy", confidence: 1, stance: "reject" as const },
      { participant: "d", value: "sell", confidence: 1 },
    ];
    const r = unanimity().fuse(split, { reference: "buy" });
    expect(r).toMatchObject({ value: null, confidence: 0, agreed: false, conflict: { detected: true, spread: 0.5, threshold: 0 } });
    expect(r.decision?.dissenters).toEqual(["c", "d"]);
  });

  it("compares numbers within the tolerance", () => {
    const list = [
      { participant: "a", value: 100, confidence: 1 },
      { participant: "b", value: 100.4, confidence: 1 },
    ];
    expect(unanimity({ tolerance: 0.5 }).fuse(list, { reference: 100 }).agreed).toBe(true);
    expect(unanimity().fuse(list, { reference: 100 }).decision?.dissenters).toEqual(["b"]);
  });
});

describe("validation", () => {
  it("rejects malformed contributions and options with RangeError naming the field", () => {
    const ok = { participant: "a", value: 1, confidence: 0.5 };
    expect(() => weightedAverage().fuse([{ ...ok, confidence: 1.5 }])).toThrow(/confidence must be a number in \[0, 1\] \(got 1.5\)/);
    expect(() => weightedAverage().fuse([ok, ok])).toThrow(/participant must be unique/);
    expect(() => weightedAverage().fuse([{ ...ok, weight: -1 }])).toThrow(/weight must be a finite number >= 0 \(got -1\)/);
    expect(() => weightedAverage().fuse([{ ...ok, value: "buy" }])).toThrow(/value must be a finite number \(got "buy"\)/);
    expect(() => weightedAverage({ conflictThreshold: -0.1 })).toThrow(/conflictThreshold must be a finite number >= 0 \(got -0.1\)/);
    expect(() => trimmedMean({ trim: 1.5 })).toThrow(/trim must be an integer >= 0 \(got 1.5\)/);
    expect(() => contractNet({ objective: "cheapest" as never })).toThrow(
      /objective must be "lowest-cost" or "best-score" \(got "cheapest"\)/,
    );
    expect(() => weightedAverage().fuse([ok], { scale: 0 })).toThrow(/scale must be a finite number > 0 \(got 0\)/);
  });
});
