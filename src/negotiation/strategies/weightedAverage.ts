/**
 * Confidence-weighted average of numeric values.
 *
 * @module
 */
import type { Contribution, FuseOptions, FusionResult, FusionStrategy, StrategyOptions } from "./FusionStrategy.js";
import {
  checkThreshold,
  effectiveWeights,
  fuseNumeric,
  NUMERIC_CONFLICT_THRESHOLD,
  proportionalShares,
  weightedMean,
} from "./fusionMath.js";

/** Options of {@link weightedAverage}. */
export type WeightedAverageOptions = StrategyOptions;

/**
 * Fuses numbers into `Σ wᵢ·xᵢ / Σ wᵢ` with `wᵢ = weightᵢ × confidenceᵢ` (plain weights when every
 * confidence is 0). The result always lies within [min, max] of the supporters' values.
 *
 * Spread: `(max − min) / scale` over all supporters (scale: `options.scale`, default the largest
 * |value|). Default `conflictThreshold`: 0.2. Confidence: the weight-averaged confidence of the
 * supporters × `threshold / spread` when in conflict × (1 − the rejects' share of the weight).
 * Shares: `wᵢ / Σ w`.
 *
 * @throws RangeError when `conflictThreshold` is not a finite number ≥ 0.
 */
export function weightedAverage(options: WeightedAverageOptions = {}): FusionStrategy {
  const name = "weighted-average";
  const threshold = checkThreshold(options.conflictThreshold, NUMERIC_CONFLICT_THRESHOLD, name);
  return {
    name,
    valueKind: "number",
    fuse(contributions: readonly Contribution[], fuseOptions?: FuseOptions): FusionResult {
      return fuseNumeric(name, contributions, fuseOptions, threshold, (supporters) => {
        const w = effectiveWeights(supporters);
        const value = weightedMean(
          supporters.map((c) => c.value as number),
          w,
        );
        return { value, shares: proportionalShares(supporters, w), spreadOver: supporters.map((c) => c.value as number), base: supporters };
      });
    },
  };
}
