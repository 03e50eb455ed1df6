/**
 * The sentiment agent's inputs: a few shipped headlines per symbol (invented, oldest first) and a
 * tiny word lexicon. Shipping them keeps the demo deterministic and offline — no news API, no LLM.
 *
 * @module
 */

/** Headlines per symbol, oldest first. */
export const HEADLINES: Readonly<Record<string, readonly string[]>> = {
  AAPL: [
    "Apple supplier warns of weak iPhone demand in China",
    "Apple unveils on-device AI features, analysts upbeat",
    "Apple beats earnings estimates on record services revenue",
    "Analyst upgrades Apple and raises price target",
    "Apple shares climb as buyback expands",
  ],
  MSFT: [
    "Microsoft cloud growth beats forecasts",
    "Microsoft faces EU antitrust probe over Teams bundling",
    "Microsoft wins large government cloud contract",
    "Microsoft Copilot adoption strong among enterprises",
    "Analysts upgrade Microsoft on record AI demand",
  ],
  NVDA: [
    "Nvidia data center sales soar past expectations",
    "Nvidia faces new export restrictions on AI chips",
    "Nvidia stock volatile as investors weigh valuation",
    "Nvidia reports record demand for next-generation GPUs",
    "Analysts warn Nvidia rally is stretched",
  ],
  TSLA: [
    "Tesla misses delivery estimates for the quarter",
    "Tesla recalls vehicles over software issue",
    "Tesla cuts prices again amid weak demand",
    "Tesla energy storage business shows strong growth",
    "Tesla robotaxi launch delayed, not ready says report",
  ],
};

/** Words that make a headline more positive. */
export const POSITIVE_WORDS: ReadonlySet<string> = new Set([
  "beat",
  "beats",
  "climb",
  "climbs",
  "expands",
  "gain",
  "gains",
  "growth",
  "ready",
  "record",
  "raises",
  "rally",
  "soar",
  "soars",
  "strong",
  "surge",
  "surges",
  "upbeat",
  "upgrade",
  "upgrades",
  "win",
  "wins",
]);

/** Words that make a headline more negative. */
export const NEGATIVE_WORDS: ReadonlySet<string> = new Set([
  "antitrust",
  "cut",
  "cuts",
  "delay",
  "delayed",
  "downgrade",
  "downgrades",
  "miss",
  "misses",
  "plunge",
  "plunges",
  "probe",
  "recall",
  "recalls",
  "restrictions",
  "slows",
  "slump",
  "stretched",
  "volatile",
  "warn",
  "warns",
  "weak",
]);

/** Words that flip the polarity of the next sentiment word within two words ("not ready"). */
export const NEGATORS: ReadonlySet<string> = new Set(["no", "not", "never", "without"]);

/** The headlines of `symbol` (none for an unknown symbol: the sentiment agent then has nothing to say). */
export function headlinesFor(symbol: string): readonly string[] {
  return HEADLINES[symbol] ?? [];
}
