/**
 * Arithmetic shared by the fusion strategies: input validation, effective weights, the spread and
 * confidence-penalty formulas, and the skeleton of the numeric strategies. Keeping the formulas
 * in one place is what makes "conflict" and "confidence" mean the same thing in every strategy.
 *
 * @module
 */
import type {
  Contribution,
  ContributionShare,
  FuseOptions,
  FusionDecision,
  FusionResult,
  FusionValue,
  Stance,
  ValueKind,
} from "./FusionStrategy.js";

/** A validated contribution with its defaults filled in and its input position. */
export interface Normalized {
  readonly participant: string;
  readonly value: FusionValue;
  readonly confidence: number;
  readonly weight: number;
  readonly stance: Stance;
  readonly cost: number | undefined;
  readonly score: number | undefined;
  /** Position in the input, so results keep input order whatever order a strategy sorts in. */
  readonly index: number;
}

/** Default conflict threshold of the numeric strategies: a spread of 20 % of the scale. */
export const NUMERIC_CONFLICT_THRESHOLD = 0.2;

/**
 * Validates `contributions` and fills in defaults (weight 1, stance `"counter"`).
 *
 * @throws RangeError naming the offending field and value.
 */
export function normalize(contributions: readonly Contribution[], strategy: string, kind: ValueKind): Normalized[] {
  // Inputs come from other agents (through the protocol) as often as from typed code: check them as unknown.
  const input: unknown = contributions;
  if (!Array.isArray(input)) throw new RangeError(`${strategy}: contributions must be an array (got ${typeof input})`);
  const seen = new Set<string>();
  return contributions.map((c, index) => {
    const raw = c as { [K in keyof Contribution]?: unknown };
    const at = `${strategy}: contributions[${index}]`;
    const participant = raw.participant;
    if (typeof participant !== "string" || participant === "")
      throw new RangeError(`${at}.participant must be a non-empty string (got ${show(participant)})`);
    if (seen.has(participant)) throw new RangeError(`${at}.participant must be unique (got "${participant}" twice)`);
    seen.add(participant);
    const confidence = raw.confidence;
    if (typeof confidence !== "number" || !(confidence >= 0 && confidence <= 1)) {
      throw new RangeError(`${at}.confidence must be a number in [0, 1] (got ${show(confidence)})`);
    }
    const weight = raw.weight ?? 1;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0)
      throw new RangeError(`${at}.weight must be a finite number >= 0 (got ${show(weight)})`);
    const stance = raw.stance ?? "counter";
    if (!isStance(stance)) throw new RangeError(`${at}.stance must be accept, counter, reject or bid (got ${show(stance)})`);
    // A reject's value is ignored, so its type does not matter.
    if (stance !== "reject") checkValue(raw.value, kind, `${at}.value`);
    const metric = (field: "cost" | "score"): number | undefined => {
      const v = raw[field];
      if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v)))
        throw new RangeError(`${at}.${field} must be a finite number (got ${show(v)})`);
      return v;
    };
    return { participant, value: c.value, confidence, weight, stance, cost: metric("cost"), score: metric("score"), index };
  });
}

const STANCES: readonly unknown[] = ["accept", "counter", "reject", "bid"];
function isStance(s: unknown): s is Stance {
  return STANCES.includes(s);
}

function checkValue(value: unknown, kind: ValueKind, at: string): void {
  if (typeof value === "number" && Number.isFinite(value)) return;
  if (kind === "any" && typeof value === "string") return;
  throw new RangeError(`${at} must be a finite number${kind === "any" ? " or a string" : ""} (got ${show(value)})`);
}

