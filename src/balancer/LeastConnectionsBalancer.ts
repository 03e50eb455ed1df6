/**
 * Least connections: the replica with the fewest calls in flight from this caller.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import type { BalancerOptions, BalancerReplica, ExcludeSet } from "./Balancer.js";
import { BaseBalancer, type ReplicaSlot } from "./BaseBalancer.js";

/** Eligible positions grouped by in-flight count. */
interface Buckets {
  /** `lists[k]`: positions of the replicas with k calls in flight (unordered). */
  readonly lists: number[][];
  /** Index of each position within its list, for O(1) removal. */
  readonly index: Int32Array;
  /** The smallest k whose list is not empty (or `lists.length` when all are empty). */
  min: number;
}

/**
 * Least connections over the calls this balancer has in flight (it counts them itself through
 * `onCallStart`/`onCallEnd`; the replicas' heartbeat figures are seconds old and include other
 * callers' calls).
 *
 * Replicas sit in buckets by in-flight count, with the lowest non-empty bucket tracked: a call's
 * start or end moves one replica to the next bucket in O(1), and `select` takes a random replica
 * of the lowest bucket in O(1). Ties are broken at random so that many callers, each seeing all
 * replicas idle, do not all pick the first one. Excluded replicas are stepped over within the
 * bucket, then in the next ones: O(1) plus one step per excluded replica met.
 *
 * @typeParam R - replica records.
 */
export class LeastConnectionsBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, Buckets> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "least-connections" as const;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: BalancerOptions = {}) {
    super(options, false);
  }

  protected prepare(eligible: readonly ReplicaSlot<R>[]): Buckets {
    const buckets: Buckets = { lists: [[]], index: new Int32Array(eligible.length), min: 0 };
    for (const slot of eligible) this.place(buckets, slot.position, slot.inFlight);
    buckets.min = buckets.lists.findIndex((list) => list.length > 0);
    if (buckets.min < 0) buckets.min = buckets.lists.length;
    return buckets;
  }

  protected choose(
    buckets: Buckets,
    eligible: readonly ReplicaSlot<R>[],
    _threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const lists = buckets.lists;
    for (let k = buckets.min; k < lists.length; k += 1) {
      const list = lists[k]!;
      const len = list.length;
      if (len === 0) continue;
      let i = len === 1 ? 0 : Math.floor(this.random() * len);
      if (exclude === undefined) return eligible[list[i]!];
      for (let step = 0; step < len; step += 1) {
        const slot = eligible[list[i]!]!;
        if (!exclude.has(slot.replicaId)) return slot;
        i = i + 1 === len ? 0 : i + 1;
      }
    }
    return undefined;
  }

  protected override started(buckets: Buckets, slot: ReplicaSlot<R>): void {
    this.move(buckets, slot.position, slot.inFlight - 1, slot.inFlight);
  }

  protected override ended(buckets: Buckets, slot: ReplicaSlot<R>, decremented: boolean): void {
    if (decremented) this.move(buckets, slot.position, slot.inFlight + 1, slot.inFlight);
  }

  private place(buckets: Buckets, position: number, k: number): void {
    const lists = buckets.lists;
    while (lists.length <= k) lists.push([]);
    const list = lists[k]!;
    buckets.index[position] = list.length;
    list.push(position);
  }

  /** Moves `position` from bucket `from` to the adjacent bucket `to` and keeps `min` exact. */
  private move(buckets: Buckets, position: number, from: number, to: number): void {
    const list = buckets.lists[from]!;
    const at = buckets.index[position]!;
    const last = list.pop()!;
    if (last !== position) {
      list[at] = last;
      buckets.index[last] = at;
    }
    this.place(buckets, position, to);
    if (to < buckets.min) buckets.min = to;
    else if (from === buckets.min && list.length === 0) buckets.min = to;
  }
}
