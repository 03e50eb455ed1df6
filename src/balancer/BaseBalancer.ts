/**
 * What every strategy shares: the per-node replica slots that survive updates, the call
 * lifecycle's bookkeeping (in flight, counters, latency estimate) and the statistics. A strategy
 * adds its prepared structure (`prepare`), its choice (`choose`) and incremental upkeep
 * (`started`, `ended`).
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */
import {
  BALANCER_DEFAULTS,
  check,
  invalid,
  type Balancer,
  type BalancerName,
  type BalancerOptions,
  type BalancerReplica,
  type CallResult,
  type ExcludeSet,
  type ReplicaBalanceStats,
  type SelectRequest,
} from "./Balancer.js";

/**
 * Added to latency estimates where they multiply an in-flight count, in milliseconds: with
 * near-zero latencies (in-process replicas, fully decayed estimates) the in-flight count must
 * still tell replicas apart.
 */
export const LATENCY_FLOOR_MS = 0.001;

/** A replica's balancer-side state; the same object lives as long as the replica id stays in the node's set. @internal */
export class ReplicaSlot<R extends BalancerReplica> {
  /** The record of the last update. */
  replica: R;
  /** Index in the node's eligible list, or -1 when the replica is not eligible. */
  position = -1;
  /** Times selected. */
  selections = 0;
  /** Calls started and not ended. */
  inFlight = 0;
  /** Calls ended. */
  calls = 0;
  /** Calls ended failed. */
  errors = 0;
  /** Latency estimate in ms (a neutral value until `sampled`). */
  latencyMs = 0;
  /** Whether `latencyMs` comes from at least one call. */
  sampled = false;
  /** When `latencyMs` was last set, by the balancer's clock (ms). */
  stampMs = 0;
  /** A number the strategy keeps (weighted round robin: the virtual deadline, across updates; performance: the scaled estimate of its heap key). NaN: unset. */
  mark = Number.NaN;

  constructor(
    replica: R,
    /** The replica's id, fixed for the slot's life. */
    readonly replicaId: string,
  ) {
    this.replica = replica;
  }
}

/** A node's replicas as prepared by the last update. */
interface NodeEntry<R extends BalancerReplica, S> {
  /** Every replica given, in input order (statistics). */
  readonly all: ReplicaSlot<R>[];
  readonly byId: Map<string, ReplicaSlot<R>>;
  /** Active (and, for weighted strategies, positively weighted) replicas; `slot.position` indexes this. */
  readonly eligible: ReplicaSlot<R>[];
  /** The strategy's prepared structure. */
  readonly state: S;
}

/** The weight a weighted strategy uses: absent means 1; 0, negative and non-finite mean "takes none" (0). */
export function weightOf(replica: BalancerReplica): number {
  const w = replica.weight ?? 1;
  return w > 0 && w < Number.POSITIVE_INFINITY ? w : 0;
}

/**
 * Base class of the built-in strategies.
 *
 * @typeParam R - replica records.
 * @typeParam S - the strategy's per-node prepared structure.
 */
export abstract class BaseBalancer<R extends BalancerReplica, S> implements Balancer<R> {
  /** The strategy's name. */
  abstract readonly name: BalancerName;
  /** The clock (ms). */
  protected readonly now: () => number;
  /** Uniform randomness in [0, 1). */
  protected readonly random: () => number;
  /** Latest clock reading taken by this balancer (ms); strategies that need "now" on the select path may use it instead of reading the clock. */
  protected lastNowMs: number;
  private readonly latencyAlpha: number;
  /** Factor applied to the estimate to make a failed call's sample (≥ 1). */
  protected readonly failurePenalty: number;
  private readonly initialLatencyMs: number;
  private readonly nodes = new Map<string, NodeEntry<R, S>>();
  /** The slot `select` returned last, and its node's entry: the caller's `onCallStart` follows at once and finds it without a lookup. */
  private lastSelected: ReplicaSlot<R> | undefined;
  private lastEntry: NodeEntry<R, S> | undefined;