/** A value as it appears in an error message: JSON where possible (strings quoted), else `String()`. */
export function show(value: unknown): string {
  if (typeof value === "number" || value === undefined) return String(value);
  try {
    // JSON.stringify returns undefined for functions and symbols, whatever its declared type says.
    const text = JSON.stringify(value) as string | undefined;
    return text ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** The threshold to use: the per-call option, else the strategy's, validated as a finite number ≥ 0. */
export function resolveThreshold(options: FuseOptions | undefined, fromStrategy: number, strategy: string): number {
  const t = options?.conflictThreshold ?? fromStrategy;
  if (typeof t !== "number" || !Number.isFinite(t) || t < 0)
    throw new RangeError(`${strategy}: conflictThreshold must be a finite number >= 0 (got ${String(t)})`);
  return t;
}

/** Validates a strategy's constructor-time conflict threshold. */
export function checkThreshold(value: number | undefined, fallback: number, strategy: string): number {
  return resolveThreshold({ conflictThreshold: value }, fallback, strategy);
}

/**
 * Effective weights: `weight × confidence`, so a participant counts for as much as it is sure.
 * When they are all 0 (everyone at confidence 0) the plain weights are used, and when those are
 * all 0 too, equal weights: an all-zero input still has a defined answer.
 */
export function effectiveWeights(list: readonly Normalized[]): number[] {
  const byConfidence = list.map((c) => c.weight * c.confidence);
  if (sum(byConfidence) > 0) return byConfidence;
  const plain = list.map((c) => c.weight);
  return sum(plain) > 0 ? plain : list.map(() => 1);
}

/** The weight-averaged confidence of `list` (plain average when all weights are 0; 0 when empty). */
export function meanConfidence(list: readonly Normalized[]): number {
  if (list.length === 0) return 0;
  const w = sum(list.map((c) => c.weight));
  return w > 0 ? sum(list.map((c) => c.weight * c.confidence)) / w : sum(list.map((c) => c.confidence)) / list.length;
}

/**
 * Numeric spread: `(max − min) / scale`, where `scale` is the given one or the largest |value|
 * among `values`. Relative, so one threshold works for prices of 5 and of 5000; in [0, 2] with
 * the default scale. 0 for fewer than two values or when every value is 0.
 */
export function relativeSpread(values: readonly number[], scale: number | undefined): number {
  if (values.length < 2) return 0;
  const range = Math.max(...values) - Math.min(...values);
  const s = scale ?? Math.max(...values.map(Math.abs));
  return s > 0 ? range / s : 0;
}

/** Validates `options.scale` (a finite number > 0, or absent). */
export function resolveScale(options: FuseOptions | undefined, strategy: string): number | undefined {
  const s = options?.scale;
  if (s !== undefined && (typeof s !== "number" || !Number.isFinite(s) || s <= 0))
    throw new RangeError(`${strategy}: scale must be a finite number > 0 (got ${String(s)})`);
  return s;
}

/**
 * The confidence multiplier for a conflict: 1 when `spread ≤ threshold`, else `threshold / spread`
 * — so confidence falls in proportion to how far past the threshold the participants are (twice
 * the threshold halves it) and never rises because of a conflict.
 */
export function conflictPenalty(spread: number, threshold: number): number {
  return spread > threshold ? threshold / spread : 1;
}

/** Share of the effective weight (see {@link effectiveWeights}) held by rejects, in [0, 1]. */
export function rejectShare(list: readonly Normalized[]): number {
  if (list.length === 0) return 0;
  const w = effectiveWeights(list);
  const total = sum(w);
  return total > 0 ? sum(w.filter((_, i) => list[i]?.stance === "reject")) / total : 0;
}

/** `ContributionShare`s in input order, with the given shares (0 for everyone not in `shares`). */
export function sharesOf(list: readonly Normalized[], shares: ReadonlyMap<number, number>): ContributionShare[] {
  return [...list]
    .sort((a, b) => a.index - b.index)
    .map((c) => ({
      participant: c.participant,
      value: c.value,
      confidence: c.confidence,
      weight: c.weight,
      stance: c.stance,
      share: shares.get(c.index) ?? 0,
    }));
}

/** The result of a fusion with nothing to fuse. */
export function emptyResult(list: readonly Normalized[], threshold: number, decision?: FusionDecision): FusionResult {
  const result: FusionResult = {
    value: null,
    confidence: 0,
    agreed: false,
    conflict: { detected: false, spread: 0, threshold },
    contributions: sharesOf(list, new Map()),
  };
  if (decision !== undefined) result.decision = decision;
  return result;
}

/** Sorts by value, then by participant, so equal values have one order whatever the input order. */
export function byValueThenParticipant(a: Normalized, b: Normalized): number {
  return (a.value as number) - (b.value as number) || (a.participant < b.participant ? -1 : a.participant > b.participant ? 1 : 0);
}

/** What a numeric strategy computes from the supporters (non-rejects), sorted by value. */
export interface NumericCore {
  /** The fused value. */
  value: number;
  /** Share per contribution `index`; contributions absent here get 0. */
  shares: Map<number, number>;
  /** The values the spread is measured over. */
  spreadOver: number[];
  /** The contributions whose confidences make the base confidence. */
  base: readonly Normalized[];
  /** Strategy-specific details. */
  decision?: FusionDecision;
}

/**
 * The skeleton of the numeric strategies. Rejects are set aside (they dissent but carry no value);
 * `core` fuses the supporters; then
 *
 * - `spread = relativeSpread(core.spreadOver, scale)`, conflict iff `spread > threshold`;
 * - `confidence = meanConfidence(core.base) × conflictPenalty(spread, threshold) × (1 − rejectShare)`;
 * - `agreed = no conflict ∧ no reject`.
 *
 * The value is clamped to the supporters' range, so rounding can never put it outside.
 */
export function fuseNumeric(
  strategy: string,
  contributions: readonly Contribution[],
  options: FuseOptions | undefined,
  defaultThreshold: number,
  core: (supporters: readonly Normalized[]) => NumericCore,
): FusionResult {
  const list = normalize(contributions, strategy, "number");
  const threshold = resolveThreshold(options, defaultThreshold, strategy);
  const scale = resolveScale(options, strategy);
  const supporters = list.filter((c) => c.stance !== "reject").sort(byValueThenParticipant);
  const dissenters = list.filter((c) => c.stance === "reject").map((c) => c.participant);
  if (supporters.length === 0) return emptyResult(list, threshold, dissenters.length > 0 ? { dissenters } : undefined);
  const fused = core(supporters);
  const values = supporters.map((c) => c.value as number);
  const value = Math.min(Math.max(fused.value, values[0] ?? fused.value), values[values.length - 1] ?? fused.value);
  const spread = relativeSpread(fused.spreadOver, scale);
  const detected = spread > threshold;
  const confidence = meanConfidence(fused.base) * conflictPenalty(spread, threshold) * (1 - rejectShare(list));
  const decision: FusionDecision = { ...fused.decision };
  if (dissenters.length > 0) decision.dissenters = dissenters;
  const result: FusionResult = {
    value,
    confidence,
    agreed: !detected && dissenters.length === 0,
    conflict: { detected, spread, threshold },
    contributions: sharesOf(list, fused.shares),
  };
  if (Object.keys(decision).length > 0) result.decision = decision;
  return result;
}

/** Shares proportional to `weights` over `list` (by index). */
export function proportionalShares(list: readonly Normalized[], weights: readonly number[]): Map<number, number> {
  const total = sum(weights);
  return new Map(list.map((c, i) => [c.index, total > 0 ? (weights[i] ?? 0) / total : 0]));
}

/**
 * `Σ wᵢ·xᵢ / Σ wᵢ` computed as a running mean (no overflow of the products, no underflow of the
 * normalization), clamped to [min, max] of the values so rounding cannot leave that range. The
 * plain mean when every weight is 0.
 */
export function weightedMean(values: readonly number[], weights: readonly number[]): number {
  let mean = 0;
  let total = 0;
  values.forEach((x, i) => {
    const w = weights[i] ?? 0;
    if (!(w > 0)) return;
    total += w;
    mean += (w / total) * (x - mean);
  });
  if (total === 0)
    return values.length === 0
      ? 0
      : weightedMean(
          values,
          values.map(() => 1),
        );
  return Math.min(Math.max(mean, Math.min(...values)), Math.max(...values));
}

/** Sum of `values` (0 when empty). */
export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
