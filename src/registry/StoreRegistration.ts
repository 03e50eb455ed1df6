/**
 * One replica's registration in a {@link StoreRegistry}: its record, its heartbeat timer and the
 * order of its writes.
 *
 * @module
 */
import { RegistryError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { processLoad, type ProcessLoadSample } from "./processLoad.js";
import {
  addressOf,
  validateReplicaFields,
  type LoadProvider,
  type RegistrationHandle,
  type RegistryTimers,
  type ReplicaInfo,
  type ReplicaLoad,
  type ReplicaUpdate,
} from "./Registry.js";
import { deepFreeze } from "./ReplicaCache.js";
import type { StoreRegistryIndex } from "./StoreRegistryIndex.js";

/** What a registration needs from its registry. @internal */
export interface RegistrationContext {
  readonly heartbeatIntervalMs: number;
  readonly expireAfterMs: number;
  readonly now: () => number;
  readonly timers: RegistryTimers;
  readonly logger: Logger;
  readonly index: StoreRegistryIndex;
  /** Publishes a change notice; never rejects. */
  announce(info: ReplicaInfo, change: "register" | "update" | "deregister"): Promise<void>;
  /** Refreshes the registry's own view of `node` (when it is started). */
  changed(node: string): Promise<void>;
  forget(key: string): void;
}

/** A non-negative finite number, else 0; `max` caps ratios. */
function figure(value: unknown, max = Number.POSITIVE_INFINITY): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.min(value, max) : 0;
}

/**
 * A {@link RegistrationHandle} over the store. Every write (first registration, heartbeat, update,
 * deregistration) runs through one queue, so each heartbeat's compare-and-set expects exactly the
 * record this handle wrote last, and a deregistration is never followed by a heartbeat that would
 * bring the record back.
 *
 * @internal
 */
export class StoreRegistration implements RegistrationHandle {
  private current: ReplicaInfo;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: unknown;
  private closing: Promise<void> | undefined;
  private failing = false;
  private sampleProcess: (() => ProcessLoadSample) | undefined;

  constructor(
    private readonly ctx: RegistrationContext,
    private readonly key: string,
    initial: ReplicaInfo,
    private readonly loadProvider: LoadProvider | undefined,
  ) {
    // Frozen: the next compare-and-set expects exactly this record's JSON, so nobody may change it.
    this.current = deepFreeze(initial);
  }

  get info(): ReplicaInfo {
    return this.current;
  }

  /** Writes the first record, indexes it, announces it, and starts the heartbeat timer. */
  open(): Promise<void> {
    return this.serial(async () => {
      const next: ReplicaInfo = { ...this.current, lastHeartbeat: this.ctx.now(), load: await this.sampleLoad() };
      await this.ctx.index.records(next.node).set(next.replicaId, next, { ttlMs: this.ctx.expireAfterMs });
      this.current = deepFreeze(next);
      await this.ctx.index.ensureIndexed(next.node, next.replicaId);
      await this.ctx.announce(next, "register");
      this.schedule();
    });
  }

  heartbeat(): Promise<void> {
    if (this.closing) return Promise.reject(this.deregistered("heartbeat"));
    return this.serial(async () => {
      const next: ReplicaInfo = { ...this.current, lastHeartbeat: this.ctx.now(), load: await this.sampleLoad() };
      await this.write(next, false);
    });
  }

  async update(change: ReplicaUpdate): Promise<ReplicaInfo> {
    if (this.closing) throw this.deregistered("update");
    if (typeof change !== "object") throw new RangeError(`change must be an object (got ${typeof change})`);
    validateReplicaFields(change);
    const id = this.current.replicaId;
    if (change.address !== undefined && change.address.replicaId !== id) {
      throw new RangeError(`address.replicaId must equal replicaId "${id}" (got ${JSON.stringify(change.address.replicaId)})`);
    }
    const written = await this.serial(async () => {
      const c = this.current;
      const next: ReplicaInfo = {
        ...c,
        address: change.address ? addressOf(id, change.address.partitions) : c.address,
        capabilities: change.capabilities ? [...change.capabilities] : c.capabilities,
        version: change.version ?? c.version,
        weight: change.weight ?? c.weight,
        status: change.status ?? c.status,
        meta: change.meta ? { ...change.meta } : c.meta,
        // An update is a sign of life too, and keeps the record's TTL in step with it.
        lastHeartbeat: this.ctx.now(),
      };
      await this.write(next, true);
      return next;
    });
    await this.ctx.changed(written.node);
    return written;
  }

