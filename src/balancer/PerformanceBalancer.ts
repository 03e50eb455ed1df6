/**
 * Performance-based: the replica with the lowest expected latency.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import type { BalancerOptions, BalancerReplica, ExcludeSet } from "./Balancer.js";
import { BaseBalancer, LATENCY_FLOOR_MS, type ReplicaSlot } from "./BaseBalancer.js";
import { IndexedMinHeap } from "./IndexedMinHeap.js";

/** Expected latency of one more call: the latency EWMA times the calls it would queue behind. */
function costOf(slot: ReplicaSlot<BalancerReplica>): number {
  return (slot.latencyMs + LATENCY_FLOOR_MS) * (slot.inFlight + 1);
}

/**
 * Sends each call to the replica with the lowest latency EWMA (`latencyAlpha` weights the newest
 * sample; failed calls count as slow) — multiplied by its in-flight count + 1. Without that factor,
 * every call started before the fastest replica's next sample would go to it (an LLM call takes
 * minutes: all of them); with it, concurrent calls spread in proportion to speed. With no call in
 * flight it is exactly "lowest EWMA". A newcomer starts at the median of the others.
 *
 * Unlike `p2c-ewma` it compares every replica (a heap keyed by cost: `select` O(1), a call's start
 * or end O(log n)) and its estimate does not decay with time: a replica that fell behind gets
 * traffic again when the others' costs rise above its own.
 *
 * @typeParam R - replica records.
 */
export class PerformanceBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, IndexedMinHeap> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "performance" as const;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: BalancerOptions = {}) {
    super(options, false);
  }

  protected prepare(eligible: readonly ReplicaSlot<R>[]): IndexedMinHeap {
    return new IndexedMinHeap(Float64Array.from(eligible, costOf));
  }

  protected choose(
    heap: IndexedMinHeap,
    eligible: readonly ReplicaSlot<R>[],
    _threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const item = exclude === undefined ? heap.peek() : heap.minWhere((i) => exclude.has(eligible[i]!.replicaId));
    return item >= 0 ? eligible[item] : undefined;
  }

  protected override started(heap: IndexedMinHeap, slot: ReplicaSlot<R>): void {
    heap.set(slot.position, costOf(slot));
  }

  protected override ended(heap: IndexedMinHeap, slot: ReplicaSlot<R>): void {
    heap.set(slot.position, costOf(slot));
  }
}
