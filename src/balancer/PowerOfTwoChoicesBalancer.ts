/**
 * Power of two choices with peak EWMA (the default strategy): compare two random replicas by
 * expected latency and take the cheaper.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import { BALANCER_DEFAULTS, check, type BalancerOptions, type BalancerReplica, type ExcludeSet } from "./Balancer.js";
import { BaseBalancer, LATENCY_FLOOR_MS, stripUndefined, type ReplicaSlot } from "./BaseBalancer.js";

/** Options of {@link PowerOfTwoChoicesBalancer}. */
export interface PowerOfTwoChoicesOptions extends BalancerOptions {
  /**
   * Time constant of the peak EWMA, in milliseconds (> 0): a sample lower than the estimate moves
   * it by 1 − exp(−elapsed / decayMs), and an estimate that gets no sample decays toward 0 by
   * exp(−elapsed / decayMs), so an avoided replica is tried again after a few `decayMs`.
   * Default: 10 000.
   */
  decayMs?: number;
  /** Random draws per choice before falling back to a scan when draws hit excluded replicas (integer ≥ 1). Default: 3. */
  exclusionRetries?: number;
}

/**
 * Power of two choices (P2C) over a peak-sensitive latency EWMA, as Finagle's and Linkerd's
 * `PeakEwma`: `select` draws two distinct replicas at random and takes the one of lower cost =
 * latency estimate × (calls in flight from here + 1). O(1) per call, no shared ordering to keep,
 * and nearly the load spread of comparing every replica (the "power of two choices").
 *
 * The estimate: a sample above it replaces it at once (peak: one slow call is enough to shift
 * traffic away); a sample below pulls it down with weight 1 − exp(−elapsed / `decayMs`) (slow to
 * forgive); without samples it decays toward 0, so a replica left alone because it was slow is
 * tried again and, if it recovered, wins its traffic back. A failed call counts as a sample of
 * `failurePenalty` × the estimate. A newcomer starts at the median estimate of the others (traffic,
 * but no flood); its first sample replaces that.
 *
 * The select path reads no clock: both candidates' estimates decay by the same factor between the
 * last clock reading (each call's end reads the clock) and now, so comparing them at the last
 * reading gives the same answer.
 *
 * @typeParam R - replica records.
 */
export class PowerOfTwoChoicesBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, undefined> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "p2c-ewma" as const;
  private readonly decayMs: number;
  private readonly exclusionRetries: number;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: PowerOfTwoChoicesOptions = {}) {
    super(options, false);
    const o = { ...BALANCER_DEFAULTS, ...stripUndefined(options) };
    check(o.decayMs > 0 && Number.isFinite(o.decayMs), "decayMs", "a finite number > 0 of milliseconds", o.decayMs);
    check(Number.isInteger(o.exclusionRetries) && o.exclusionRetries >= 1, "exclusionRetries", "an integer ≥ 1", o.exclusionRetries);
    this.decayMs = o.decayMs;
    this.exclusionRetries = o.exclusionRetries;
  }

  protected prepare(): undefined {
    return undefined;
  }

  protected choose(
    _state: undefined,
    eligible: readonly ReplicaSlot<R>[],
    _threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const n = eligible.length;
    if (n === 1) {
      const only = eligible[0]!;
      return exclude?.has(only.replicaId) === true ? undefined : only;
    }
    if (exclude !== undefined) return this.chooseExcluding(eligible, exclude);
    // One draw gives both indices: the fraction left after picking i is still uniform.
    const r = this.random() * n;
    const i = Math.floor(r);
    let j = Math.floor((r - i) * (n - 1));
    if (j >= i) j += 1;
    return this.cheaper(eligible[i]!, eligible[j]!);
  }

  protected override observe(slot: ReplicaSlot<R>, latencyMs: number, failed: boolean): void {
    const now = this.now();
    // Keeps every stamp ≤ lastNowMs, which the select path's comparison relies on.
    if (now > this.lastNowMs) this.lastNowMs = now;
    const sample = failed ? Math.max(latencyMs, this.failurePenalty * slot.latencyMs) : latencyMs;
    if (!slot.sampled || sample >= slot.latencyMs) {
      slot.latencyMs = sample;
      slot.sampled = true;
    } else {
      const w = Math.exp(-Math.max(0, now - slot.stampMs) / this.decayMs);
      slot.latencyMs = slot.latencyMs * w + sample * (1 - w);
    }
    slot.stampMs = now;
  }

  protected override estimate(slot: ReplicaSlot<R>, nowMs: number): number {
    return slot.latencyMs * Math.exp(-Math.max(0, nowMs - slot.stampMs) / this.decayMs);
  }

  /** The candidate of lower cost (the first on a tie). */
  private cheaper(a: ReplicaSlot<R>, b: ReplicaSlot<R>): ReplicaSlot<R> {
    const ref = this.lastNowMs;
    const tau = this.decayMs;
    const costA = (a.latencyMs * Math.exp((a.stampMs - ref) / tau) + LATENCY_FLOOR_MS) * (a.inFlight + 1);
    const costB = (b.latencyMs * Math.exp((b.stampMs - ref) / tau) + LATENCY_FLOOR_MS) * (b.inFlight + 1);
    return costB < costA ? b : a;
  }

  /** Two distinct non-excluded candidates by a few random draws each, else by one scan. */
  private chooseExcluding(eligible: readonly ReplicaSlot<R>[], exclude: ExcludeSet): ReplicaSlot<R> | undefined {
    const first = this.draw(eligible, exclude, undefined);
    const second = first === undefined ? undefined : this.draw(eligible, exclude, first);
    if (first !== undefined && second !== undefined) return this.cheaper(first, second);
    const open = eligible.filter((slot) => !exclude.has(slot.replicaId));
    if (open.length <= 1) return open[0];
    const m = open.length;
    const r = this.random() * m;
    const i = Math.floor(r);
    let j = Math.floor((r - i) * (m - 1));
    if (j >= i) j += 1;
    return this.cheaper(open[i]!, open[j]!);
  }

  private draw(eligible: readonly ReplicaSlot<R>[], exclude: ExcludeSet, not: ReplicaSlot<R> | undefined): ReplicaSlot<R> | undefined {
    for (let t = 0; t < this.exclusionRetries; t += 1) {
      const slot = eligible[Math.floor(this.random() * eligible.length)]!;
      if (slot !== not && !exclude.has(slot.replicaId)) return slot;
    }
    return undefined;
  }
}
