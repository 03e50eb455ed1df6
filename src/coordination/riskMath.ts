/**
 * Value at risk and expected shortfall from a price history: the local fallback of
 * `fabric.assessRisk` when no risk agent answers, and the arithmetic a risk agent can reuse.
 * Pure functions, no I/O.
 *
 * Conventions: P&L is in the currency of the exposure, a loss is a negative P&L, and VaR / ES are
 * reported as non-negative loss amounts over the horizon. Returns are simple (`p₁/p₀ − 1`), one per
 * step of the price history (a step is taken to be one day); longer horizons scale with the
 * square root of time, the usual rule for i.i.d. returns.
 *
 * @module
 */
import { show } from "./validation.js";

/** A VaR estimate. */
export interface VarEstimate {
  /** Value at risk: the loss not exceeded with probability `confidenceLevel` over the horizon (currency, ≥ 0). */
  var: number;
  /** Expected shortfall (CVaR): the mean loss in the tail beyond the VaR (currency, ≥ `var`). */
  expectedShortfall: number;
}

/** Relative tolerance of `⌈(1 − c)·n⌉`: (1 − 0.95) × 20 is 1.0000000000000009 in binary floating point, which must count as 1. */
const TAIL_EPSILON = 1e-9;

/**
 * Simple returns of a price history, oldest first.
 *
 * @throws RangeError when fewer than 2 prices are given or one is not a finite number > 0.
 */
export function simpleReturns(prices: readonly number[], field = "prices"): number[] {
  if (!Array.isArray(prices) || prices.length < 2) throw new RangeError(`${field} must list at least 2 prices (got ${show(prices)})`);
  prices.forEach((p, i) => {
    if (typeof p !== "number" || !Number.isFinite(p) || p <= 0)
      throw new RangeError(`${field}[${i}] must be a finite number > 0 (got ${show(p)})`);
  });
  const out: number[] = [];
  for (let i = 1; i < prices.length; i += 1) out.push((prices[i] as number) / (prices[i - 1] as number) - 1);
  return out;
}

/**
 * The P&L of each historical scenario: the exposure times each return. With one price series,
 * `exposure` is the net market value exposed to it (negative for a short). With a series per
 * symbol, `exposure` maps symbols to market values and a scenario is one step of every series,
 * aligned on the most recent price (series of different lengths use their common tail).
 *
 * @throws RangeError for a malformed exposure or price history, or a symbol without a series.
 */
export function scenarioPnl(
  exposure: number | Readonly<Record<string, number>>,
  prices: readonly number[] | Readonly<Record<string, readonly number[]>>,
): number[] {
  if (Array.isArray(prices)) {
    const net = typeof exposure === "number" ? exposure : netExposure(exposure);
    checkFinite("exposure", net);
    return simpleReturns(prices).map((r) => net * r);
  }
  if (typeof exposure === "number") throw new RangeError(`prices must be one series when exposure is a number (got a map of series)`);
  const series = prices as Readonly<Record<string, readonly number[]>>;
  const symbols = Object.keys(exposure);
  if (symbols.length === 0) throw new RangeError("positions must name at least one symbol (got {})");
  const returns = symbols.map((s) => {
    checkFinite(`positions.${s}`, exposure[s]);
    const own = Object.prototype.hasOwnProperty.call(series, s) ? series[s] : undefined;
    if (own === undefined) throw new RangeError(`prices.${s} must be the price history of position ${s} (got undefined)`);
    return simpleReturns(own, `prices.${s}`);
  });
  const n = Math.min(...returns.map((r) => r.length));
  const pnl: number[] = [];
  for (let k = 0; k < n; k += 1) {
    let total = 0;
    symbols.forEach((s, j) => {
      const r = returns[j] as number[];
      total += (exposure[s] as number) * (r[r.length - n + k] as number);
    });
    pnl.push(total);
  }
  return pnl;
}

/** The net market value of `positions` (longs minus shorts). */
export function netExposure(positions: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const [symbol, value] of Object.entries(positions)) total += checkFinite(`positions.${symbol}`, value);
  return total;
}

