/**
 * The registry over any {@link StateStore}: in memory for embedded mode and tests, Redis through
 * `RedisRegistry`. Storage layout: see `StoreRegistryIndex.ts`.
 *
 * A follower (a started registry) reads each node's replicas with one `getMany` of the indexes and
 * one `getMany` of each node's records, on a notice from the store's pub/sub (at once) and on a
 * timer (catching missed notices and crashed replicas, which send none). Ids of expired records are
 * pruned from the indexes lazily by readers; each heartbeat checks that its replica is still
 * indexed, so a lost or wrongly pruned entry heals within one interval.
 *
 * @module
 */
import { RegistryError, isRegistryError } from "../errors.js";
import { createConsoleLogger, type Logger } from "../observability/logger.js";
import type { StateStore, Unsubscribe } from "../state/StateStore.js";
import { positiveInteger } from "../state/StateStoreCore.js";
import {
  addressOf,
  parseReplicaInfo,
  realTimers,
  validateReplicaFields,
  type RegistrationHandle,
  type Registry,
  type RegistryListener,
  type RegistryTimers,
  type ReplicaInfo,
  type ReplicaQuery,
  type ReplicaRegistration,
} from "./Registry.js";
import { ReplicaCache, deepFreeze, type CachedReplica } from "./ReplicaCache.js";
import { StoreRegistration, type RegistrationContext } from "./StoreRegistration.js";
import { StoreRegistryIndex } from "./StoreRegistryIndex.js";

/** Options of {@link StoreRegistry}. */
export interface StoreRegistryOptions {
  /**
   * How often each replica registered here heartbeats, in milliseconds. Default: 1000, so a
   * crashed replica is out of every caller's view within about 4 s (expiry plus one refresh) and
   * the calls waiting on it move on (see docs/operations.md).
   */
  heartbeatIntervalMs?: number;
  /**
   * How long after its last heartbeat a replica registered here counts as gone, in milliseconds
   * (its record's TTL); must exceed `heartbeatIntervalMs`. Default: 3 × `heartbeatIntervalMs`.
   * Readers use the value carried in each record, not their own.
   */
  expireAfterMs?: number;
  /**
   * How often a started registry re-reads the whole view, in milliseconds: this bounds how late a
   * missed notice or a crashed replica (which sends no notice) is noticed. Default: `heartbeatIntervalMs`.
   */
  refreshIntervalMs?: number;
  /** Namespace of the registry's keys and channel in the store. Default: `"registry"`. */
  namespace?: string;
  /**
   * While reading the store fails, keep serving the last view read, ignoring heartbeat age (a
   * registry outage should not take every node down; circuit breakers still eject dead replicas).
   * Default: true.
   */
  keepLastKnownOnError?: boolean;
  /** This process's clock, in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
  /** Timers for heartbeats and refreshes. Default: real, unref'd timers. */
  timers?: RegistryTimers;
  /** Where warnings go (failed heartbeats, listener errors, clock skew). Default: console logger named `"registry"`. */
  logger?: Logger;
}

/** Defaults of {@link StoreRegistryOptions} and internal limits, in one place. */
export const STORE_REGISTRY_DEFAULTS = {
  /** milliseconds; one small store write per replica per interval */
  heartbeatIntervalMs: 1000,
  /** expireAfterMs = this × heartbeatIntervalMs */
  expireAfterHeartbeats: 3,
  namespace: "registry",
  keepLastKnownOnError: true,
  /** milliseconds by which a record just read may look expired before that is blamed on clock skew */
  clockSkewSlackMs: 1000,
} as const;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The {@link Registry} over a {@link StateStore}. Construction does no I/O.
 *
 * ```ts
 * const registry = new StoreRegistry(store, { heartbeatIntervalMs: 2000 });
 * await registry.start();
 * const handle = await registry.register({ node: "momentum", replicaId, capabilities: ["gpu"], loadProvider });
 * registry.replicas("momentum"); // synchronous, from the cache
 * ```
 */
export class StoreRegistry implements Registry {
  /** Heartbeat period of replicas registered here, in milliseconds. */
  readonly heartbeatIntervalMs: number;
  /** Expiry of replicas registered here, in milliseconds. */
  readonly expireAfterMs: number;
  /** Period of full re-reads, in milliseconds. */
  readonly refreshIntervalMs: number;
  private readonly store: StateStore;
  private readonly ns: string;
  private readonly index: StoreRegistryIndex;
  private readonly now: () => number;
  private readonly timers: RegistryTimers;
  private readonly logger: Logger;
  private readonly keepLastKnownOnError: boolean;
  private readonly ctx: RegistrationContext;

