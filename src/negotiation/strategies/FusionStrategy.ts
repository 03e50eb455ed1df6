/**
 * The one interface every fusion strategy implements, and the shapes it consumes and produces.
 * A strategy turns the contributions of several participants (their values, confidences and
 * stances) into one value, says whether they agreed, and reports any conflict with each
 * participant's share of the result. Results are plain JSON, because the negotiation protocol
 * stores them in the state store as part of a session's outcome.
 *
 * @module
 */

/** A value participants negotiate about: a number (a price, a position size, a score in [-1, 1]) or a category (`"buy"`). */
export type FusionValue = number | string;

/**
 * How a participant answered the proposal the contribution comes from. Strategies use it to tell
 * support from dissent: a `"reject"` never contributes its value, only its weight as dissent.
 */
export type Stance = "accept" | "counter" | "reject" | "bid";

/** What one participant brings to a fusion. */
export interface Contribution {
  /** Who contributed (unique within one `fuse` call). */
  participant: string;
  /** The value it supports (for a reject: the value it rejected; ignored). */
  value: FusionValue;
  /** How sure it is, in [0, 1]. */
  confidence: number;
  /** Its standing relative to the others (trust, track record), a finite number ≥ 0. Default 1. */
  weight?: number;
  /** How it answered. Default `"counter"` (a value of its own). */
  stance?: Stance;
  /** A bid's cost (contract net, objective `"lowest-cost"`). */
  cost?: number;
  /** A bid's score (contract net, objective `"best-score"`). */
  score?: number;
}

/** A contribution as it entered the result. */
export interface ContributionShare {
  /** Who contributed. */
  participant: string;
  /** The value it contributed. */
  value: FusionValue;
  /** Its confidence, in [0, 1]. */
  confidence: number;
  /** Its weight (default 1 filled in). */
  weight: number;
  /** Its stance (default `"counter"` filled in). */
  stance: Stance;
  /** Its share of the result, in [0, 1]; the shares of one result sum to 1 (or are all 0 when nothing was fused). 0 for rejects and trimmed values. */
  share: number;
}

/** Whether the participants disagreed beyond the strategy's threshold. */
export interface ConflictReport {
  /** True exactly when `spread > threshold`. */
  detected: boolean;
  /** How far apart the contributions are, in the strategy's unit (see each strategy; ≥ 0). */
  spread: number;
  /** The threshold `spread` was compared with. */
  threshold: number;
}

/** Extra, strategy-specific facts about a decision. */
export interface FusionDecision {
  /** The participant whose contribution won (contract net). */
  winner?: string;
  /** Notice per bidder (contract net): the protocol sends these to the bidders. */
  awards?: Record<string, "award" | "reject">;
  /** Participants who did not go along (unanimity, and any strategy when someone rejected). */
  dissenters?: string[];
  /** Vote total per category (majority vote), keyed by `String(value)`. */
  tally?: Record<string, number>;
  /** True when the top categories tied (majority vote). */
  tie?: boolean;
  /** Participants whose values were trimmed away (trimmed mean). */
  trimmed?: string[];
}

/** The result of a fusion. JSON: it is stored with the session's outcome. */
export interface FusionResult {
  /** The fused value, or `null` when there was nothing to fuse (no contributions, everyone rejected, no valid bid, no unanimity). */
  value: FusionValue | null;
  /** Confidence in `value`, in [0, 1], already reduced for conflict and rejections (see each strategy). */
  confidence: number;
  /** True when the participants agreed: a value exists, no conflict was detected and nobody rejected. */
  agreed: boolean;
  /** The conflict measurement. */
  conflict: ConflictReport;
  /** Every contribution with its share, in input order. */
  contributions: ContributionShare[];
  /** Strategy-specific details. */
  decision?: FusionDecision;
}

/** Per-call options of {@link FusionStrategy.fuse}; each overrides the strategy's own option of the same name. */
export interface FuseOptions {
  /** Spread above which a conflict is detected (see the strategy for its unit). */
  conflictThreshold?: number;
  /** The value under discussion (the protocol passes the round's proposal): unanimity compares against it. */
  reference?: FusionValue;
  /** Numeric strategies: the magnitude spreads are measured against (> 0). Default: the largest |value| fused. */
  scale?: number;
}

/** Which values a strategy can fuse; the protocol refuses answers of another kind. */
export type ValueKind = "number" | "any";

/** A fusion strategy. Implementations are pure and stateless: the same input always gives the same result. */
export interface FusionStrategy {
  /** Stable name, e.g. `"weighted-average"`. */
  readonly name: string;
  /** `"number"`: only finite numbers can be fused; `"any"`: numbers and strings. */
  readonly valueKind: ValueKind;
  /**
   * Fuses `contributions` (any order; the result does not depend on it).
   *
   * @throws RangeError when a contribution is malformed (confidence outside [0, 1], negative
   *   weight, duplicate participant, a non-number for a numeric strategy) or an option is invalid.
   */
  fuse(contributions: readonly Contribution[], options?: FuseOptions): FusionResult;
}

/** Options every strategy accepts at construction. */
export interface StrategyOptions {
  /** Default conflict threshold of this strategy (≥ 0; its unit is the strategy's spread). Each strategy documents its default. */
  conflictThreshold?: number;
}
