/**
 * Round robin: each eligible replica in turn.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import type { BalancerOptions, BalancerReplica, ExcludeSet } from "./Balancer.js";
import { BaseBalancer, type ReplicaSlot } from "./BaseBalancer.js";

/** The cursor of a node; the same object is carried across updates so the rotation continues. */
interface Cursor {
  next: number;
}

/**
 * Round robin over the eligible replicas, in the order the registry lists them (by id).
 *
 * The cursor starts at a random replica, so callers that start together do not all send their
 * first call to the same one; it survives updates, so a registry refresh does not restart the
 * rotation. An excluded replica loses its turn (the next one takes it). `select` is O(1), plus
 * one step per excluded replica met.
 *
 * @typeParam R - replica records.
 */
export class RoundRobinBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, Cursor> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "round-robin" as const;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: BalancerOptions = {}) {
    super(options, false);
  }

  protected prepare(eligible: readonly ReplicaSlot<R>[], previous: Cursor | undefined): Cursor {
    return previous ?? { next: Math.floor(this.random() * eligible.length) };
  }

  protected choose(
    cursor: Cursor,
    eligible: readonly ReplicaSlot<R>[],
    _threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const n = eligible.length;
    // The set may have shrunk since the cursor moved.
    let i = cursor.next < n ? cursor.next : cursor.next % n;
    for (let tries = 0; tries < n; tries += 1) {
      const slot = eligible[i]!;
      i = i + 1 === n ? 0 : i + 1;
      if (exclude === undefined || !exclude.has(slot.replicaId)) {
        cursor.next = i;
        return slot;
      }
    }
    return undefined;
  }
}
