/**
 * The three agents' signal math, as pure functions: momentum (EMA crossover and rate of change),
 * mean reversion (z-score against a moving average) and sentiment (a lexicon score of headlines).
 * Each returns a {@link AgentSignal}: a value in [-1, 1] (−1 strong sell, +1 strong buy), a
 * confidence in [0, 1] and a rationale a person can read. The graph's agent nodes wrap these.
 *
 * @module
 */
import { NEGATIVE_WORDS, NEGATORS, POSITIVE_WORDS } from "./headlines.js";
import { clamp, dailyVolatility, efficiencyRatio, ema, logRateOfChange, zScore } from "./indicators.js";

/** What each agent contributes to the negotiation (a negotiation `Signal` with a numeric value). */
export interface AgentSignal {
  /** Direction and strength, in [-1, 1]. */
  value: number;
  /** How sure the agent is, in [0, 1]. */
  confidence: number;
  /** Why, in words. */
  rationale: string;
}

/** Parameters of {@link momentumSignal}, in trading days. */
export const MOMENTUM = { fast: 10, slow: 30, lookback: 40 } as const;

/** Parameters of {@link meanReversionSignal}, in trading days. */
export const MEAN_REVERSION = { window: 10, trendWindow: 20 } as const;

/** Parameters of {@link sentimentSignal}: each older headline weighs `decay` times the next newer one. */
export const SENTIMENT = { decay: 0.8 } as const;

/**
 * Momentum: the `lookback`-day log return measured in its own standard deviations
 * (`z = roc / (σ_daily · √lookback)`), squashed to `tanh(z / 2)`. It is surest when the EMA
 * crossover points the same way as the return (confidence 0.5 + 0.4·|value|), and unsure when
 * they disagree (0.25): a fresh reversal the crossover has not confirmed yet.
 *
 * @throws RangeError with fewer than `slow` + 1 closes.
 */
export function momentumSignal(closes: readonly number[]): AgentSignal {
  const { fast, slow, lookback } = MOMENTUM;
  if (closes.length < slow + 1) throw new RangeError(`momentum needs at least ${slow + 1} closes (got ${closes.length})`);
  const roc = logRateOfChange(closes, lookback);
  const sigma = dailyVolatility(closes, lookback);
  // A move without any noise is as strong a trend as there is (tanh(±∞) = ±1), not no trend.
  const z = sigma > 0 ? roc / (sigma * Math.sqrt(lookback)) : roc === 0 ? 0 : Math.sign(roc) * Infinity;
  const value = Math.tanh(z / 2);
  const emaFast = ema(closes, fast);
  const emaSlow = ema(closes, slow);
  const crossover = (emaFast - emaSlow) / emaSlow;
  const agree = Math.sign(crossover) === Math.sign(roc) && roc !== 0;
  const confidence = agree ? 0.5 + 0.4 * Math.abs(value) : 0.25;
  return {
    value: round4(value),
    confidence: round4(confidence),
    rationale:
      `EMA${fast} ${crossover >= 0 ? "above" : "below"} EMA${slow} by ${pct(Math.abs(crossover))}, ` +
      `${lookback}d return ${signedPct(Math.expm1(roc))} (${Number.isFinite(z) ? signed(z, 1) : z > 0 ? "+∞" : "-∞"}σ)`,
  };
}

/**
 * Mean reversion: a bet against the last close's deviation from its `window`-day mean, damped by
 * how much the market trends: `value = −tanh(z / 2) · (1 − ER)` with `z` the close's z-score and
 * `ER` the efficiency ratio over `trendWindow` days (fading a move works in a range, not in a
 * trend). Confidence grows with |z|: |z| / 2.5, within [0.05, 0.9].
 *
 * @throws RangeError with fewer than `trendWindow` + 1 closes.
 */
export function meanReversionSignal(closes: readonly number[]): AgentSignal {
  const { window, trendWindow } = MEAN_REVERSION;
  const { z, mean } = zScore(closes, window);
  const er = efficiencyRatio(closes, trendWindow);
  return {
    value: round4(-Math.tanh(z / 2) * (1 - er)),
    confidence: round4(clamp(Math.abs(z) / 2.5, 0.05, 0.9)),
    rationale: `close ${Math.abs(z).toFixed(1)}σ ${z >= 0 ? "above" : "below"} its ${window}-day mean ${mean.toFixed(2)}, trend efficiency ${er.toFixed(2)}`,
  };
}

/** The lexicon score of one headline: `(positive − negative) / (positive + negative)`, 0 without sentiment words. */
export function scoreHeadline(headline: string): { score: number; hits: number } {
  const words = headline.toLowerCase().match(/[a-z]+(?:-[a-z]+)*/g) ?? [];
  let positive = 0;
  let negative = 0;
  let negateUntil = -1;
  words.forEach((word, i) => {
    if (NEGATORS.has(word)) {
      negateUntil = i + 2;
      return;
    }
    let polarity = POSITIVE_WORDS.has(word) ? 1 : NEGATIVE_WORDS.has(word) ? -1 : 0;
    if (polarity === 0) return;
    if (i <= negateUntil) polarity = -polarity;
    if (polarity > 0) positive += 1;
    else negative += 1;
  });
  const hits = positive + negative;
  return { score: hits === 0 ? 0 : (positive - negative) / hits, hits };
}

/**
 * Sentiment: the recency-weighted mean of the headlines' scores (the newest weighs 1, each older one
 * `decay` times less; headlines without sentiment words count as neutral). Confidence
 * `0.2 + 0.6 · coverage · consistency`, where coverage is the share of headlines with sentiment
 * words and consistency `|Σ w·s| / Σ w·|s|` (1 when they all point the same way).
 */
export function sentimentSignal(headlines: readonly string[]): AgentSignal {
  if (headlines.length === 0) return { value: 0, confidence: 0, rationale: "no headlines" };
  let weighted = 0;
  let weights = 0;
  let magnitude = 0;
  let covered = 0;
  let positive = 0;
  let negative = 0;
  headlines.forEach((headline, i) => {
    const w = SENTIMENT.decay ** (headlines.length - 1 - i);
    const { score, hits } = scoreHeadline(headline);
    weighted += w * score;
    weights += w;
    magnitude += w * Math.abs(score);
    if (hits > 0) covered += 1;
    if (score > 0) positive += 1;
    if (score < 0) negative += 1;
  });
  const consistency = magnitude > 0 ? Math.abs(weighted) / magnitude : 0;
  const coverage = covered / headlines.length;
  return {
    value: round4(clamp(weighted / weights, -1, 1)),
    confidence: round4(0.2 + 0.6 * coverage * consistency),
    rationale: `${positive} positive, ${negative} negative of ${headlines.length} headlines`,
  };
}

/** Rounded to 4 decimals: signals are shown and compared, and 1e-16 noise helps neither. */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4 + 0; // + 0 turns -0 into 0
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function signedPct(x: number): string {
  return `${x >= 0 ? "+" : ""}${pct(x)}`;
}

function signed(x: number, digits: number): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;
}
