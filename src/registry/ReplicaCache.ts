/**
 * A registry follower's local view: the replicas last read per node, their expiry by this
 * process's clock, and the watchers to tell about changes. Reads are synchronous and do no I/O.
 *
 * @module
 */
import type { Logger } from "../observability/logger.js";
import type { RegistryEvent, RegistryListener, ReplicaInfo, ReplicaQuery } from "./Registry.js";
import { byText } from "./StoreRegistryIndex.js";

/** A replica as cached. @internal */
export interface CachedReplica {
  readonly info: ReplicaInfo;
  /** When the replica counts as gone, by this process's clock (epoch ms). */
  readonly expiresAt: number;
}

/** What `updated` events compare: everything but the load figures and the heartbeat time. */
const identity = (i: ReplicaInfo): string =>
  JSON.stringify([i.address, i.capabilities, i.version, i.weight, i.status, i.meta, i.startedAt, i.expireAfterMs]);

/** Freezes a record read from the store: the same objects are handed to every caller. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The local view of a follower. @internal */
export class ReplicaCache {
  private readonly nodes = new Map<string, Map<string, CachedReplica>>();
  private readonly listeners = new Map<string, Set<RegistryListener>>();

  constructor(
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** Node names with cached replicas, sorted. */
  nodeNames(): string[] {
    return [...this.nodes.keys()].sort(byText);
  }

  /**
   * Live replicas of `node`, in id order (the index's order). `ignoreAge` keeps replicas whose
   * heartbeat is too old: while the store cannot be read, age says nothing about them.
   */
  replicas(node: string, query: ReplicaQuery, ignoreAge: boolean): ReplicaInfo[] {
    const entries = this.nodes.get(node);
    if (!entries) return [];
    const now = this.now();
    const out: ReplicaInfo[] = [];
    for (const { info, expiresAt } of entries.values()) {
      if ((ignoreAge || expiresAt > now) && (query.includeDraining === true || info.status === "active")) out.push(info);
    }
    return out;
  }

  /** Replaces `node`'s replicas with `next` (in id order) and tells its watchers what changed. */
  replace(node: string, next: Map<string, CachedReplica>): void {
    const previous = this.nodes.get(node) ?? new Map<string, CachedReplica>();
    if (next.size === 0) this.nodes.delete(node);
    else this.nodes.set(node, next);
    const listeners = this.listeners.get(node);
    if (!listeners || listeners.size === 0) return;
    const events: RegistryEvent[] = [];
    for (const [id, { info }] of next) {
      const old = previous.get(id)?.info;
      if (old === undefined) events.push({ type: "added", replica: info });
      else if (identity(old) !== identity(info)) events.push({ type: "updated", replica: info, previous: old });
    }
    for (const [id, { info }] of previous) if (!next.has(id)) events.push({ type: "removed", replica: info });
    for (const event of events) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch (e) {
          this.logger.error("registry: a watch listener threw", {
            node,
            event: event.type,
            error: e instanceof Error ? e.message : String(e),
          });
        }
      }
    }
  }

  /** Adds a watcher of `node`; returns a function that removes it. */
  watch(node: string, listener: RegistryListener): () => void {
    let set = this.listeners.get(node);
    if (!set) this.listeners.set(node, (set = new Set()));
    const own: RegistryListener = (event) => listener(event);
    const listeners = set;
    listeners.add(own);
    return () => {
      listeners.delete(own);
      if (listeners.size === 0 && this.listeners.get(node) === listeners) this.listeners.delete(node);
    };
  }

  /** Forgets every replica and watcher. */
  clear(): void {
    this.nodes.clear();
    this.listeners.clear();
  }
}
