/**
 * Deterministic daily closing prices for the demo: a seeded random walk in log-price space whose
 * drift and volatility change by regime (trend, range, sell-off), so that the agents disagree in
 * interesting ways. The same symbol and seed always give the same series, in every process — the
 * workers that compute signals and the runner that checks them see identical data without
 * shipping a data file.
 *
 * @module
 */

/** One stretch of a series with constant dynamics. */
export interface Regime {
  /** Trading days it lasts. */
  days: number;
  /** `"trend"`: drift plus noise; `"range"`: pulled back towards the level the regime started at. */
  kind: "trend" | "range";
  /** Trend: mean daily log return (0.002 ≈ +0.2 % a day). Range: the daily pull towards the anchor, in (0, 1). */
  drift: number;
  /** Daily volatility of log returns (0.02 ≈ 2 % a day, 32 % a year). */
  vol: number;
}

/** How a symbol's series is generated. */
export interface PriceProfile {
  /** First close. */
  start: number;
  /** Regimes in order; their days add up to the series length (minus the first close). */
  regimes: readonly Regime[];
}

/** A generated series. */
export interface PriceSeries {
  symbol: string;
  /** Closing prices, oldest first, rounded to cents. */
  closes: number[];
}

/** The symbols the demo runs by default. */
export const DEFAULT_SYMBOLS = ["AAPL", "MSFT", "NVDA", "TSLA"] as const;

/** Default seed of {@link generatePrices}. */
export const DEFAULT_SEED = 7;

const trend = (days: number, drift: number, vol: number): Regime => ({ days, kind: "trend", drift, vol });
const range = (days: number, pull: number, vol: number): Regime => ({ days, kind: "range", drift: pull, vol });

/**
 * The stories of the default symbols (120 trading days each): a range that breaks out upwards, an
 * uptrend that pauses and then slides, a hot and very volatile run, and a range that turns into a
 * downtrend.
 */
export const PROFILES: Readonly<Record<string, PriceProfile>> = {
  AAPL: { start: 190, regimes: [range(70, 0.08, 0.011), trend(49, 0.0045, 0.01)] },
  MSFT: { start: 410, regimes: [trend(60, 0.0015, 0.009), range(40, 0.15, 0.008), trend(19, -0.006, 0.009)] },
  NVDA: { start: 120, regimes: [trend(70, 0.004, 0.03), trend(49, 0.003, 0.052)] },
  TSLA: { start: 250, regimes: [range(50, 0.1, 0.028), trend(69, -0.0045, 0.026)] },
};

/**
 * A profile for any other symbol, derived from its name: a range then a trend whose direction and
 * volatility come from the seeded generator.
 */
export function profileFor(symbol: string, seed = DEFAULT_SEED): PriceProfile {
  const known = PROFILES[symbol];
  if (known !== undefined) return known;
  const rand = mulberry32(hash32(`${seed}:profile:${symbol}`));
  const vol = 0.01 + rand() * 0.03;
  return {
    start: Math.round(20 + rand() * 480),
    regimes: [range(60, 0.1, vol), trend(59, (rand() - 0.5) * 0.008, vol)],
  };
}

/**
 * The closing prices of `symbol`: deterministic in (symbol, seed).
 *
 * @throws RangeError for an empty symbol or a seed that is not an integer.
 */
export function generatePrices(symbol: string, seed = DEFAULT_SEED): PriceSeries {
  if (typeof symbol !== "string" || symbol.length === 0)
    throw new RangeError(`symbol must be a non-empty string (got ${JSON.stringify(symbol)})`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer (got ${seed})`);
  const profile = profileFor(symbol, seed);
  const normal = gaussian(mulberry32(hash32(`${seed}:${symbol}`)));
  let logP = Math.log(profile.start);
  const closes = [profile.start];
  for (const regime of profile.regimes) {
    const anchor = logP;
    for (let d = 0; d < regime.days; d += 1) {
      const pull = regime.kind === "range" ? regime.drift * (anchor - logP) : regime.drift;
      logP += pull + regime.vol * normal();
      closes.push(Math.round(Math.exp(logP) * 100) / 100);
    }
  }
  return { symbol, closes };
}

/** FNV-1a, 32 bits: a stable seed from a string (the same on every platform and Node version). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG with uniform output in [0, 1); `Math.random` cannot be seeded. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform generator (Box–Muller; the second draw is kept for the next call). */
function gaussian(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - uniform(); // (0, 1]: log(0) would be -Infinity
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}
