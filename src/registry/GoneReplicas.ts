/**
 * The replicas this process saw leave the registry (deregistered, or expired because their
 * heartbeats stopped), so a replica can take over the idempotency lease of a call whose owner is
 * known dead instead of waiting for the lease to lapse.
 *
 * Only removals seen while following count: a replica this process never saw registered (one
 * that is still starting, or that registered before the follow began and is alive) is never taken
 * for dead.
 *
 * @module
 */
import type { Registry } from "./Registry.js";

/** See the module comment. */
export class GoneReplicas {
  private readonly gone = new Map<string, number>();
  private readonly watches = new Map<string, () => void>();

  /**
   * @param registry the registry to follow (started by its owner).
   * @param retainMs how long a removal is remembered, in ms (longer than any lease).
   * @param now clock in epoch milliseconds.
   */
  constructor(
    private readonly registry: Registry,
    private readonly retainMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(retainMs) || retainMs <= 0)
      throw new RangeError(`retainMs must be a positive integer of milliseconds (got ${retainMs})`);
  }

  /** Follows the replicas of `node` (idempotent). */
  follow(node: string): void {
    if (this.watches.has(node)) return;
    this.watches.set(
      node,
      this.registry.watch(node, (event) => {
        const id = event.replica.replicaId;
        if (event.type === "removed") this.gone.set(id, this.now());
        else this.gone.delete(id); // back (a record that looked expired heartbeated again)
      }),
    );
  }

  /** True when `replicaId` left the registry within the last `retainMs`. */
  has(replicaId: string): boolean {
    const at = this.gone.get(replicaId);
    if (at === undefined) return false;
    if (this.now() - at <= this.retainMs) return true;
    this.gone.delete(replicaId);
    return false;
  }

  /** Stops following. */
  stop(): void {
    for (const unwatch of this.watches.values()) unwatch();
    this.watches.clear();
    this.gone.clear();
  }
}
