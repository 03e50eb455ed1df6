/**
 * Opt-in sharing of breaker state between callers in several processes, through the state store.
 * When one caller's breaker for a replica opens, it records the replica as open (until its probe
 * time) and announces it; every caller then skips that replica without having to fail on it
 * first. When the probe time comes, exactly one caller across all of them — the holder of a
 * store lock — sends the half-open probe; its outcome closes the replica for everyone or opens it
 * again with a longer wait.
 *
 * Reads on the call path come from a local cache, kept current by notices and a periodic refresh
 * of the nodes this process calls; the store is never read per call.
 *
 * @module
 */
import type { Logger } from "../observability/logger.js";
import type { Lock, StateStore } from "../state/StateStore.js";

/** A replica's shared breaker record. */
export interface SharedOpenRecord {
  state: "open";
  /** When it opened, epoch ms. */
  openedAt: number;
  /** When one probe may be sent, epoch ms. */
  probeAt: number;
  /** Consecutive open periods (backoff exponent). */
  attempt: number;
  /** The caller that wrote it. */
  by: string;
}

/** Options of {@link SharedBreakerState}. */
export interface SharedBreakerStateOptions {
  store: StateStore;
  /** This caller's id (recorded in records and locks). */
  callerId: string;
  logger: Logger;
  /** First wait before a probe, in ms. */
  halfOpenInitialMs: number;
  /** Longest wait before a probe, in ms. */
  halfOpenMaxMs: number;
  /** How often cached records of called nodes are re-read, in ms. Default 1 000. */
  refreshMs?: number;
  /** How long a probe lock is held at most, in ms (a probe that takes longer lets another caller probe). Default 30 000. */
  probeLockMs?: number;
  /** The replicas of a node right now (the registry's view), for refreshes. */
  replicaIds(node: string): readonly string[];
  /** Called when another caller opened or closed a replica (to reset the local breaker). */
  onRemoteChange(node: string, replicaId: string, record: SharedOpenRecord | undefined): void;
  /** Called when this caller's own half-open probe closed a shared record (for its events). Default: nothing. */
  onProbeClosed?(node: string, replicaId: string): void;
}

const CHANNEL = "breakers";

/** The shared breaker records, cached. */
export class SharedBreakerState {
  private readonly cache = new Map<string, SharedOpenRecord>();
  private readonly probes = new Map<string, Lock>();
  /** Probes taken by a call already (so only that one call goes to the replica). */
  private readonly probing = new Set<string>();
  /** Bumped on every change of the cached records, so views built on them know when to rebuild. */
  version = 0;
  private readonly tracked = new Set<string>();
  private readonly kv;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly refreshMs: number;
  private readonly probeLockMs: number;

  constructor(private readonly o: SharedBreakerStateOptions) {
    this.kv = o.store.namespace<SharedOpenRecord>("breakers");
    this.refreshMs = o.refreshMs ?? 1_000;
    this.probeLockMs = o.probeLockMs ?? 30_000;
  }

  /** Subscribes to changes and starts refreshing. */
  async start(): Promise<void> {
    this.unsubscribe = await this.o.store.subscribe(CHANNEL, (message) => {
      const m = message as { node?: unknown; replicaId?: unknown; by?: unknown };
      if (typeof m.node !== "string" || typeof m.replicaId !== "string" || m.by === this.o.callerId) return;
      void this.reload(m.node, m.replicaId, true);
    });
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** Stops refreshing, unsubscribes and releases probe locks. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.();
    await Promise.allSettled([...this.probes.values()].map((lock) => this.o.store.releaseLock(lock)));
    this.probes.clear();
  }

  /** Starts following `node`'s records (called when this process first calls the node). */
  track(node: string): void {
    if (this.tracked.has(node)) return;
    this.tracked.add(node);
    void this.refresh();
  }

  /**
   * Whether the shared state keeps `replicaId` out of service for this caller now: open before its
   * probe time, or probe time reached but another caller holds the probe.
   */
  blocks(node: string, replicaId: string, now = Date.now()): boolean {
    const record = this.cache.get(key(node, replicaId));
    if (record === undefined) return false;
    if (now < record.probeAt) return true;
    const k = key(node, replicaId);
    return !this.probes.has(k) || this.probing.has(k);
  }

  /** Replicas of `node` with a shared open record (whatever their probe time). */
  openIds(node: string): string[] {
    const out: string[] = [];
    const prefix = `${node}\u0000`;
    for (const k of this.cache.keys()) if (k.startsWith(prefix)) out.push(k.slice(prefix.length));
    return out;
  }

  /** Claims this caller's probe of `replicaId` for one call; false when there is none to claim. */
  beginProbe(node: string, replicaId: string): boolean {
    const k = key(node, replicaId);
    if (!this.probes.has(k) || this.probing.has(k)) return false;
    this.probing.add(k);
    this.version += 1;
    return true;
  }

