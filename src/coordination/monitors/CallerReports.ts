/**
 * Caller reports: each fabric that makes remote calls publishes its own view — calls per node,
 * balancer figures per replica, breakers — to the state store at every monitor run, so that
 * `langgraph-fabric status`, which only observes, can show what the callers see. Breakers and
 * balancers live in the callers; without these reports an observer could show only its own
 * (empty) view.
 *
 * Layout, under the store's `callers` namespace: `report:<caller id>` — the {@link CallerReport},
 * with a TTL of a few monitor intervals (a caller that dies drops out by itself); `index` — the
 * ids of the callers that have reported (string array, pruned by readers of ids whose report has
 * expired).
 *
 * @module
 */
import type { ReplicaBalanceStats } from "../../balancer/Balancer.js";
import type { CallStatsSnapshot } from "../../observability/CallStats.js";
import type { BreakerSnapshot } from "../../resilience/ReplicaBreakers.js";
import type { KeyValueStore, StateStore } from "../../state/StateStore.js";

/** One caller's view, as published. JSON. */
export interface CallerReport {
  /** The caller's id (its transport's `callerId`). */
  callerId: string;
  /** When it was published, by the caller's clock (epoch ms). */
  at: number;
  /** Remote calls made by the caller, per node. */
  calls: Record<string, CallStatsSnapshot>;
  /** The caller's balancer figures per node: selections, in flight, latency estimate, errors per replica. */
  balancer: Record<string, ReplicaBalanceStats[]>;
  /** The caller's breakers that are open, half-open or ejected. */
  breakers: BreakerSnapshot[];
}

const INDEX = "index";
const reportKey = (callerId: string): string => `report:${callerId}`;
const MAX_INDEX_ATTEMPTS = 20; // compare-and-set attempts of one index change

/** Publishes one caller's reports; see the module comment. */
export class CallerReporter {
  private readonly kv: KeyValueStore;
  private indexed = false;

  /**
   * @param ttlMs how long a report lasts unless renewed, in ms (a few monitor intervals).
   * @throws RangeError when `ttlMs` is not a positive integer.
   */
  constructor(
    store: StateStore,
    private readonly callerId: string,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer of milliseconds (got ${ttlMs})`);
    this.kv = store.namespace("callers");
  }

  /** Publishes the caller's current view; a caller that has made no call publishes nothing. */
  async publish(view: Omit<CallerReport, "callerId" | "at">): Promise<void> {
    if (Object.keys(view.calls).length === 0) return;
    const report: CallerReport = { callerId: this.callerId, at: this.now(), ...view };
    await this.kv.set(reportKey(this.callerId), report, { ttlMs: this.ttlMs });
    // Checked at every publish (one read, a write only when missing): a reader prunes a caller
    // whose report lapsed — after a long pause, say — and the caller must come back.
    this.indexed = await changeIndex(this.kv, (ids) => (ids.includes(this.callerId) ? ids : [...ids, this.callerId]));
  }

  /** Removes this caller's report (a clean stop). */
  async withdraw(): Promise<void> {
    if (!this.indexed) return;
    await this.kv.delete(reportKey(this.callerId));
    await changeIndex(this.kv, (ids) => ids.filter((id) => id !== this.callerId));
    this.indexed = false;
  }
}

/** Every caller report in `store`, newest caller first; index entries whose report expired are pruned. */
export async function readCallerReports(store: StateStore): Promise<CallerReport[]> {
  const kv = store.namespace("callers");
  const ids = idsOf(await kv.get(INDEX));
  if (ids.length === 0) return [];
  const values = await kv.getMany(ids.map(reportKey));
  const reports: CallerReport[] = [];
  const gone: string[] = [];
  values.forEach((value, i) => {
    const id = ids[i] as string;
    if (isReport(value)) reports.push(value);
    else gone.push(id);
  });
  if (gone.length > 0) await changeIndex(kv, (current) => current.filter((id) => !gone.includes(id)));
  return reports.sort((a, b) => b.at - a.at);
}

function idsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function isReport(value: unknown): value is CallerReport {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Partial<CallerReport>;
  return typeof r.callerId === "string" && typeof r.at === "number" && typeof r.calls === "object" && Array.isArray(r.breakers);
}

/** Applies `change` to the index with compare-and-set; true once written (or nothing to change). */
async function changeIndex(kv: KeyValueStore, change: (ids: string[]) => string[]): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_INDEX_ATTEMPTS; attempt += 1) {
    const raw = await kv.get(INDEX);
    const ids = idsOf(raw);
    const next = change(ids);
    if (next.length === ids.length && next.every((id, i) => id === ids[i])) return true;
    const written =
      next.length === 0 ? raw === undefined || (await kv.compareAndDelete(INDEX, raw)) : await kv.compareAndSet(INDEX, raw, next);
    if (written) return true;
  }
  return false;
}
