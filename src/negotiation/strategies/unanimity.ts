/**
 * Unanimity: agreed only when every participant goes along with the same value.
 *
 * @module
 */
import type { Contribution, FuseOptions, FusionResult, FusionStrategy, FusionValue } from "./FusionStrategy.js";
import { emptyResult, normalize, sharesOf } from "./fusionMath.js";
import type { Normalized } from "./fusionMath.js";

/** Options of {@link unanimity}. */
export interface UnanimityOptions {
  /** Numbers within this distance of the consensus value count as equal to it (≥ 0). Default 0 (exact). */
  tolerance?: number;
}

const DEFAULTS = { tolerance: 0 };

/**
 * The consensus candidate is `options.reference` (the protocol passes the round's proposal), or —
 * when fusing without one — the value most participants hold (ties: smallest `String(value)`). A
 * participant dissents when it rejects or holds another value; `decision.dissenters` lists them.
 *
 * Result: when nobody dissents, `value` is the candidate, `confidence` the smallest confidence (a
 * unanimous decision is as sure as its least sure member) and `agreed` true; otherwise `value` is
 * `null`, `confidence` 0 and `agreed` false. Spread: the dissenters' fraction of the participants;
 * the threshold is always 0 (any dissent is a conflict), so `conflictThreshold` is ignored.
 * Shares: equal among the participants when agreed.
 *
 * @throws RangeError when `tolerance` is not a finite number ≥ 0.
 */
export function unanimity(options: UnanimityOptions = {}): FusionStrategy {
  const name = "unanimity";
  const tolerance = options.tolerance ?? DEFAULTS.tolerance;
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`${name}: tolerance must be a finite number >= 0 (got ${String(tolerance)})`);
  }
  const same = (a: FusionValue, b: FusionValue): boolean =>
    typeof a === "number" && typeof b === "number" ? Math.abs(a - b) <= tolerance : a === b;
  return {
    name,
    valueKind: "any",
    fuse(contributions: readonly Contribution[], fuseOptions?: FuseOptions): FusionResult {
      const list = normalize(contributions, name, "any");
      if (list.length === 0) return emptyResult(list, 0);
      const candidate = fuseOptions?.reference ?? mostHeld(list);
      // No candidate means everyone rejected: all of them dissent.
      const dissenters = list
        .filter((c) => c.stance === "reject" || candidate === undefined || !same(c.value, candidate))
        .map((c) => c.participant);
      const spread = dissenters.length / list.length;
      if (candidate === undefined || dissenters.length > 0) {
        return { ...emptyResult(list, 0, { dissenters }), conflict: { detected: spread > 0, spread, threshold: 0 } };
      }
      return {
        value: candidate,
        confidence: Math.min(...list.map((c) => c.confidence)),
        agreed: true,
        conflict: { detected: false, spread: 0, threshold: 0 },
        contributions: sharesOf(list, new Map(list.map((c) => [c.index, 1 / list.length]))),
        decision: { dissenters: [] },
      };
    },
  };
}

function mostHeld(list: readonly Normalized[]): FusionValue | undefined {
  const counts = new Map<string, { value: FusionValue; n: number }>();
  for (const c of list) {
    if (c.stance === "reject") continue;
    const key = `${typeof c.value}:${String(c.value)}`;
    const entry = counts.get(key) ?? { value: c.value, n: 0 };
    entry.n += 1;
    counts.set(key, entry);
  }
  const ranked = [...counts.values()].sort((a, b) => b.n - a.n || (String(a.value) < String(b.value) ? -1 : 1));
  return ranked[0]?.value;
}