  /**
   * @param weighted - true for strategies that give replicas of weight 0 no traffic.
   * @throws RangeError naming the option and its value.
   */
  protected constructor(
    options: BalancerOptions,
    private readonly weighted: boolean,
  ) {
    const merged = { ...BALANCER_DEFAULTS, ...stripUndefined(options) };
    check(options.now === undefined || typeof options.now === "function", "now", "a function returning milliseconds", options.now);
    check(options.random === undefined || typeof options.random === "function", "random", "a function returning [0, 1)", options.random);
    check(merged.latencyAlpha > 0 && merged.latencyAlpha <= 1, "latencyAlpha", "in (0, 1]", merged.latencyAlpha);
    check(
      merged.failurePenalty >= 1 && Number.isFinite(merged.failurePenalty),
      "failurePenalty",
      "a finite number ≥ 1",
      merged.failurePenalty,
    );
    check(
      merged.initialLatencyMs >= 0 && Number.isFinite(merged.initialLatencyMs),
      "initialLatencyMs",
      "a finite number ≥ 0",
      merged.initialLatencyMs,
    );
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.latencyAlpha = merged.latencyAlpha;
    this.failurePenalty = merged.failurePenalty;
    this.initialLatencyMs = merged.initialLatencyMs;
    this.lastNowMs = this.now();
  }

  /** {@inheritDoc Balancer.update} */
  update(node: string, replicas: readonly R[]): void {
    const previous = this.nodes.get(node);
    this.lastSelected = undefined;
    this.lastEntry = undefined;
    if (replicas.length === 0) {
      this.nodes.delete(node);
      return;
    }
    const now = this.now();
    if (now > this.lastNowMs) this.lastNowMs = now;
    const all: ReplicaSlot<R>[] = [];
    const byId = new Map<string, ReplicaSlot<R>>();
    const eligible: ReplicaSlot<R>[] = [];
    const fresh: ReplicaSlot<R>[] = [];
    for (const replica of replicas) {
      const id = replica.replicaId;
      if (byId.has(id)) continue; // a duplicate id: the first record wins
      let slot = previous?.byId.get(id);
      if (slot === undefined) {
        slot = new ReplicaSlot(replica, id);
        fresh.push(slot);
      }
      slot.replica = replica;
      slot.position = -1;
      all.push(slot);
      byId.set(id, slot);
      // Draining replicas should never arrive here (the registry filters them), but a record that
      // says it takes no calls is believed whatever the source.
      if (replica.status === "active" && (!this.weighted || weightOf(replica) > 0)) {
        slot.position = eligible.length;
        eligible.push(slot);
      }
    }
    if (fresh.length > 0) {
      // A newcomer starts at a neutral estimate so it draws traffic without drawing all of it.
      const neutral = this.neutralLatency(eligible, now);
      for (const slot of fresh) {
        slot.latencyMs = neutral;
        slot.stampMs = now;
      }
    }
    this.nodes.set(node, { all, byId, eligible, state: this.prepare(eligible, previous?.state, now) });
  }

  /** {@inheritDoc Balancer.select} */
  select(node: string, request?: SelectRequest): R | undefined {
    const entry = this.nodes.get(node);
    if (entry === undefined || entry.eligible.length === 0) return undefined;
    const exclude = request?.exclude;
    const slot = this.choose(
      entry.state,
      entry.eligible,
      request?.threadId ?? null,
      exclude !== undefined && exclude.size > 0 ? exclude : undefined,
    );
    if (slot === undefined) return undefined;
    slot.selections += 1;
    this.lastSelected = slot;
    this.lastEntry = entry;
    return slot.replica;
  }

  /** {@inheritDoc Balancer.onCallStart} */
  onCallStart(node: string, replicaId: string): void {
    const entry = this.nodes.get(node);
    // An entry is replaced on every update, so the same entry means the same node and replica set.
    const last = this.lastSelected;
    const slot = entry !== undefined && entry === this.lastEntry && last?.replicaId === replicaId ? last : entry?.byId.get(replicaId);
    if (entry === undefined || slot === undefined) return;
    slot.inFlight += 1;
    if (slot.position >= 0) this.started(entry.state, slot);
  }