/**
 * Historical simulation: with `n` scenario P&Ls and `k = ⌈(1 − c)·n⌉` (at least 1), VaR is the k-th
 * largest loss and ES the mean of the k largest losses, both scaled by `√horizonDays`. A VaR below
 * zero (even the tail scenarios gain) is reported as 0.
 *
 * @throws RangeError for an empty P&L list or an invalid confidence level or horizon.
 */
export function historicalVaR(pnl: readonly number[], confidenceLevel: number, horizonDays = 1): VarEstimate {
  checkInputs(pnl, confidenceLevel, horizonDays, 1);
  const losses = pnl.map((x) => -x).sort((a, b) => b - a);
  const k = Math.max(1, Math.ceil((1 - confidenceLevel) * losses.length - TAIL_EPSILON));
  const tail = losses.slice(0, k);
  const scale = Math.sqrt(horizonDays);
  return clampEstimate((tail[k - 1] as number) * scale, (sum(tail) / k) * scale);
}

/**
 * Variance–covariance (normal) method on the scenario P&Ls: with their mean `μ` and sample
 * standard deviation `σ` per day, `z = Φ⁻¹(c)` and `h = horizonDays`,
 * `VaR = z·σ·√h − μ·h` and `ES = σ·√h·φ(z)/(1 − c) − μ·h`.
 *
 * @throws RangeError for fewer than 2 P&Ls or an invalid confidence level or horizon.
 */
export function parametricVaR(pnl: readonly number[], confidenceLevel: number, horizonDays = 1): VarEstimate {
  checkInputs(pnl, confidenceLevel, horizonDays, 2);
  const mu = mean(pnl);
  const sigma = sampleStdDev(pnl);
  const z = normalQuantile(confidenceLevel);
  const sd = sigma * Math.sqrt(horizonDays);
  const drift = mu * horizonDays;
  return clampEstimate(z * sd - drift, (sd * normalPdf(z)) / (1 - confidenceLevel) - drift);
}

/**
 * ES / VaR of a zero-mean normal distribution at `confidenceLevel`: `φ(z) / ((1 − c)·z)`, e.g.
 * 1.2540 at 0.95. Used to give an expected shortfall to a VaR that came without one.
 *
 * @throws RangeError when the level is not in (0.5, 1).
 */
export function normalShortfallRatio(confidenceLevel: number): number {
  if (!(confidenceLevel > 0.5 && confidenceLevel < 1))
    throw new RangeError(`confidenceLevel must be in (0.5, 1) (got ${show(confidenceLevel)})`);
  const z = normalQuantile(confidenceLevel);
  return normalPdf(z) / ((1 - confidenceLevel) * z);
}

/** Arithmetic mean (0 for an empty list). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}

/** Sample standard deviation (n − 1 in the denominator; 0 for fewer than 2 values). */
export function sampleStdDev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - m) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/** The standard normal density. */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

// Acklam's rational approximation of the normal quantile (relative error < 1.2e-9).
const A = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239] as const;
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572] as const;
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783,
] as const;
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] as const;
const P_LOW = 0.02425;

/**
 * The standard normal quantile `Φ⁻¹(p)` (Acklam's approximation, relative error below 1.2·10⁻⁹).
 *
 * @throws RangeError when `p` is not in (0, 1).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1) (got ${show(p)})`);
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  if (p > 1 - P_LOW) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
  );
}

function clampEstimate(v: number, es: number): VarEstimate {
  const clamped = Math.max(0, v);
  return { var: clamped, expectedShortfall: Math.max(clamped, es) };
}

function checkInputs(pnl: readonly number[], confidenceLevel: number, horizonDays: number, fewest: number): void {
  if (!Array.isArray(pnl) || pnl.length < fewest) throw new RangeError(`pnl must list at least ${fewest} scenario(s) (got ${show(pnl)})`);
  pnl.forEach((x, i) => checkFinite(`pnl[${i}]`, x));
  if (!(confidenceLevel > 0 && confidenceLevel < 1))
    throw new RangeError(`confidenceLevel must be in (0, 1) (got ${show(confidenceLevel)})`);
  if (!(horizonDays > 0 && Number.isFinite(horizonDays)))
    throw new RangeError(`horizonDays must be a finite number > 0 (got ${show(horizonDays)})`);
}

function checkFinite(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RangeError(`${field} must be a finite number (got ${show(value)})`);
  return value;
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
