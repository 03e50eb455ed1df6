/**
 * Contract net: participants bid for a task; the best bid wins, and every bidder is told whether
 * it won (`award`) or lost (`reject`).
 *
 * @module
 */
import type { Contribution, FuseOptions, FusionResult, FusionStrategy, StrategyOptions } from "./FusionStrategy.js";
import { emptyResult, normalize, resolveThreshold, sharesOf, show } from "./fusionMath.js";
import type { Normalized } from "./fusionMath.js";

/** Which bid wins. */
export type ContractNetObjective = "lowest-cost" | "best-score";

/** Options of {@link contractNet}. */
export interface ContractNetOptions extends StrategyOptions {
  /** `"lowest-cost"`: the bid with the smallest `cost` wins; `"best-score"`: the largest `score`. Default `"lowest-cost"`. */
  objective?: ContractNetObjective;
}

const DEFAULTS = { objective: "lowest-cost" as ContractNetObjective };

/**
 * Chooses among the contributions with stance `"bid"` that carry the objective's metric (`cost` or
 * `score`); ties go to the higher confidence, then to the smaller participant name. Bids without
 * the metric cannot win and are told `reject`; declines (stance `"reject"`) and non-bids get no
 * notice.
 *
 * Result: `value` is the winner's value (its bid's `value`, else what the protocol put there),
 * `confidence` the winner's confidence, `agreed` true when there is a winner, the winner's share 1.
 * Bids compete rather than conflict, so the conflict report is always `{ detected: false, spread: 0 }`
 * (the threshold is only echoed). `decision.winner` and `decision.awards` (one entry per bidder)
 * drive the notices the protocol sends.
 *
 * @throws RangeError when `objective` is unknown.
 */
export function contractNet(options: ContractNetOptions = {}): FusionStrategy {
  const name = "contract-net";
  const objective: unknown = options.objective ?? DEFAULTS.objective;
  if (objective !== "lowest-cost" && objective !== "best-score") {
    throw new RangeError(`${name}: objective must be "lowest-cost" or "best-score" (got ${show(objective)})`);
  }
  const threshold = resolveThreshold({ conflictThreshold: options.conflictThreshold }, 0, name);
  const metric = (c: Normalized): number | undefined => (objective === "lowest-cost" ? c.cost : c.score);
  return {
    name,
    valueKind: "any",
    fuse(contributions: readonly Contribution[], fuseOptions?: FuseOptions): FusionResult {
      const list = normalize(contributions, name, "any");
      const t = resolveThreshold(fuseOptions, threshold, name);
      const bidders = list.filter((c) => c.stance === "bid");
      const valid = bidders.filter((c) => metric(c) !== undefined);
      const better = (a: Normalized, b: Normalized): number => {
        const ma = metric(a) as number;
        const mb = metric(b) as number;
        const byMetric = objective === "lowest-cost" ? ma - mb : mb - ma;
        return byMetric || b.confidence - a.confidence || (a.participant < b.participant ? -1 : 1);
      };
      const winner = [...valid].sort(better)[0];
      const awards: Record<string, "award" | "reject"> = {};
      for (const b of bidders) awards[b.participant] = b === winner ? "award" : "reject";
      if (winner === undefined) return emptyResult(list, t, bidders.length > 0 ? { awards } : undefined);
      return {
        value: winner.value,
        confidence: winner.confidence,
        agreed: true,
        conflict: { detected: false, spread: 0, threshold: t },
        contributions: sharesOf(list, new Map([[winner.index, 1]])),
        decision: { winner: winner.participant, awards },
      };
    },
  };
}