  /** {@inheritDoc Balancer.onCallEnd} */
  onCallEnd(node: string, replicaId: string, result: CallResult): void {
    const latencyMs = result.latencyMs;
    if (!(latencyMs >= 0 && latencyMs < Number.POSITIVE_INFINITY)) throw invalid("latencyMs", "a finite number ≥ 0", latencyMs);
    const entry = this.nodes.get(node);
    const slot = entry?.byId.get(replicaId);
    if (entry === undefined || slot === undefined) return;
    // A slot re-created while a call ran (the replica left and came back) has no start to match.
    const decremented = slot.inFlight > 0;
    if (decremented) slot.inFlight -= 1;
    slot.calls += 1;
    if (result.failed) slot.errors += 1;
    this.observe(slot, latencyMs, result.failed);
    if (slot.position >= 0) this.ended(entry.state, slot, decremented);
  }

  /** {@inheritDoc Balancer.stats} */
  stats(node: string): ReplicaBalanceStats[] {
    const entry = this.nodes.get(node);
    if (entry === undefined) return [];
    const now = this.now();
    return entry.all.map((slot) => ({
      replicaId: slot.replicaId,
      selections: slot.selections,
      inFlight: slot.inFlight,
      latencyEwmaMs: slot.sampled ? this.estimate(slot, now) : 0,
      errors: slot.errors,
      calls: slot.calls,
    }));
  }

  /** Builds the node's structure from its eligible replicas; `previous` is the structure it replaces, for continuity. */
  protected abstract prepare(eligible: readonly ReplicaSlot<R>[], previous: S | undefined, nowMs: number): S;

  /** Picks one eligible replica not in `exclude` (absent when empty), or `undefined`. `eligible` is never empty. */
  protected abstract choose(
    state: S,
    eligible: readonly ReplicaSlot<R>[],
    threadId: string | null,
    exclude: ExcludeSet | undefined,
  ): ReplicaSlot<R> | undefined;

  /** After `slot.inFlight` went up by one (eligible slots only). */
  protected started(_state: S, _slot: ReplicaSlot<R>): void {
    // Strategies that ignore in-flight counts keep nothing up to date.
  }

  /** After a call of `slot` ended and its latency was observed; `decremented` tells whether `inFlight` went down. */
  protected ended(_state: S, _slot: ReplicaSlot<R>, _decremented: boolean): void {
    // Strategies that ignore in-flight counts and latency keep nothing up to date.
  }

  /** Folds one latency sample into `slot.latencyMs`: an EWMA weighted by `latencyAlpha`, failures penalized. */
  protected observe(slot: ReplicaSlot<R>, latencyMs: number, failed: boolean): void {
    const sample = failed ? Math.max(latencyMs, this.failurePenalty * slot.latencyMs) : latencyMs;
    if (slot.sampled) {
      slot.latencyMs += this.latencyAlpha * (sample - slot.latencyMs);
    } else {
      // The neutral start is not evidence: the first sample replaces it.
      slot.latencyMs = sample;
      slot.sampled = true;
    }
  }

  /** The latency estimate of `slot` at `nowMs`, in ms. */
  protected estimate(slot: ReplicaSlot<R>, _nowMs: number): number {
    return slot.latencyMs;
  }

  /** Median estimate of the sampled eligible replicas, or `initialLatencyMs` when none has a sample. */
  private neutralLatency(eligible: readonly ReplicaSlot<R>[], nowMs: number): number {
    const values: number[] = [];
    for (const slot of eligible) if (slot.sampled) values.push(this.estimate(slot, nowMs));
    if (values.length === 0) return this.initialLatencyMs;
    values.sort((a, b) => a - b);
    const mid = values.length >> 1;
    return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
  }
}

/** `options` without the keys whose value is `undefined`, so that merging over defaults keeps the defaults. */
export function stripUndefined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(options) as (keyof T)[]) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
