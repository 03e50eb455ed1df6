/**
 * Trimmed mean of numeric values: the confidence-weighted average of what is left after dropping
 * the most extreme values at both ends.
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

/** Options of {@link trimmedMean}. */
export interface TrimmedMeanOptions extends StrategyOptions {
  /**
   * How many values to drop at each end (an integer ≥ 0). Default 1: robust to one wild agent.
   * With few contributions it is lowered so that at least one value remains (`⌊(n − 1) / 2⌋`).
   */
  trim?: number;
}

const DEFAULTS = { trim: 1 };

/**
 * Sorts the supporters by value (then participant), drops `trim` from each end and takes the
 * confidence-weighted average of the rest (see `weightedAverage`). The trimmed contributions get
 * share 0 and are listed in `decision.trimmed`.
 *
 * Spread: `(max − min) / scale` over the kept values only — the point of trimming is that one
 * wild agent changes neither the value nor the conflict verdict. Default `conflictThreshold`: 0.2.
 * Confidence: the weight-averaged confidence of the kept contributions × the conflict penalty ×
 * (1 − the rejects' share).
 *
 * @throws RangeError when `trim` is not an integer ≥ 0 or `conflictThreshold` is invalid.
 */
export function trimmedMean(options: TrimmedMeanOptions = {}): FusionStrategy {
  const name = "trimmed-mean";
  const trim = options.trim ?? DEFAULTS.trim;
  if (!Number.isInteger(trim) || trim < 0) throw new RangeError(`${name}: trim must be an integer >= 0 (got ${String(trim)})`);
  const threshold = checkThreshold(options.conflictThreshold, NUMERIC_CONFLICT_THRESHOLD, name);
  return {
    name,
    valueKind: "number",
    fuse(contributions: readonly Contribution[], fuseOptions?: FuseOptions): FusionResult {
      return fuseNumeric(name, contributions, fuseOptions, threshold, (supporters) => {
        const cut = Math.min(trim, Math.floor((supporters.length - 1) / 2));
        const kept = supporters.slice(cut, supporters.length - cut);
        const w = effectiveWeights(kept);
        const value = weightedMean(
          kept.map((c) => c.value as number),
          w,
        );
        const trimmed = [...supporters.slice(0, cut), ...supporters.slice(supporters.length - cut)].map((c) => c.participant);
        return {
          value,
          shares: proportionalShares(kept, w),
          spreadOver: kept.map((c) => c.value as number),
          base: kept,
          ...(trimmed.length > 0 ? { decision: { trimmed } } : {}),
        };
      });
    },
  };
}
