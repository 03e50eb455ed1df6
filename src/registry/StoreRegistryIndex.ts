/**
 * The storage layout of {@link StoreRegistry} and the compare-and-set loops that maintain its
 * indexes. Under the store's key prefix and the registry's namespace `ns`:
 *
 * ```
 * ns / "nodes"                  sorted JSON array of node names that have (or recently had) replicas
 * ns / "index/<node>"           sorted JSON array of that node's replica ids
 * ns / "replica" / <node> / id  the replica's ReplicaInfo; TTL = its expireAfterMs, rewritten by each heartbeat
 * channel ns                    notices { node, replicaId, change } after register, update, deregister
 * ```
 *
 * On Redis: `<prefix>:kv:{ns:nodes}`, `<prefix>:kv:{ns:index/<node>}`,
 * `<prefix>:kv:{ns:replica:<node>:<id>}`, channel `<prefix>:ch:ns` (see `stateKeys.ts`).
 *
 * Indexes change only when replicas come and go, never on heartbeats, so compare-and-set contention
 * is limited to registration bursts.
 *
 * @module
 */
import { RegistryError } from "../errors.js";
import type { KeyValueStore, StateStore } from "../state/StateStore.js";
import type { ReplicaInfo } from "./Registry.js";

const NODES_KEY = "nodes";
// "nodes" never starts with "index/", so no node name maps onto the node list.
const indexKey = (node: string): string => `index/${node}`;

/** Attempts of one compare-and-set loop before giving up: contention happens only when many replicas register at once. */
const CAS_ATTEMPTS = 25;

/** A JSON array of strings, or [] for anything else (absent, or written by something else). */
export function nameList(value: unknown): string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : [];
}

/** Orders strings by code unit, like the default sort, but explicit. */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One node as read by {@link StoreRegistryIndex.read}. */
export interface NodeRead {
  readonly node: string;
  /** The ids in the node's index. */
  readonly ids: readonly string[];
  /** The raw record of each id, `undefined` where the record is gone (expired or deleted). */
  readonly values: readonly unknown[];
}

/** Reads and maintains the registry's keys in a store. @internal */
export class StoreRegistryIndex {
  private readonly root: KeyValueStore;

  constructor(
    private readonly store: StateStore,
    private readonly ns: string,
  ) {
    this.root = store.namespace(ns);
  }

  /** The records of `node`'s replicas. */
  records(node: string): KeyValueStore<ReplicaInfo> {
    return this.store.namespace<ReplicaInfo>(this.ns, "replica", node);
  }

  /** The listed node names. */
  async listNodes(): Promise<string[]> {
    return nameList(await this.root.get(NODES_KEY));
  }

  /** Reads the indexes of `nodes` (one `getMany`), then each node's records (one `getMany` each, in parallel). */
  async read(nodes: readonly string[]): Promise<NodeRead[]> {
    if (nodes.length === 0) return [];
    const indexes = await this.root.getMany(nodes.map(indexKey));
    return await Promise.all(
      nodes.map(async (node, i) => {
        const ids = nameList(indexes[i]);
        return { node, ids, values: ids.length === 0 ? [] : await this.records(node).getMany(ids) };
      }),
    );
  }

  /** Makes sure `node` is listed and `replicaId` is in its index: one read when nothing is missing. */
  async ensureIndexed(node: string, replicaId: string): Promise<void> {
    const [nodes, index] = await this.root.getMany([NODES_KEY, indexKey(node)]);
    // Index first: a reader that finds the node listed then finds the replica too.
    if (!nameList(index).includes(replicaId)) await this.addMember(indexKey(node), replicaId);
    if (!nameList(nodes).includes(node)) await this.addMember(NODES_KEY, node);
  }

  /** Removes ids from `node`'s index, and the node from the list once its index is empty. */
  async unindex(node: string, replicaIds: readonly string[]): Promise<void> {
    if (await this.removeMembers(indexKey(node), replicaIds)) await this.removeMembers(NODES_KEY, [node]);
  }

  private async addMember(key: string, member: string): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.root.get(key);
      const list = nameList(current);
      if (list.includes(member)) return;
      if (await this.root.compareAndSet(key, current, [...list, member].sort(byText))) return;
    }
    throw contention(key);
  }

  /** True when the list is now empty (and deleted) or absent. */
  private async removeMembers(key: string, members: readonly string[]): Promise<boolean> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.root.get(key);
      if (current === undefined) return true;
      const list = nameList(current);
      const next = list.filter((m) => !members.includes(m));
      if (next.length === 0) {
        if (await this.root.compareAndDelete(key, current)) return true;
      } else if (next.length === list.length) return false;
      else if (await this.root.compareAndSet(key, current, next)) return false;
    }
    throw contention(key);
  }
}

function contention(key: string): RegistryError {
  return new RegistryError(`registry index "${key}" kept changing during ${CAS_ATTEMPTS} compare-and-set attempts`, {
    hint: "many replicas registered or left at once; retry the operation",
  });
}
