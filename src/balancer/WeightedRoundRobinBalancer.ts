/**
 * Weighted round robin: replicas in turn, each as often as its weight says, interleaved smoothly.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import type { BalancerOptions, BalancerReplica, ExcludeSet } from "./Balancer.js";
import { BaseBalancer, weightOf, type ReplicaSlot } from "./BaseBalancer.js";
import { IndexedMinHeap } from "./IndexedMinHeap.js";

/** A node's schedule: virtual deadlines in a heap, and each position's step (1 / weight). */
interface Schedule {
  readonly heap: IndexedMinHeap;
  readonly step: Float64Array;
  /** Where the next newcomer starts within its first step, in [0, 1). */
  offset: number;
}

/** The golden ratio's fraction: successive offsets stepped by it stay evenly spread (a low-discrepancy sequence). */
const GOLDEN_FRACTION = 0.6180339887498949;

/**
 * Weighted round robin as an earliest-deadline-first schedule (as Envoy does): each replica has a
 * virtual deadline; the earliest one is served and moves on by 1 / weight. Over any stretch each
 * replica's share is its weight's share, turns interleave (weights 5, 1, 1 give a sequence such as
 * `a b a a a c a`, not `a a a a a b c`), weights need not be integers, and there is no schedule to
 * rebuild or store: `select` is O(log n).
 *
 * Deadlines survive updates, so a registry refresh does not restart the schedule. A newcomer, or a
 * replica coming back (from draining or from exclusion), starts at the current virtual time: it
 * loses the turns it missed rather than catching up with a burst. Replicas of weight 0 take no
 * traffic.
 *
 * @typeParam R - replica records.
 */
export class WeightedRoundRobinBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, Schedule> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "weighted-round-robin" as const;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: BalancerOptions = {}) {
    super(options, true);
  }

  protected prepare(eligible: readonly ReplicaSlot<R>[], previous: Schedule | undefined): Schedule {
    const top = previous?.heap.peek() ?? -1;
    const virtualNow = previous !== undefined && top >= 0 ? previous.heap.keyOf(top) : 0;
    const keys = new Float64Array(eligible.length);
    const step = new Float64Array(eligible.length);
    // Random for the first replica (callers starting together do not all begin with the same one),
    // then golden-ratio steps: replicas of equal weight take their turns far apart, not side by side.
    let offset = previous?.offset ?? this.random();
    for (const [i, slot] of eligible.entries()) {
      step[i] = 1 / weightOf(slot.replica);
      if (Number.isNaN(slot.mark)) {
        slot.mark = virtualNow + step[i] * offset;
        offset = (offset + GOLDEN_FRACTION) % 1;
      } else {
        slot.mark = Math.max(slot.mark, virtualNow);
      }
      keys[i] = slot.mark;
    }
    return { heap: new IndexedMinHeap(keys), step, offset };
  }

  protected choose(
    schedule: Schedule,
    eligible: readonly ReplicaSlot<R>[],
    _threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const heap = schedule.heap;
    let item: number;
    let skipped: number[] | undefined;
    if (exclude === undefined) {
      item = heap.peek();
    } else {
      skipped = [];
      item = heap.minWhere((i) => exclude.has(eligible[i]!.replicaId), skipped);
      if (item < 0) return undefined;
    }
    const deadline = heap.keyOf(item);
    if (skipped !== undefined) {
      // An excluded replica loses the turns it misses, so it does not get a burst when it returns.
      for (const s of skipped) {
        if (heap.keyOf(s) < deadline) {
          heap.set(s, deadline);
          eligible[s]!.mark = deadline;
        }
      }
    }
    const slot = eligible[item]!;
    slot.mark = deadline + schedule.step[item]!;
    heap.set(item, slot.mark);
    return slot;
  }
}