  /** True when this caller holds the probe of `replicaId` (its next call is the probe). */
  isProbe(node: string, replicaId: string): boolean {
    return this.probes.has(key(node, replicaId));
  }

  /** Records that this caller's breaker opened on `replicaId` (`probeAfterMs` from now). */
  async reportOpen(node: string, replicaId: string, probeAfterMs: number): Promise<void> {
    const k = key(node, replicaId);
    const previous = this.cache.get(k);
    const now = Date.now();
    const attempt = (previous?.attempt ?? 0) + 1;
    const wait = Math.max(probeAfterMs, Math.min(this.o.halfOpenInitialMs * 2 ** (attempt - 1), this.o.halfOpenMaxMs));
    const record: SharedOpenRecord = { state: "open", openedAt: now, probeAt: now + wait, attempt, by: this.o.callerId };
    this.cache.set(k, record);
    this.version += 1;
    await this.write(node, replicaId, record);
    await this.releaseProbe(k);
  }

  /** Records that `replicaId` answered well (a probe succeeded, or the local breaker reset). */
  async reportClosed(node: string, replicaId: string): Promise<void> {
    const k = key(node, replicaId);
    const had = this.cache.delete(k);
    if (had) this.version += 1;
    const probed = this.probes.has(k);
    if (had || probed) await this.write(node, replicaId, undefined);
    // Other callers hear of it through the store; this one closed it and says so itself.
    if (had && probed) this.o.onProbeClosed?.(node, replicaId);
    await this.releaseProbe(k);
  }

  /** The cached record of a replica (for status pages). */
  record(node: string, replicaId: string): SharedOpenRecord | undefined {
    return this.cache.get(key(node, replicaId));
  }

  private async write(node: string, replicaId: string, record: SharedOpenRecord | undefined): Promise<void> {
    try {
      const id = storeKey(node, replicaId);
      // The TTL only collects records nobody probes any more (every caller gone); while callers
      // follow the node, a due record is probed long before it expires.
      if (record) await this.kv.set(id, record, { ttlMs: Math.max(60_000, this.o.halfOpenMaxMs * 10) });
      else await this.kv.delete(id);
      await this.o.store.publish(CHANNEL, { node, replicaId, by: this.o.callerId });
    } catch (e) {
      this.o.logger.warn("could not share a breaker change", { node, replicaId, error: e });
    }
  }

  /** Re-reads every tracked node's records and tries to take probes that are due. */
  private async refresh(): Promise<void> {
    for (const node of this.tracked) {
      const ids = this.o.replicaIds(node);
      if (ids.length === 0) continue;
      try {
        const records = await this.kv.getMany(ids.map((id) => storeKey(node, id)));
        ids.forEach((id, i) => this.apply(node, id, records[i], false));
      } catch (e) {
        this.o.logger.debug("shared breaker refresh failed", { node, error: e });
      }
    }
    await this.takeDueProbes();
  }

  private async reload(node: string, replicaId: string, remote: boolean): Promise<void> {
    try {
      this.apply(node, replicaId, await this.kv.get(storeKey(node, replicaId)), remote);
      await this.takeDueProbes();
    } catch (e) {
      this.o.logger.debug("shared breaker reload failed", { node, replicaId, error: e });
    }
  }

  private apply(node: string, replicaId: string, record: SharedOpenRecord | undefined, remote: boolean): void {
    const k = key(node, replicaId);
    const before = this.cache.get(k);
    if (record) this.cache.set(k, record);
    else this.cache.delete(k);
    const changed = (before === undefined) !== (record === undefined) || (before && record && before.openedAt !== record.openedAt);
    if (changed) this.version += 1;
    if (changed && (remote || record?.by !== this.o.callerId)) this.o.onRemoteChange(node, replicaId, record);
  }

  /** Takes the probe lock of every record whose probe time has come (one caller wins each). */
  private async takeDueProbes(): Promise<void> {
    const now = Date.now();
    for (const [k, record] of this.cache) {
      if (now < record.probeAt || this.probes.has(k)) continue;
      const lock = await this.o.store
        .acquireLock(`breaker-probe/${k}`, { ttlMs: this.probeLockMs, owner: this.o.callerId })
        .catch(() => undefined);
      if (lock) {
        this.probes.set(k, lock);
        this.version += 1;
      }
    }
  }

  private async releaseProbe(k: string): Promise<void> {
    const lock = this.probes.get(k);
    this.probing.delete(k);
    if (!lock) return;
    this.probes.delete(k);
    this.version += 1;
    await this.o.store.releaseLock(lock).catch(() => undefined);
  }
}

function key(node: string, replicaId: string): string {
  return `${node}\u0000${replicaId}`;
}

function storeKey(node: string, replicaId: string): string {
  return `${node}/${replicaId}`;
}
