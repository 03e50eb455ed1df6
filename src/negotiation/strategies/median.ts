/**
 * Confidence-weighted median of numeric values: robust to a minority of wild agents.
 *
 * @module
 */
import type { Contribution, FuseOptions, FusionResult, FusionStrategy, StrategyOptions } from "./FusionStrategy.js";
import { checkThreshold, effectiveWeights, fuseNumeric, NUMERIC_CONFLICT_THRESHOLD, proportionalShares, sum } from "./fusionMath.js";

/** Options of {@link median}. */
export type MedianOptions = StrategyOptions;

/** Relative tolerance for "the cumulative weight is exactly half", so float sums do not flip the tie rule. */
const HALF_EPSILON = 1e-12;

/**
 * The weighted median: sort the supporters by value, accumulate `wᵢ = weightᵢ × confidenceᵢ`, and
 * take the first value where the running total reaches half of `Σ w`; when it lands exactly on
 * half, the mean of that value and the next (the usual even-count median). A value holding less
 * than half the total weight can move the result by at most one position, however wild it is.
 *
 * Spread: `(max − min) / scale` over the middle of the supporters — `⌊n/4⌋` values dropped from each
 * end (an interquartile range), so one wild agent among four or more does not register as a
 * conflict while a real split does. Default `conflictThreshold`: 0.2. Confidence and shares as in
 * `weightedAverage`.
 *
 * @throws RangeError when `conflictThreshold` is not a finite number ≥ 0.
 */
export function median(options: MedianOptions = {}): FusionStrategy {
  const name = "median";
  const threshold = checkThreshold(options.conflictThreshold, NUMERIC_CONFLICT_THRESHOLD, name);
  return {
    name,
    valueKind: "number",
    fuse(contributions: readonly Contribution[], fuseOptions?: FuseOptions): FusionResult {
      return fuseNumeric(name, contributions, fuseOptions, threshold, (supporters) => {
        const w = effectiveWeights(supporters);
        const half = sum(w) / 2;
        const values = supporters.map((c) => c.value as number);
        let cumulative = 0;
        let value = values[values.length - 1] ?? 0;
        for (let i = 0; i < values.length; i += 1) {
          cumulative += w[i] ?? 0;
          if (cumulative >= half * (1 - HALF_EPSILON)) {
            const exact = Math.abs(cumulative - half) <= half * HALF_EPSILON && i + 1 < values.length;
            value = exact ? ((values[i] ?? 0) + (values[i + 1] ?? 0)) / 2 : (values[i] ?? 0);
            break;
          }
        }
        const cut = Math.floor(values.length / 4);
        return { value, shares: proportionalShares(supporters, w), spreadOver: values.slice(cut, values.length - cut), base: supporters };
      });
    },
  };
}
