/**
 * Confidence-weighted majority vote over categories (`"buy"`, `"sell"`, `"hold"`, or numbers used
 * as labels).
 *
 * @module
 */
import type { Contribution, FuseOptions, FusionResult, FusionStrategy, FusionValue, StrategyOptions } from "./FusionStrategy.js";
import {
  checkThreshold,
  conflictPenalty,
  effectiveWeights,
  emptyResult,
  meanConfidence,
  normalize,
  rejectShare,
  resolveThreshold,
  sharesOf,
  sum,
} from "./fusionMath.js";
import type { Normalized } from "./fusionMath.js";

/** Options of {@link majorityVote}. */
export interface MajorityVoteOptions extends StrategyOptions {
  /**
   * The value decided when the top categories tie (e.g. `"hold"`); it need not be one of them.
   * Default: none — the tie goes to the category with more voters, then to the smallest
   * `String(value)`, so the result never depends on the order answers arrived in.
   */
  tieValue?: FusionValue;
}

/** Default conflict threshold: a conflict when more than a quarter of the vote went against the winner. */
const DEFAULT_CONFLICT_THRESHOLD = 0.25;

interface Candidate {
  value: FusionValue;
  label: string;
  votes: number;
  voters: Normalized[];
}

/**
 * Each supporter votes for its value with `weight × confidence` (plain weights when every
 * confidence is 0); the category with the largest total wins (ties: see `tieValue`).
 *
 * Spread: `1 − winner's share of the votes`, in [0, 1). Default `conflictThreshold`: 0.25.
 * Confidence: the weight-averaged confidence of the winner's voters × `threshold / spread` when in
 * conflict × (1 − the rejects' share). Agreed: no conflict, no tie, no reject. Shares: a winner's
 * voter gets its part of the winner's votes; everyone else 0. `decision.tally` has every total.
 *
 * @throws RangeError when `conflictThreshold` is not a finite number ≥ 0.
 */
export function majorityVote(options: MajorityVoteOptions = {}): FusionStrategy {
  const name = "majority-vote";
  const threshold = checkThreshold(options.conflictThreshold, DEFAULT_CONFLICT_THRESHOLD, name);
  const { tieValue } = options;
  if (tieValue !== undefined && !(typeof tieValue === "string" || (typeof tieValue === "number" && Number.isFinite(tieValue)))) {
    throw new RangeError(`${name}: tieValue must be a string or a finite number (got ${String(tieValue)})`);
  }
  return {
    name,
    valueKind: "any",
    fuse(contributions: readonly Contribution[], fuseOptions?: FuseOptions): FusionResult {
      const list = normalize(contributions, name, "any");
      const t = resolveThreshold(fuseOptions, threshold, name);
      const supporters = list.filter((c) => c.stance !== "reject");
      const dissenters = list.filter((c) => c.stance === "reject").map((c) => c.participant);
      if (supporters.length === 0) return emptyResult(list, t, dissenters.length > 0 ? { dissenters } : undefined);

      const w = effectiveWeights(supporters);
      const candidates = new Map<string, Candidate>();
      supporters.forEach((c, i) => {
        // Keyed by type and text, so the number 1 and the string "1" stay different categories.
        const key = `${typeof c.value}:${String(c.value)}`;
        const candidate = candidates.get(key) ?? { value: c.value, label: String(c.value), votes: 0, voters: [] };
        candidate.votes += w[i] ?? 0;
        candidate.voters.push(c);
        candidates.set(key, candidate);
      });
      const ranked = [...candidates.values()].sort(
        (a, b) => b.votes - a.votes || b.voters.length - a.voters.length || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
      );
      const top = ranked[0] as Candidate;
      const tie = ranked.length > 1 && (ranked[1] as Candidate).votes === top.votes;
      const total = sum(w);
      const spread = 1 - top.votes / total;
      const detected = spread > t;
      const voterWeights = new Map(supporters.map((c, i) => [c.index, w[i] ?? 0]));
      const shares = new Map(top.voters.map((c) => [c.index, (voterWeights.get(c.index) ?? 0) / total]));
      const tally: Record<string, number> = {};
      for (const c of ranked) tally[c.label] = c.votes;
      const value = tie && tieValue !== undefined ? tieValue : top.value;
      const confidence = meanConfidence(top.voters) * conflictPenalty(spread, t) * (1 - rejectShare(list));
      return {
        value,
        confidence,
        agreed: !detected && !tie && dissenters.length === 0,
        conflict: { detected, spread, threshold: t },
        contributions: sharesOf(list, shares),
        decision: { tally, ...(tie ? { tie } : {}), ...(dissenters.length > 0 ? { dissenters } : {}) },
      };
    },
  };
}