  deregister(): Promise<void> {
    return (this.closing ??= this.close());
  }

  private async close(): Promise<void> {
    if (this.timer !== undefined) this.ctx.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const { node, replicaId } = this.current;
    try {
      await this.serial(async () => {
        await this.ctx.index.records(node).delete(replicaId);
        await this.ctx.index.unindex(node, [replicaId]);
        await this.ctx.announce(this.current, "deregister");
      });
    } finally {
      this.ctx.forget(this.key);
    }
    await this.ctx.changed(node);
  }

  /** Writes `next` over the record this handle wrote last; recreates it if it expired or was replaced. */
  private async write(next: ReplicaInfo, announce: boolean): Promise<void> {
    // A heartbeat queued before deregister() must not bring the record back.
    if (this.closing) return;
    const records = this.ctx.index.records(next.node);
    const ttl = { ttlMs: this.ctx.expireAfterMs };
    const kept = await records.compareAndSet(next.replicaId, this.current, next, ttl);
    if (!kept) {
      // Expired (no heartbeat reached the store for expireAfterMs), or replaced by a process using
      // the same replica id: either way followers may have dropped it, so register it again.
      this.ctx.logger.warn("registry: replica record had expired or was replaced; registering it again", {
        node: next.node,
        replicaId: next.replicaId,
      });
      await records.set(next.replicaId, next, ttl);
    }
    this.current = deepFreeze(next);
    await this.ctx.index.ensureIndexed(next.node, next.replicaId);
    if (announce || !kept) await this.ctx.announce(next, kept ? "update" : "register");
  }

  private schedule(): void {
    if (this.closing) return;
    this.timer = this.ctx.timers.setTimeout(() => {
      this.timer = undefined;
      void this.beat();
    }, this.ctx.heartbeatIntervalMs);
  }

  /** A timer-driven heartbeat: failures are logged once per outage, and the next one is scheduled regardless. */
  private async beat(): Promise<void> {
    if (this.closing) return;
    try {
      await this.heartbeat();
      if (this.failing) this.ctx.logger.info("registry: heartbeats reach the store again", { replicaId: this.current.replicaId });
      this.failing = false;
    } catch (e) {
      if (!this.failing) {
        this.ctx.logger.warn("registry: heartbeat failed; retrying every interval", {
          replicaId: this.current.replicaId,
          error: e instanceof Error ? e.message : String(e),
        });
      }
      this.failing = true;
    }
    this.schedule();
  }

  private async sampleLoad(): Promise<ReplicaLoad> {
    let provided: Partial<ReplicaLoad> = {};
    if (this.loadProvider) {
      try {
        const value: unknown = await this.loadProvider();
        if (typeof value === "object" && value !== null) provided = value;
      } catch (e) {
        this.ctx.logger.warn("registry: loadProvider failed; sending the previous load figures", {
          replicaId: this.current.replicaId,
          error: e instanceof Error ? e.message : String(e),
        });
        return this.current.load;
      }
    }
    let { cpu, memoryBytes } = provided;
    if (cpu === undefined || memoryBytes === undefined) {
      const sample = (this.sampleProcess ??= processLoad())();
      cpu ??= sample.cpu;
      memoryBytes ??= sample.memoryBytes;
    }
    return {
      inFlight: figure(provided.inFlight),
      latencyEwmaMs: figure(provided.latencyEwmaMs),
      errorRate: figure(provided.errorRate, 1),
      cpu: figure(cpu, 1),
      memoryBytes: figure(memoryBytes),
      ...(provided.calls === undefined ? {} : { calls: figure(provided.calls) }),
      ...(provided.callsPerSecond === undefined ? {} : { callsPerSecond: figure(provided.callsPerSecond) }),
    };
  }

  private serial<R>(task: () => Promise<R>): Promise<R> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private deregistered(op: string): RegistryError {
    return new RegistryError(`${op}() after deregister() of replica "${this.current.replicaId}"`, { hint: "register the replica again" });
  }
}