  private phase: "idle" | "started" | "stopped" = "idle";
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private refreshTimer: unknown;
  private readonly cache: ReplicaCache;
  private readonly handles = new Map<string, StoreRegistration>();
  /** Refreshes run one at a time, so a later one always applies a later read. */
  private running: Promise<void> | undefined;
  private pendingAll = false;
  private readonly pendingNodes = new Set<string>();
  /** The error of the last failed refresh, until a full refresh succeeds. */
  private readError: unknown;
  private readonly pruning = new Set<string>();
  private readonly warned = new Set<string>();

  /** @throws RangeError naming the option and value. */
  constructor(store: StateStore, options: StoreRegistryOptions = {}) {
    const d = STORE_REGISTRY_DEFAULTS;
    if (typeof store !== "object" || typeof (store as Partial<StateStore> | null)?.namespace !== "function") {
      throw new RangeError(`store must be a StateStore (got ${typeof store})`);
    }
    this.heartbeatIntervalMs = positiveInteger("heartbeatIntervalMs", options.heartbeatIntervalMs ?? d.heartbeatIntervalMs, "milliseconds");
    this.expireAfterMs = positiveInteger(
      "expireAfterMs",
      options.expireAfterMs ?? this.heartbeatIntervalMs * d.expireAfterHeartbeats,
      "milliseconds",
    );
    if (this.expireAfterMs <= this.heartbeatIntervalMs) {
      throw new RangeError(`expireAfterMs must exceed heartbeatIntervalMs (${this.heartbeatIntervalMs}) (got ${this.expireAfterMs})`);
    }
    this.refreshIntervalMs = positiveInteger("refreshIntervalMs", options.refreshIntervalMs ?? this.heartbeatIntervalMs, "milliseconds");
    const ns: unknown = options.namespace ?? d.namespace;
    if (typeof ns !== "string" || ns.length === 0) throw new RangeError(`namespace must be a non-empty string (got ${JSON.stringify(ns)})`);
    const now: unknown = options.now ?? Date.now;
    if (typeof now !== "function") throw new RangeError(`now must be a function returning epoch milliseconds (got ${typeof now})`);
    const timers: Partial<RegistryTimers> | undefined = options.timers ?? realTimers;
    if (typeof timers.setTimeout !== "function" || typeof timers.clearTimeout !== "function") {
      throw new RangeError(`timers must have setTimeout and clearTimeout functions (got ${typeof timers})`);
    }
    const keep: unknown = options.keepLastKnownOnError ?? d.keepLastKnownOnError;
    if (typeof keep !== "boolean") throw new RangeError(`keepLastKnownOnError must be a boolean (got ${JSON.stringify(keep)})`);
    this.store = store;
    this.ns = ns;
    this.index = new StoreRegistryIndex(store, ns);
    this.now = now as () => number;
    this.timers = timers as RegistryTimers;
    this.logger = options.logger ?? createConsoleLogger({ name: "registry" });
    this.cache = new ReplicaCache(this.now, this.logger);
    this.keepLastKnownOnError = keep;
    this.ctx = {
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      expireAfterMs: this.expireAfterMs,
      now: this.now,
      timers: this.timers,
      logger: this.logger,
      index: this.index,
      announce: async (info, change) => {
        try {
          await this.store.publish(this.ns, { node: info.node, replicaId: info.replicaId, change });
        } catch (e) {
          // The write succeeded; followers will see it at their next periodic refresh.
          this.logger.warn("registry: announcing a change failed", { node: info.node, replicaId: info.replicaId, error: errorText(e) });
        }
      },
      changed: (node) => (this.phase === "started" ? this.requestRefresh(node) : Promise.resolve()),
      forget: (key) => this.handles.delete(key),
    };
  }

  async start(): Promise<void> {
    if (this.phase === "stopped") throw new RegistryError("start() after stop()", { hint: "create a new registry" });
    return (this.starting ??= this.begin());
  }

  private async begin(): Promise<void> {
    try {
      this.unsubscribe = await this.store.subscribe(this.ns, (message) => {
        // Also while starting: a change announced during the first read is read again after it.
        const node = (message as { node?: unknown } | null)?.node;
        if (typeof node === "string") void this.requestRefresh(node);
      });
      await this.requestRefresh("all", true);
      this.assertReadable();
    } catch (e) {
      await this.unsubscribe?.().catch(() => undefined);
      this.unsubscribe = undefined;
      this.starting = undefined;
      throw isRegistryError(e)
        ? e
        : new RegistryError(`the registry could not be read: ${errorText(e)}`, {
            cause: e,
            hint: "check that the state store is reachable",
          });
    }
    if (this.phase === "stopped") return;
    this.phase = "started";
    this.scheduleRefresh();
  }

