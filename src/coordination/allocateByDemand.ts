/**
 * `allocateByDemand`: shares a fixed amount of a resource among agents by their demands —
 * weighted max-min fairness (water-filling) with guaranteed minimums. Pure; the persisted,
 * concurrency-safe form is `ResourceAllocator`.
 *
 * @module
 */
import { finiteIn, isRecord, nonEmpty, show } from "./validation.js";

/** One agent's claim on a resource pool. */
export interface ResourceDemand {
  /** How much it wants (a finite number ≥ 0, in the pool's unit). It never gets more. */
  demand: number;
  /** Its weight in the fair share (a finite number > 0). Twice the priority fills twice as fast. Default 1. */
  priority?: number;
  /**
   * What it gets before anyone gets more than their own minimum (finite, ≥ 0; capped at `demand`).
   * When the minimums add up to more than the total, the minimums themselves are shared fairly.
   * Default 0.
   */
  min?: number;
}

/** Relative slack of the final sum check, for rounding in the level computation. */
const SUM_EPSILON = 1e-12;

/**
 * Allocates `total` among `demands`. Agent `i` with demand `dᵢ`, priority `wᵢ` and minimum
 * `mᵢ = min(minᵢ, dᵢ)` gets
 *
 * - `dᵢ` when the demands fit (`Σ d ≤ total`);
 * - `min(dᵢ, max(mᵢ, λ·wᵢ))` otherwise, with the water level `λ` chosen so the allocations add up
 *   to `total` — when `Σ m ≤ total`;
 * - `min(mᵢ, λ·wᵢ)` adding up to `total` when even the minimums do not fit.
 *
 * So nobody gets more than it asked for, the sum never exceeds `total` (and equals it when demand
 * exceeds supply), and the result is weighted max-min fair: an agent short of its demand has at
 * least the priority-normalized share (`xᵢ / wᵢ`) of every other agent that is above its minimum.
 * The result lists every agent of `demands`, in the same order.
 *
 * @throws RangeError naming the first invalid field and its value.
 */
export function allocateByDemand(total: number, demands: Readonly<Record<string, ResourceDemand>>): Record<string, number> {
  finiteIn("total", total, 0);
  if (!isRecord(demands)) throw new RangeError(`demands must be an object of { demand, priority?, min? } by agent (got ${show(demands)})`);
  const ids = Object.keys(demands);
  const d: number[] = [];
  const w: number[] = [];
  const m: number[] = [];
  for (const id of ids) {
    nonEmpty("demands key", id);
    const entry: unknown = demands[id];
    if (!isRecord(entry)) throw new RangeError(`demands.${id} must be { demand, priority?, min? } (got ${show(entry)})`);
    const demand = finiteIn(`demands.${id}.demand`, entry.demand, 0);
    const priority = entry.priority ?? 1;
    if (typeof priority !== "number" || !Number.isFinite(priority) || priority <= 0)
      throw new RangeError(`demands.${id}.priority must be a finite number > 0 (got ${show(priority)})`);
    d.push(demand);
    w.push(priority);
    m.push(Math.min(demand, finiteIn(`demands.${id}.min`, entry.min ?? 0, 0)));
  }
  let x: number[];
  if (sum(d) <= total) x = d.slice();
  else if (sum(m) >= total) x = fill(total, zeros(ids.length), m, w);
  else x = fill(total, m, d, w);
  return Object.fromEntries(ids.map((id, i) => [id, x[i] ?? 0]));
}

/**
 * Water-filling between bounds: `xᵢ = clamp(λ·wᵢ, lᵢ, uᵢ)` with `Σ x = total`, for
 * `Σ l ≤ total ≤ Σ u`. `f(λ) = Σ clamp(λ·wᵢ, lᵢ, uᵢ)` is continuous, non-decreasing and linear
 * between the breakpoints `lᵢ/wᵢ` and `uᵢ/wᵢ`, so `λ` is found by walking the sorted breakpoints and
 * interpolating on the segment that crosses `total`. O(n²) for n agents, which is small.
 */
function fill(total: number, lower: readonly number[], upper: readonly number[], w: readonly number[]): number[] {
  const at = (lambda: number): number[] => w.map((wi, i) => clamp(lambda * wi, lower[i] ?? 0, upper[i] ?? 0));
  const points = [...new Set(w.flatMap((wi, i) => [(lower[i] ?? 0) / wi, (upper[i] ?? 0) / wi]))].sort((a, b) => a - b);
  let lo = 0;
  let flo = sum(at(0));
  let x = at(points[points.length - 1] ?? 0);
  for (const p of points) {
    const fp = sum(at(p));
    if (fp >= total) {
      const lambda = fp > flo ? lo + ((p - lo) * (total - flo)) / (fp - flo) : p;
      x = at(Math.min(Math.max(lambda, lo), p));
      break;
    }
    lo = p;
    flo = fp;
  }
  return trimExcess(x, lower, total);
}

/** Takes rounding excess (a few ulps) back from the largest allocations above their floors, so `Σ x ≤ total` holds exactly. */
function trimExcess(x: number[], lower: readonly number[], total: number): number[] {
  for (let pass = 0; pass < 4; pass += 1) {
    const excess = sum(x) - total;
    if (excess <= 0) return x;
    const order = x.map((_, i) => i).sort((a, b) => (x[b] ?? 0) - (lower[b] ?? 0) - ((x[a] ?? 0) - (lower[a] ?? 0)));
    let left = excess * (1 + SUM_EPSILON) + Number.MIN_VALUE;
    for (const i of order) {
      const room = (x[i] ?? 0) - (lower[i] ?? 0);
      if (room <= 0 || left <= 0) break;
      const take = Math.min(room, left);
      x[i] = (x[i] ?? 0) - take;
      left -= take;
    }
  }
  return x;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

function zeros(n: number): number[] {
  return Array.from({ length: n }, () => 0);
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
