/**
 * The technical indicators the agents use, as pure functions of a series of closing prices
 * (oldest first). Each throws a `RangeError` naming the argument when the series is too short,
 * rather than returning a number computed from too little data.
 *
 * @module
 */

/** Trading days per year, to annualize daily volatility. */
export const TRADING_DAYS = 252;

/** Arithmetic mean of the last `period` values. @throws RangeError when there are fewer. */
export function sma(values: readonly number[], period: number): number {
  const window = lastN(values, period, "sma");
  return window.reduce((a, b) => a + b, 0) / period;
}

/**
 * Exponential moving average at the last value, smoothing `2 / (period + 1)`, seeded with the SMA
 * of the first `period` values (the usual convention, so the result does not depend on an
 * arbitrary first value). @throws RangeError when there are fewer than `period` values.
 */
export function ema(values: readonly number[], period: number): number {
  lastN(values, period, "ema");
  const k = 2 / (period + 1);
  let e = values.slice(0, period).reduce((a, b) => a + b, 0) / period;
  for (let i = period; i < values.length; i += 1) e += k * ((values[i] as number) - e);
  return e;
}

/** Sample standard deviation (n − 1) of `values`; 0 for fewer than two. */
export function stdev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return Math.sqrt(ss / (values.length - 1));
}

/** Daily log returns `ln(pᵢ / pᵢ₋₁)`. */
export function logReturns(closes: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < closes.length; i += 1) out.push(Math.log((closes[i] as number) / (closes[i - 1] as number)));
  return out;
}

/** Standard deviation of the last `window` daily log returns (daily units). @throws RangeError when there are fewer. */
export function dailyVolatility(closes: readonly number[], window: number): number {
  return stdev(lastN(logReturns(closes), window, "dailyVolatility"));
}

/** {@link dailyVolatility} annualized with √252 (0.25 = 25 % a year). */
export function annualizedVolatility(closes: readonly number[], window: number): number {
  return dailyVolatility(closes, window) * Math.sqrt(TRADING_DAYS);
}

/** Log rate of change over `lookback` days: `ln(pₜ / pₜ₋ₗ)`. @throws RangeError when the series is not longer than `lookback`. */
export function logRateOfChange(closes: readonly number[], lookback: number): number {
  const window = lastN(closes, lookback + 1, "logRateOfChange");
  return Math.log((window[window.length - 1] as number) / (window[0] as number));
}

/**
 * How far the last close is from the mean of the last `window` closes, in standard deviations of
 * those closes; 0 when they are all equal.
 */
export function zScore(closes: readonly number[], window: number): { z: number; mean: number; sd: number } {
  const w = lastN(closes, window, "zScore");
  const mean = w.reduce((a, b) => a + b, 0) / window;
  const sd = stdev(w);
  return { z: sd > 0 ? ((w[w.length - 1] as number) - mean) / sd : 0, mean, sd };
}

/**
 * Kaufman's efficiency ratio over the last `window` days: net move ÷ the sum of the daily moves,
 * in [0, 1]. Near 1 the price went one way (a trend); near 0 it went back and forth (a range).
 * 0 when the price did not move at all.
 */
export function efficiencyRatio(closes: readonly number[], window: number): number {
  const w = lastN(closes, window + 1, "efficiencyRatio");
  let path = 0;
  for (let i = 1; i < w.length; i += 1) path += Math.abs((w[i] as number) - (w[i - 1] as number));
  return path > 0 ? Math.abs((w[w.length - 1] as number) - (w[0] as number)) / path : 0;
}

/** `x` clamped to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function lastN(values: readonly number[], n: number, what: string): readonly number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what}: period must be a positive integer (got ${n})`);
  if (values.length < n) throw new RangeError(`${what}: needs at least ${n} values (got ${values.length})`);
  return values.slice(values.length - n);
}