  stop(): Promise<void> {
    return (this.stopping ??= this.end());
  }

  private async end(): Promise<void> {
    this.phase = "stopped";
    this.clearRefreshTimer();
    await this.starting?.catch(() => undefined);
    this.clearRefreshTimer();
    const results = await Promise.allSettled([...this.handles.values()].map((h) => h.deregister()));
    for (const r of results) {
      if (r.status === "rejected")
        this.logger.warn("registry: deregistering on stop failed; the record will expire", { error: errorText(r.reason) });
    }
    await this.unsubscribe?.().catch((e: unknown) => this.logger.warn("registry: unsubscribing failed", { error: errorText(e) }));
    await this.running;
    this.cache.clear();
  }

  async register(registration: ReplicaRegistration): Promise<RegistrationHandle> {
    if (this.phase === "stopped") throw new RegistryError("register() after stop()", { hint: "create a new registry" });
    const r = registration as Partial<ReplicaRegistration> | null | undefined;
    if (typeof r !== "object" || r === null) throw new RangeError(`registration must be an object (got ${typeof r})`);
    validateReplicaFields({ ...r, node: r.node, replicaId: r.replicaId });
    const { node, replicaId } = registration;
    if (r.address !== undefined && r.address.replicaId !== replicaId) {
      throw new RangeError(`address.replicaId must equal replicaId "${replicaId}" (got ${JSON.stringify(r.address.replicaId)})`);
    }
    if (r.loadProvider !== undefined && typeof r.loadProvider !== "function") {
      throw new RangeError(`loadProvider must be a function (got ${typeof r.loadProvider})`);
    }
    const key = `${node}\u0000${replicaId}`;
    if (this.handles.has(key)) {
      throw new RegistryError(`replica "${replicaId}" of node "${node}" is already registered here`, {
        hint: "use the existing handle's update(), or deregister it first",
      });
    }
    const at = this.now();
    const info: ReplicaInfo = {
      node,
      replicaId,
      address: r.address ? addressOf(replicaId, r.address.partitions) : { replicaId, partitions: [] },
      capabilities: [...(r.capabilities ?? [])],
      version: r.version ?? "",
      weight: r.weight ?? 1,
      status: r.status ?? "active",
      startedAt: at,
      lastHeartbeat: at,
      expireAfterMs: this.expireAfterMs,
      load: { inFlight: 0, latencyEwmaMs: 0, errorRate: 0, cpu: 0, memoryBytes: 0 },
      meta: { ...r.meta },
    };
    const handle = new StoreRegistration(this.ctx, key, info, r.loadProvider);
    this.handles.set(key, handle); // before any await, so a concurrent duplicate is refused
    try {
      await handle.open();
    } catch (e) {
      this.handles.delete(key);
      throw new RegistryError(`registering replica "${replicaId}" of node "${node}" failed: ${errorText(e)}`, { cause: e });
    }
    await this.ctx.changed(node);
    return handle;
  }

  replicas(node: string, query: ReplicaQuery = {}): ReplicaInfo[] {
    this.assertStarted("replicas");
    // While the store cannot be read, heartbeat age says nothing about the replicas: keep them.
    return this.cache.replicas(node, query, this.keepLastKnownOnError && this.readError !== undefined);
  }

  findByCapability(capability: string, query: ReplicaQuery = {}): ReplicaInfo[] {
    this.assertStarted("findByCapability");
    return this.cache.nodeNames().flatMap((node) => this.replicas(node, query).filter((r) => r.capabilities.includes(capability)));
  }

  nodes(): string[] {
    this.assertStarted("nodes");
    return this.cache.nodeNames().filter((node) => this.replicas(node, { includeDraining: true }).length > 0);
  }

  watch(node: string, listener: RegistryListener): () => void {
    if (typeof node !== "string") throw new TypeError(`node must be a string (got ${typeof node})`);
    if (typeof listener !== "function") throw new TypeError(`listener must be a function (got ${typeof listener})`);
    return this.cache.watch(node, listener);
  }

  async refresh(): Promise<void> {
    this.assertStarted("refresh");
    await this.requestRefresh("all", true);
    this.assertReadable();
  }

  private assertReadable(): void {
    if (this.readError === undefined) return;
    throw new RegistryError(`the registry could not be read: ${errorText(this.readError)}`, {
      cause: this.readError,
      hint: "check that the state store is reachable",
    });
  }

  private assertStarted(op: string): void {
    if (this.phase !== "started") {
      throw new RegistryError(`${op}() ${this.phase === "stopped" ? "after stop()" : "before start()"}`, {
        hint: "await registry.start() before reading; a stopped registry cannot be restarted",
      });
    }
  }

