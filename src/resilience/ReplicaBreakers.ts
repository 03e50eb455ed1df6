/**
 * One cockatiel circuit breaker per replica, and the view the balancer needs of them: which
 * replicas are out of service right now. A replica is out of service while its breaker is open
 * (until its half-open time), while its one half-open probe is in flight, and while it is ejected
 * as an outlier. A cap keeps a share of each node's replicas in service whatever the breakers say
 * (Envoy's max ejection percent): by default at least one replica always takes calls.
 *
 * cockatiel reads `Date.now()` for its own timing, so this class does too (tests use fake timers).
 *
 * @module
 */
import type { CircuitBreakerPolicy } from "cockatiel";
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  noJitterGenerator,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IHalfOpenAfterBackoffContext,
} from "cockatiel";
import type { ExcludeSet } from "../balancer/Balancer.js";
import type { BreakerEventLog } from "./BreakerEvents.js";
import type { SharedBreakerState } from "./SharedBreakerState.js";
import type { ResolvedResilience } from "./resilienceOptions.js";

/** The state of a replica as callers see it. */
export type ReplicaHealth = "closed" | "open" | "half-open" | "ejected";

/** A replica's breaker, for `fabric.status()`. */
export interface BreakerSnapshot {
  readonly node: string;
  readonly replicaId: string;
  readonly state: ReplicaHealth;
  /** When it went out of service: the breaker opened (or last re-opened) or the replica was ejected, whichever came first (epoch ms). */
  readonly since?: number;
  /** When it may take a probe call (open) or comes back (ejected), epoch ms. */
  readonly until?: number;
  /** Times it was ejected as an outlier in a row. */
  readonly ejections: number;
}

interface Entry {
  readonly node: string;
  readonly replicaId: string;
  readonly policy: CircuitBreakerPolicy;
  /** When the breaker last opened, epoch ms; kept while half-open, cleared on reset. */
  openedAt?: number;
  /** Wait of the current open period, in ms (recorded from the backoff cockatiel drew). */
  probeAfterMs: number;
  /** When the current outlier ejection began, epoch ms. */
  ejectedAt?: number;
  /** When the current outlier ejection ends, epoch ms. */
  ejectedUntil?: number;
  ejections: number;
  isolation?: { dispose(): void };
  restoring?: boolean;
  ejectTimer?: NodeJS.Timeout;
}

/**
 * The half-open backoff of one breaker, recording each duration cockatiel draws so that the
 * balancer knows when the breaker will take its probe.
 */
class RecordingBackoff implements IBackoffFactory<IHalfOpenAfterBackoffContext> {
  constructor(
    private readonly inner: IBackoffFactory<IHalfOpenAfterBackoffContext>,
    private readonly record: (ms: number) => void,
  ) {}

  next(context: IHalfOpenAfterBackoffContext): IBackoff<IHalfOpenAfterBackoffContext> {
    return this.wrap(this.inner.next(context));
  }

  private wrap(backoff: IBackoff<IHalfOpenAfterBackoffContext>): IBackoff<IHalfOpenAfterBackoffContext> {
    this.record(backoff.duration);
    return { duration: backoff.duration, next: (context) => this.wrap(backoff.next(context)) };
  }
}

/** Breakers of every replica this process calls. */
export class ReplicaBreakers {
  private readonly entries = new Map<string, Entry>();
  /** Replicas out of service, per node (open, half-open or ejected). */
  private readonly down = new Map<string, Set<string>>();
  private readonly excludes = new Map<string, CappedExclude>();
  /** Shared state across callers, when enabled (see `attachShared`). */
  shared: SharedBreakerState | undefined;

  constructor(
    private readonly options: ResolvedResilience,
    private readonly events: BreakerEventLog,
    /** Decides which thrown errors are failures of the replica (the rest pass through the breaker untouched). */
    private readonly isFailure: (error: Error) => boolean,
  ) {}

  /** Runs `fn` through the breaker of `replicaId`. @throws BrokenCircuitError when it is open. */
  execute<T>(node: string, replicaId: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.entry(node, replicaId).policy.execute(({ signal: s }) => fn(s), signal);
  }

  /** True when the local breaker would reject a call right now (open before its probe time, or probing). */
  rejects(node: string, replicaId: string, now = Date.now()): boolean {
    const entry = this.entries.get(key(node, replicaId));
    return entry !== undefined && isDown(entry, now);
  }

  /** Forgets the local breaker of a replica another caller found healthy again (a fresh, closed one replaces it). */
  resetLocal(node: string, replicaId: string): void {
    const k = key(node, replicaId);
    const entry = this.entries.get(k);
    if (entry === undefined || entry.isolation) return;
    this.entries.delete(k);
    this.markDown(node, replicaId, false);
  }

