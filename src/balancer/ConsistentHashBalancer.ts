/**
 * Consistent hashing on the thread id: a thread's calls stay on one replica while the replica set
 * allows, and few threads move when replicas come and go.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import { BALANCER_DEFAULTS, check, type BalancerOptions, type BalancerReplica, type ExcludeSet } from "./Balancer.js";
import { BaseBalancer, stripUndefined, weightOf, type ReplicaSlot } from "./BaseBalancer.js";
import { hashString } from "./hashString.js";

/** Options of {@link ConsistentHashBalancer}. */
export interface ConsistentHashOptions extends BalancerOptions {
  /**
   * Ring points per unit of weight (integer 1..10 000): a replica of weight w owns
   * round(virtualNodes × w) points, at least 1. More points spread threads more evenly (standard
   * deviation of a replica's share ≈ 1/√points) at the cost of memory and rebuild time.
   * Default: 160 (as ketama).
   */
  virtualNodes?: number;
}

/** A node's ring: sorted points and the eligible position owning each. */
interface Ring {
  readonly points: Uint32Array;
  readonly owners: Int32Array;
  /** Ids and point counts in eligible order: an update that leaves it unchanged reuses the ring. */
  readonly membership: string;
  /** Each replica's points, by `count + "\0" + id`, reused when the ring is rebuilt. */
  readonly pointsByKey: Map<string, Uint32Array>;
}

/** Owners are packed below the point in one float64 for sorting: 2^21 positions × 2^32 points = 2^53. */
const OWNER_SPACE = 2 ** 21;

/**
 * Most points in one ring (32 MB of sort buffer). Points per weight are absolute so that one
 * replica's weight never moves other replicas' threads; only weights far above 1 on many replicas
 * reach this, and then every replica's points are scaled down together.
 */
const MAX_RING_POINTS = 2 ** 22;

/**
 * A hash ring with virtual nodes: each replica owns `virtualNodes` × its weight points, a
 * thread goes to the owner of the first point at or after the hash of its id (binary search,
 * O(log(n × virtualNodes))). Adding or removing one of N replicas moves about 1/N of the threads,
 * and only those of the replica that left or to the replica that joined.
 *
 * An excluded owner (breaker open, or already tried) hands its threads to the next distinct owner
 * clockwise, the same one for every caller, so failover is sticky too. A call without a thread goes
 * to a random point (traffic in proportion to weight). The ring is rebuilt only when membership or
 * weights change (O(P log P) for P points; each replica's points are cached), not on every refresh.
 *
 * @typeParam R - replica records.
 */
export class ConsistentHashBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, Ring> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "consistent-hash" as const;
  private readonly virtualNodes: number;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: ConsistentHashOptions = {}) {
    super(options, true);
    const o = { ...BALANCER_DEFAULTS, ...stripUndefined(options) };
    check(
      Number.isInteger(o.virtualNodes) && o.virtualNodes >= 1 && o.virtualNodes <= 10_000,
      "virtualNodes",
      "an integer in 1..10000",
      o.virtualNodes,
    );
    this.virtualNodes = o.virtualNodes;
  }

  protected prepare(eligible: readonly ReplicaSlot<R>[], previous: Ring | undefined): Ring {
    check(eligible.length <= OWNER_SPACE, "replicas", `at most ${OWNER_SPACE} per node`, eligible.length);
    let totalWeight = 0;
    for (const slot of eligible) totalWeight += weightOf(slot.replica);
    const perWeight = Math.min(this.virtualNodes, MAX_RING_POINTS / Math.max(totalWeight, 1));
    const keys = eligible.map((slot) => `${Math.max(1, Math.round(perWeight * weightOf(slot.replica)))}\0${slot.replicaId}`);
    const membership = keys.join("\u0001");
    if (previous?.membership === membership) return previous;

    const pointsByKey = new Map<string, Uint32Array>();
    let total = 0;
    for (const key of keys) {
      const points = previous?.pointsByKey.get(key) ?? pointsOf(key);
      pointsByKey.set(key, points);
      total += points.length;
    }
    const packed = new Float64Array(total);
    let k = 0;
    for (const [position, key] of keys.entries()) {
      for (const point of pointsByKey.get(key)!) packed[k++] = point * OWNER_SPACE + position;
    }
    packed.sort();
    const points = new Uint32Array(total);
    const owners = new Int32Array(total);
    for (let i = 0; i < total; i += 1) {
      const v = packed[i]!;
      const point = Math.floor(v / OWNER_SPACE);
      points[i] = point;
      owners[i] = v - point * OWNER_SPACE;
    }
    return { points, owners, membership, pointsByKey };
  }

  protected choose(
    ring: Ring,
    eligible: readonly ReplicaSlot<R>[],
    threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const { points, owners } = ring;
    const total = points.length;
    let k: number;
    if (threadId === null) {
      k = Math.floor(this.random() * total);
    } else {
      const h = hashString(threadId);
      let lo = 0;
      let hi = total;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (points[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      k = lo === total ? 0 : lo;
    }
    if (exclude === undefined) return eligible[owners[k]!];
    // Walking a ring whose owners are all excluded would visit every point: check once instead.
    if (exclude.size >= eligible.length && eligible.every((slot) => exclude.has(slot.replicaId))) return undefined;
    for (let step = 0; step < total; step += 1) {
      const slot = eligible[owners[k]!]!;
      if (!exclude.has(slot.replicaId)) return slot;
      k = k + 1 === total ? 0 : k + 1;
    }
    return undefined;
  }
}

/** The ring points of a replica, from its ring key (`count + "\0" + id`). */
function pointsOf(key: string): Uint32Array {
  const cut = key.indexOf("\0");
  const count = Number(key.slice(0, cut));
  const id = key.slice(cut + 1);
  const points = new Uint32Array(count);
  for (let i = 0; i < count; i += 1) points[i] = hashString(`${id}#${i}`);
  return points;
}