  private scheduleRefresh(): void {
    if (this.phase !== "started") return;
    this.refreshTimer = this.timers.setTimeout(() => {
      this.refreshTimer = undefined;
      void this.requestRefresh("all").then(() => this.scheduleRefresh());
    }, this.refreshIntervalMs);
  }

  private clearRefreshTimer(): void {
    if (this.refreshTimer !== undefined) this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** Queues a refresh (of node `what`, or of all for `"all"`) and resolves once it ran. Never rejects: failures set `readError`. */
  private requestRefresh(what: string, force = false): Promise<void> {
    if (this.phase === "stopped" && !force) return Promise.resolve();
    if (what === "all") this.pendingAll = true;
    else this.pendingNodes.add(what);
    return (this.running ??= this.drainRefreshes());
  }

  private async drainRefreshes(): Promise<void> {
    try {
      while (this.pendingAll || this.pendingNodes.size > 0) {
        const all = this.pendingAll;
        const nodes = all ? [] : [...this.pendingNodes];
        this.pendingAll = false;
        this.pendingNodes.clear();
        try {
          if (all) await this.refreshNodes(await this.index.listNodes(), true);
          else await this.refreshNodes(nodes, false);
          if (all && this.readError !== undefined) {
            this.readError = undefined;
            this.logger.info("registry: reading the store works again");
          }
        } catch (e) {
          if (this.readError === undefined) {
            this.logger.warn(
              `registry: reading the store failed; ${this.keepLastKnownOnError ? "serving the last known replicas" : "replicas will expire"}`,
              { error: errorText(e) },
            );
          }
          this.readError = e;
        }
      }
    } finally {
      // Inside the async function, so no request can slip in between the last check and this reset.
      this.running = undefined;
    }
  }

  /** Reads the indexes and records of `nodes` and applies them; `complete` drops cached nodes not listed. */
  private async refreshNodes(nodes: readonly string[], complete: boolean): Promise<void> {
    const read = await this.index.read(nodes);
    const readAt = this.now();
    for (const { node, ids, values } of read) {
      const missing: string[] = [];
      const next = new Map<string, CachedReplica>();
      ids.forEach((id, i) => {
        const value = values[i];
        if (value === undefined) {
          missing.push(id);
          return;
        }
        const info = parseReplicaInfo(value);
        if (info?.node !== node || info.replicaId !== id) {
          this.warnOnce(`invalid:${node}:${id}`, "registry: skipping an invalid replica record", { node, replicaId: id });
          return;
        }
        const expiresAt = this.expiryOf(info, readAt);
        if (expiresAt > readAt) next.set(id, { info: deepFreeze(info), expiresAt });
      });
      this.cache.replace(node, next);
      if (missing.length > 0 || ids.length === 0) void this.prune(node, missing);
    }
    if (complete) {
      const listed = new Set(nodes);
      for (const node of this.cache.nodeNames()) if (!listed.has(node)) this.cache.replace(node, new Map());
    }
  }

  /** When a record just read counts as gone, by this process's clock. */
  private expiryOf(info: ReplicaInfo, readAt: number): number {
    const byHeartbeat = info.lastHeartbeat + info.expireAfterMs;
    if (byHeartbeat > readAt - STORE_REGISTRY_DEFAULTS.clockSkewSlackMs) return byHeartbeat;
    // The store still holds the record, so by the store's clock it was written less than
    // expireAfterMs ago: our clock and the writer's disagree. Trust the store rather than drop a
    // live replica; the record cannot outlive expireAfterMs from now without another heartbeat.
    this.warnOnce(`skew:${info.node}:${info.replicaId}`, "registry: clock skew suspected; trusting the store's expiry", {
      node: info.node,
      replicaId: info.replicaId,
      heartbeatAgeMs: readAt - info.lastHeartbeat,
      expireAfterMs: info.expireAfterMs,
    });
    return readAt + info.expireAfterMs;
  }

  /** Drops ids whose records are gone from `node`'s index (lazy cleanup by readers). Best effort. */
  private async prune(node: string, replicaIds: readonly string[]): Promise<void> {
    if (this.pruning.has(node)) return;
    this.pruning.add(node);
    try {
      await this.index.unindex(node, replicaIds);
    } catch (e) {
      this.logger.debug("registry: pruning the index failed; a later read retries", { node, error: errorText(e) });
    } finally {
      this.pruning.delete(node);
    }
  }

  private warnOnce(key: string, message: string, fields: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    // Keys name replicas, which come and go: forget old ones rather than grow without bound.
    if (this.warned.size >= 1000) this.warned.clear();
    this.warned.add(key);
    this.logger.warn(message, fields);
  }
}