  /**
   * Replicas of `node` the balancer must skip now, given that the node has `replicaCount`
   * callable replicas (active and addressable: a replica still joining takes no calls, so it must
   * not count towards the share the cap keeps in service): out-of-service ones, minus those the
   * ejection cap puts back in service. Cheap: the same object is returned until breakers change.
   */
  exclusions(node: string, replicaCount: number): ExcludeSet | undefined {
    const localDown = this.down.get(node);
    const sharedVersion = this.shared?.version ?? 0;
    let exclude = this.excludes.get(node);
    if (exclude?.replicaCount === replicaCount && exclude.sharedVersion === sharedVersion) return exclude.size === 0 ? undefined : exclude;
    const down = new Set(localDown);
    if (this.shared) for (const id of this.shared.openIds(node)) down.add(id);
    exclude = new CappedExclude(this, node, down, replicaCount, this.options.maxEjectionPercent, sharedVersion);
    this.excludes.set(node, exclude);
    return down.size === 0 ? undefined : exclude;
  }

  /** True when `replicaId` is out of service now, locally or by the shared state. */
  isOut(node: string, replicaId: string, now = Date.now()): boolean {
    const entry = this.entries.get(key(node, replicaId));
    if (entry !== undefined && isDown(entry, now)) return true;
    return this.shared?.blocks(node, replicaId, now) ?? false;
  }

  /** Takes `replicaId` out of service for `ms` (outlier ejection). */
  eject(node: string, replicaId: string, ms: number, reason: string): void {
    const entry = this.entry(node, replicaId);
    if (entry.isolation) return;
    entry.ejections += 1;
    entry.isolation = entry.policy.isolate();
    entry.ejectedAt = Date.now();
    entry.ejectedUntil = entry.ejectedAt + ms;
    this.markDown(node, replicaId, true);
    this.events.emit({ at: Date.now(), node, replicaId, type: "eject", reason });
    entry.ejectTimer = setTimeout(() => this.restore(entry), ms);
    entry.ejectTimer.unref();
  }

  /** Times `replicaId` has been ejected in a row (0 once it served well for a whole interval). */
  ejections(node: string, replicaId: string): number {
    return this.entries.get(key(node, replicaId))?.ejections ?? 0;
  }

  /** Resets the consecutive-ejection count of a replica that behaved. */
  forgive(node: string, replicaId: string): void {
    const entry = this.entries.get(key(node, replicaId));
    if (entry && !entry.isolation) entry.ejections = 0;
  }

  /** Drops breakers of replicas of `node` that are gone (not in `present`). */
  forget(node: string, present: ReadonlySet<string>): void {
    for (const [k, entry] of this.entries) {
      if (entry.node !== node || present.has(entry.replicaId)) continue;
      if (entry.ejectTimer) clearTimeout(entry.ejectTimer);
      this.entries.delete(k);
      this.markDown(node, entry.replicaId, false);
    }
  }

  /** Every breaker that is not plainly closed, for status pages. */
  snapshot(): BreakerSnapshot[] {
    const out: BreakerSnapshot[] = [];
    for (const e of this.entries.values()) {
      const state = healthOf(e);
      if (state === "closed" && e.ejections === 0) continue;
      out.push({
        node: e.node,
        replicaId: e.replicaId,
        state,
        ...(state !== "closed" && outOfServiceSince(e) !== undefined ? { since: outOfServiceSince(e) } : {}),
        ...(state === "open" && e.openedAt !== undefined ? { until: e.openedAt + e.probeAfterMs } : {}),
        ...(state === "ejected" && e.ejectedUntil !== undefined ? { until: e.ejectedUntil } : {}),
        ejections: e.ejections,
      });
    }
    return out;
  }

  /** Stops ejection timers. */
  dispose(): void {
    for (const e of this.entries.values()) if (e.ejectTimer) clearTimeout(e.ejectTimer);
  }

  private restore(entry: Entry): void {
    entry.restoring = true; // cockatiel reports the end of an isolation as a reset; ours is a "return"
    entry.isolation?.dispose();
    entry.restoring = false;
    delete entry.isolation;
    delete entry.ejectedAt;
    delete entry.ejectedUntil;
    delete entry.ejectTimer;
    this.markDown(entry.node, entry.replicaId, entry.policy.state !== CircuitState.Closed);
    this.events.emit({ at: Date.now(), node: entry.node, replicaId: entry.replicaId, type: "return" });
  }

