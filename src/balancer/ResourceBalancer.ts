/**
 * Resource-based: the replica with the most spare CPU and memory, as its heartbeats report them.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import type { ReplicaInfo } from "../registry/Registry.js";
import { BALANCER_DEFAULTS, check, type BalancerOptions, type BalancerReplica, type ExcludeSet } from "./Balancer.js";
import { BaseBalancer, stripUndefined, type ReplicaSlot } from "./BaseBalancer.js";
import { IndexedMinHeap } from "./IndexedMinHeap.js";

/** Options of {@link ResourceBalancer}. */
export interface ResourceBalancerOptions extends BalancerOptions {
  /** Score per unit of CPU (the heartbeat's fraction of one core), ≥ 0. Default: 0.7. */
  cpuWeight?: number;
  /** Score per unit of memory share (resident bytes / the largest among the node's replicas), ≥ 0. Default: 0.3. */
  memoryWeight?: number;
  /**
   * Score per call this balancer has in flight on the replica, ≥ 0. Heartbeat figures are up to
   * one interval (~3 s) old; without this term every call until the next heartbeat would go to the
   * same replica. Default: 0.1 (ten calls weigh as much as a fully busy core).
   */
  inFlightWeight?: number;
}

/** A node's structure: heartbeat scores by position, and the heap of score + in-flight term. */
interface Scores {
  readonly heap: IndexedMinHeap;
  readonly base: Float64Array;
}

/** A heartbeat figure as a usable number: missing, negative or not finite count as 0. */
function figure(value: number | undefined): number {
  return value !== undefined && value > 0 && value < Number.POSITIVE_INFINITY ? value : 0;
}

/**
 * Sends each call to the replica with the lowest score `cpuWeight × cpu + memoryWeight × memory
 * share + inFlightWeight × calls in flight from here`. CPU and memory come from heartbeats and
 * change only when the registry view does, so they are scored once per update (O(n)); a call's
 * start or end moves one replica in a heap (O(log n)); `select` is O(1). Replicas that report no
 * load figures score on in-flight calls alone (least connections).
 *
 * @typeParam R - replica records.
 */
export class ResourceBalancer<R extends BalancerReplica = ReplicaInfo> extends BaseBalancer<R, Scores> {
  /** {@inheritDoc Balancer.name} */
  readonly name = "resource" as const;
  private readonly cpuWeight: number;
  private readonly memoryWeight: number;
  private readonly inFlightWeight: number;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: ResourceBalancerOptions = {}) {
    super(options, false);
    const o = { ...BALANCER_DEFAULTS, ...stripUndefined(options) };
    for (const field of ["cpuWeight", "memoryWeight", "inFlightWeight"] as const) {
      check(o[field] >= 0 && Number.isFinite(o[field]), field, "a finite number ≥ 0", o[field]);
    }
    this.cpuWeight = o.cpuWeight;
    this.memoryWeight = o.memoryWeight;
    this.inFlightWeight = o.inFlightWeight;
  }

  protected prepare(eligible: readonly ReplicaSlot<R>[]): Scores {
    let maxMemory = 0;
    for (const slot of eligible) maxMemory = Math.max(maxMemory, figure(slot.replica.load?.memoryBytes));
    const base = new Float64Array(eligible.length);
    const keys = new Float64Array(eligible.length);
    for (const [i, slot] of eligible.entries()) {
      const load = slot.replica.load;
      // Memory is relative to the node's largest replica: bytes alone say nothing about headroom.
      const memoryShare = maxMemory > 0 ? figure(load?.memoryBytes) / maxMemory : 0;
      base[i] = this.cpuWeight * figure(load?.cpu) + this.memoryWeight * memoryShare;
      keys[i] = base[i] + this.inFlightWeight * slot.inFlight;
    }
    return { heap: new IndexedMinHeap(keys), base };
  }

  protected choose(
    scores: Scores,
    eligible: readonly ReplicaSlot<R>[],
    _threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined {
    const heap = scores.heap;
    const item = exclude === undefined ? heap.peek() : heap.minWhere((i) => exclude.has(eligible[i]!.replicaId));
    return item >= 0 ? eligible[item] : undefined;
  }

  protected override started(scores: Scores, slot: ReplicaSlot<R>): void {
    this.rescore(scores, slot);
  }

  protected override ended(scores: Scores, slot: ReplicaSlot<R>): void {
    this.rescore(scores, slot);
  }

  private rescore(scores: Scores, slot: ReplicaSlot<R>): void {
    scores.heap.set(slot.position, scores.base[slot.position]! + this.inFlightWeight * slot.inFlight);
  }
}
