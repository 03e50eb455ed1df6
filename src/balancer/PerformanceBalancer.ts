/**
 * Performance-based: the replica with the lowest expected latency.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import { BALANCER_DEFAULTS, check, type BalancerOptions, type BalancerReplica, type ExcludeSet } from "./Balancer.js";
import { BaseBalancer, LATENCY_FLOOR_MS, stripUndefined, type ReplicaSlot } from "./BaseBalancer.js";
import { IndexedMinHeap } from "./IndexedMinHeap.js";

/** Options of {@link PerformanceBalancer}. */
export interface PerformanceBalancerOptions extends BalancerOptions {
  /**
   * Time constant of the estimate's decay without samples, in milliseconds (> 0): a replica's
   * latency estimate is multiplied by exp(−elapsed / decayMs) since its last sample, so a replica
   * avoided because it was slow is tried again after a few `decayMs` (with a 20x slower replica,
   * ln 20 ≈ 3 of them) and, if it recovered, wins its traffic back. Default: 10 000.
   */
  decayMs?: number;
}

/** A node's prepared structure: the heap of costs and the time they are expressed at. */
interface CostHeap<R extends BalancerReplica> {
  /** Keyed by eligible position. */
  heap: IndexedMinHeap;
  /** Reference time of the heap's keys (ms, balancer clock); see {@link PerformanceBalancer}. */
  refMs: number;
  /** The node's eligible replicas, for re-keying. */
  readonly eligible: readonly ReplicaSlot<R>[];
}

/**
 * Sends each call to the replica with the lowest latency EWMA (`latencyAlpha` weights the newest
 * sample; failed calls count as slow) — multiplied by its in-flight count + 1. Without that factor,
 * every call started before the fastest replica's next sample would go to it (an LLM call takes
 * minutes: all of them); with it, concurrent calls spread in proportion to speed. With no call in
 * flight it is exactly "lowest EWMA". A newcomer starts at the median of the others.
 *
 * Unlike `p2c-ewma` it compares every replica (a heap keyed by cost: `select` O(1), a call's start
 * or end O(log n)). Like it, an estimate decays toward 0 with the time since its last sample
 * (`decayMs`): without that, a replica that was once slow would keep its estimate, and so its
 * 0% share, forever, since only a call to it could lower it. A sample is folded into the decayed
 * estimate.
 *
 * Why the heap need not be re-keyed as time passes: every estimate decays by the same factor
 * between two moments, so the order of L·exp(−(now − stamp)/decayMs) is the order of
 * L·exp((stamp − ref)/decayMs) for any fixed `ref`; keys are stored in that form and only the key
 * of a replica whose estimate or in-flight count changes is updated. The latency floor that keeps
 * in-flight counts apart at near-zero latencies is added to the key, so relative to the decayed
 * costs it shrinks as the reference ages — harmless, since any floor > 0 does that job. `ref`
 * moves to now (every replica re-keyed, O(n)) when the node is updated, and when a call ends more
 * than `decayMs` after it, so that keys, which grow as exp((stamp − ref) / decayMs), stay within a
 * factor e of the costs they stand for.
 *
 * @typeParam R - replica records.
 */
export class PerformanceBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, CostHeap<R>> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "performance" as const;
  private readonly decayMs: number;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: PerformanceBalancerOptions = {}) {
    super(options, false);
    const o = { ...BALANCER_DEFAULTS, ...stripUndefined(options) };
    check(o.decayMs > 0 && Number.isFinite(o.decayMs), "decayMs", "a finite number > 0 of milliseconds", o.decayMs);
    this.decayMs = o.decayMs;
  }

  protected prepare(eligible: readonly ReplicaSlot<R>[], _previous: CostHeap<R> | undefined, nowMs: number): CostHeap<R> {
    return { heap: this.heapAt(eligible, nowMs), refMs: nowMs, eligible };
  }

  protected choose(
    state: CostHeap<R>,
    eligible: readonly ReplicaSlot<R>[],
    _threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const heap = state.heap;
    const item = exclude === undefined ? heap.peek() : heap.minWhere((i) => exclude.has(eligible[i]!.replicaId));
    return item >= 0 ? eligible[item] : undefined;
  }

  protected override started(state: CostHeap<R>, slot: ReplicaSlot<R>): void {
    // Only the in-flight count changed: reuse the scaled estimate `key` left in `mark` (no exp).
    state.heap.set(slot.position, (slot.mark + LATENCY_FLOOR_MS) * (slot.inFlight + 1));
  }

  protected override ended(state: CostHeap<R>, slot: ReplicaSlot<R>): void {
    if (slot.stampMs - state.refMs > this.decayMs) {
      // Keys of later stamps grow as exp((stamp - ref) / decayMs): move the reference before they
      // drift far from the costs they stand for.
      state.refMs = slot.stampMs;
      state.heap = this.heapAt(state.eligible, state.refMs);
      return;
    }
    state.heap.set(slot.position, this.key(slot, state.refMs));
  }

  /** The EWMA step from the estimate decayed to now; stamps the slot. */
  protected override observe(slot: ReplicaSlot<R>, latencyMs: number, failed: boolean): void {
    const now = this.now();
    if (slot.sampled) slot.latencyMs = this.estimate(slot, now);
    super.observe(slot, latencyMs, failed);
    slot.stampMs = now;
  }

  protected override estimate(slot: ReplicaSlot<R>, nowMs: number): number {
    return slot.latencyMs * Math.exp(-Math.max(0, nowMs - slot.stampMs) / this.decayMs);
  }

  /**
   * Heap key of `slot`: its cost with the estimate expressed at `refMs` (see the class comment).
   * Leaves the scaled estimate in `slot.mark` for {@link PerformanceBalancer.started}.
   */
  private key(slot: ReplicaSlot<R>, refMs: number): number {
    slot.mark = slot.latencyMs * Math.exp((slot.stampMs - refMs) / this.decayMs);
    return (slot.mark + LATENCY_FLOOR_MS) * (slot.inFlight + 1);
  }

  /** A heap of `eligible` keyed at `refMs`, O(n). */
  private heapAt(eligible: readonly ReplicaSlot<R>[], refMs: number): IndexedMinHeap {
    return new IndexedMinHeap(Float64Array.from(eligible, (slot) => this.key(slot, refMs)));
  }
}