  private entry(node: string, replicaId: string): Entry {
    const k = key(node, replicaId);
    let entry = this.entries.get(k);
    if (entry !== undefined) return entry;
    const o = this.options;
    const breaker =
      o.breaker.kind === "consecutive"
        ? new ConsecutiveBreaker(o.breaker.threshold)
        : new SamplingBreaker({ threshold: o.breaker.threshold, duration: o.breaker.durationMs, minimumRps: o.breaker.minimumRps });
    const created: Entry = { node, replicaId, probeAfterMs: o.halfOpenInitialMs, ejections: 0 } as Entry;
    const backoff = new RecordingBackoff(
      // No jitter: the first probe comes exactly `initialMs` after the break, then 2x, 4x… up to
      // `maxMs`, so half-open times are deterministic — the balancer knows when a replica comes back,
      // and tests and docs can state it (cockatiel's default decorrelated jitter can probe far sooner
      // than asked). Jitter would spread many callers' probes; a caller sends one probe per period,
      // and with shared state only one caller across all of them probes.
      new ExponentialBackoff({ initialDelay: o.halfOpenInitialMs, maxDelay: o.halfOpenMaxMs, generator: noJitterGenerator }),
      (ms) => (created.probeAfterMs = ms),
    );
    const policy = circuitBreaker(
      handleWhen((e) => this.isFailure(e)),
      { breaker, halfOpenAfter: backoff },
    );
    (created as { policy: CircuitBreakerPolicy }).policy = policy;
    policy.onBreak((reason) => {
      if ("isolated" in reason) return; // ejections report themselves
      created.openedAt = Date.now();
      this.markDown(node, replicaId, true);
      const why = "error" in reason ? reason.error.message : "failed reply";
      this.events.emit({ at: created.openedAt, node, replicaId, type: "break", reason: why });
      void this.shared?.reportOpen(node, replicaId, created.probeAfterMs);
    });
    policy.onHalfOpen(() => this.events.emit({ at: Date.now(), node, replicaId, type: "half-open" }));
    policy.onReset(() => {
      if (created.restoring === true) return;
      delete created.openedAt;
      this.markDown(node, replicaId, created.isolation !== undefined);
      this.events.emit({ at: Date.now(), node, replicaId, type: "reset" });
      void this.shared?.reportClosed(node, replicaId);
    });
    entry = created;
    this.entries.set(k, entry);
    return entry;
  }

  private markDown(node: string, replicaId: string, down: boolean): void {
    let set = this.down.get(node);
    if (down) {
      if (set === undefined) {
        set = new Set();
        this.down.set(node, set);
      }
      set.add(replicaId);
    } else set?.delete(replicaId);
    this.excludes.delete(node); // rebuilt on the next pick
  }

  /** @internal For {@link CappedExclude}: the entry of a down replica. */
  entryOf(node: string, replicaId: string): Entry | undefined {
    return this.entries.get(key(node, replicaId));
  }
}

function key(node: string, replicaId: string): string {
  return `${node}\u0000${replicaId}`;
}

function healthOf(entry: Entry): ReplicaHealth {
  if (entry.isolation) return "ejected";
  switch (entry.policy.state) {
    case CircuitState.Open:
      return "open";
    case CircuitState.HalfOpen:
      return "half-open";
    case CircuitState.Isolated:
      return "ejected";
    default:
      return "closed";
  }
}

/**
 * When a down replica went out of service, epoch ms: the earlier of its breaker's opening and its
 * ejection (a replica can be both). Both are past times, so replicas order by it whatever the cause.
 */
function outOfServiceSince(entry: Entry): number | undefined {
  const { openedAt, ejectedAt } = entry;
  if (openedAt === undefined) return ejectedAt;
  return ejectedAt === undefined ? openedAt : Math.min(openedAt, ejectedAt);
}

/** Out of service now: ejected, probing, or open before its probe time. */
function isDown(entry: Entry, now: number): boolean {
  const health = healthOf(entry);
  if (health === "closed") return false;
  if (health === "open") return entry.openedAt === undefined || now < entry.openedAt + entry.probeAfterMs;
  return true;
}

/**
 * The exclusion set of one node: down replicas, except those the ejection cap keeps in service
 * (the ones that went down first, whose probe is closest).
 */
class CappedExclude implements ExcludeSet {
  private readonly keptInService = new Set<string>();

  constructor(
    private readonly breakers: ReplicaBreakers,
    private readonly node: string,
    private readonly down: ReadonlySet<string>,
    readonly replicaCount: number,
    maxEjectionPercent: number,
    readonly sharedVersion: number,
  ) {
    const cap = Math.max(0, Math.min(Math.floor((replicaCount * maxEjectionPercent) / 100), replicaCount - 1));
    const excess = down.size - cap;
    if (excess > 0) {
      const byAge = [...down].sort((a, b) => this.since(a) - this.since(b));
      for (const id of byAge.slice(0, excess)) this.keptInService.add(id);
    }
  }

  get size(): number {
    return this.down.size;
  }

  has(replicaId: string): boolean {
    if (!this.down.has(replicaId) || this.keptInService.has(replicaId)) return false;
    return this.breakers.isOut(this.node, replicaId);
  }

  /** True when `replicaId` is down but kept in service by the cap (its calls bypass the breaker). */
  keeps(replicaId: string): boolean {
    return this.keptInService.has(replicaId);
  }

  /**
   * When `replicaId` went out of service: by its local breaker, else by the shared record (opened
   * by another caller), else 0 (unknown: treated as the oldest).
   */
  private since(replicaId: string): number {
    const e = this.breakers.entryOf(this.node, replicaId);
    const local = e === undefined ? undefined : outOfServiceSince(e);
    return local ?? this.breakers.shared?.record(this.node, replicaId)?.openedAt ?? 0;
  }
}

export type { CappedExclude };
