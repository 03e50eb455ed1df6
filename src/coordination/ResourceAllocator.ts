/**
 * Resource pools shared by every process of a fabric: the demands of the agents of one pool and
 * the allocation made of them ({@link allocateByDemand}) live in one versioned record in the state
 * store, changed only by compare-and-set. Two processes allocating the same pool at once therefore
 * never both hand out the whole of it: each merges its demands into the record it read and
 * recomputes; the loser of the compare-and-set reads again and recomputes over both.
 *
 * @module
 */
import { z } from "zod";
import { AllocationContentionError } from "../errors.js";
import type { KeyValueStore, StateStore } from "../state/StateStore.js";
import { allocateByDemand, type ResourceDemand } from "./allocateByDemand.js";
import { finiteIn, isRecord, nonEmpty, positiveInt, show } from "./validation.js";

/** What {@link ResourceAllocator.allocate} is asked. */
export interface AllocationRequest {
  /** How much of the resource there is (a finite number ≥ 0). With `key`, it replaces the pool's total. */
  total: number;
  /** Demands by agent id. With `key`, merged into the pool's demands: an agent's new demand replaces its old one, `demand: 0` removes it. */
  demands: Readonly<Record<string, ResourceDemand>>;
  /** The pool. Absent: a one-off allocation of these demands, not persisted (version 0). */
  key?: string;
  /** With `key`: drop the pool's recorded demands instead of merging into them. Default false. */
  replace?: boolean;
}

/** An allocation, as returned and (with a key) as stored. JSON. */
export interface Allocation {
  /** The pool, when persisted. */
  key?: string;
  /** Incremented by every allocation of the pool (1 for the first); 0 for a one-off. */
  version: number;
  /** The total shared out. */
  total: number;
  /** Every demand the allocation was computed over (the pool's, after merging). */
  demands: Record<string, ResourceDemand>;
  /** What each agent gets. */
  allocations: Record<string, number>;
  /** `total` minus the sum of the allocations (≥ 0; > 0 only when the demands are smaller than the total). */
  unallocated: number;
  /** When it was computed (epoch ms, the allocating process's clock). */
  at: number;
  /** Who computed it (the allocating process's caller id). */
  by: string;
}

/** Options of {@link ResourceAllocator}. */
export interface ResourceAllocatorOptions {
  /** Who allocates (recorded as `by`). */
  owner: string;
  /** Most compare-and-set attempts of one allocation before `AllocationContentionError` (a count). Default 50. */
  maxAttempts?: number;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Defaults of {@link ResourceAllocatorOptions}. */
export const RESOURCE_ALLOCATOR_DEFAULTS = {
  maxAttempts: 50, // compare-and-set attempts per allocation
  namespace: ["coordination", "allocations"] as const,
};

const demandSchema = z.object({ demand: z.number(), priority: z.number().optional(), min: z.number().optional() });
const allocationSchema: z.ZodType<Allocation> = z.object({
  key: z.string().optional(),
  version: z.number().int().min(0),
  total: z.number(),
  demands: z.record(z.string(), demandSchema),
  allocations: z.record(z.string(), z.number()),
  unallocated: z.number(),
  at: z.number(),
  by: z.string(),
});

/** Allocates pools of resources by demand; see the module comment. No I/O in the constructor. */
export class ResourceAllocator {
  private readonly records: KeyValueStore;
  private readonly owner: string;
  private readonly maxAttempts: number;
  private readonly now: () => number;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(store: StateStore, options: ResourceAllocatorOptions) {
    this.records = store.namespace(...RESOURCE_ALLOCATOR_DEFAULTS.namespace);
    this.owner = nonEmpty("owner", options.owner);
    this.maxAttempts = positiveInt("maxAttempts", options.maxAttempts ?? RESOURCE_ALLOCATOR_DEFAULTS.maxAttempts);
    const now: unknown = options.now ?? Date.now;
    if (typeof now !== "function") throw new RangeError(`now must be a function returning epoch milliseconds (got ${typeof now})`);
    this.now = now as () => number;
  }

  /**
   * Allocates `request.total` by demand (see {@link allocateByDemand}); with `request.key`, over the
   * pool's merged demands, recorded as the pool's next version.
   *
   * @throws RangeError for an invalid request; AllocationContentionError when the pool changed under every attempt.
   */
  async allocate(request: AllocationRequest): Promise<Allocation> {
    if (!isRecord(request)) throw new RangeError(`request must be { total, demands, key? } (got ${show(request)})`);
    const total = finiteIn("total", request.total, 0);
    // Validates every demand up front (a pure call), so a bad request never touches the pool.
    allocateByDemand(total, request.demands);
    const { key } = request;
    if (key === undefined) return this.compute(undefined, 0, total, { ...request.demands });
    nonEmpty("key", key);
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const raw = await this.records.get(key);
      const current = raw === undefined ? undefined : allocationSchema.safeParse(raw).data;
      const demands: Record<string, ResourceDemand> = request.replace === true ? {} : { ...current?.demands };
      for (const [agent, demand] of Object.entries(request.demands)) {
        if (demand.demand === 0) Reflect.deleteProperty(demands, agent);
        else demands[agent] = { ...demand };
      }
      const next = this.compute(key, (current?.version ?? 0) + 1, total, demands);
      // An unreadable record (another version wrote it) is replaced rather than blocking the pool forever.
      if (await this.records.compareAndSet(key, raw, next)) return next;
    }
    throw new AllocationContentionError(key, this.maxAttempts);
  }

  /** The pool's current allocation, or `undefined` when none was made (or the record is unreadable). */
  async get(key: string): Promise<Allocation | undefined> {
    const raw = await this.records.get(nonEmpty("key", key));
    return raw === undefined ? undefined : allocationSchema.safeParse(raw).data;
  }

  private compute(key: string | undefined, version: number, total: number, demands: Record<string, ResourceDemand>): Allocation {
    const allocations = allocateByDemand(total, demands);
    let given = 0;
    for (const v of Object.values(allocations)) given += v;
    return {
      ...(key === undefined ? {} : { key }),
      version,
      total,
      demands,
      allocations,
      unallocated: Math.max(0, total - given),
      at: this.now(),
      by: this.owner,
    };
  }
}
