// Shared fixtures of the balancer tests: a manual clock, seeded randomness, replica records.
import type { Balancer, BalancerOptions, BalancerReplica } from "../../../src/balancer/Balancer.js";
import type { ReplicaInfo, ReplicaLoad } from "../../../src/registry/Registry.js";

/** A clock that moves only when told to (ms). */
export class ManualClock {
  t = 1_000;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Deterministic uniform randomness in [0, 1) (mulberry32). */
export function seededRandom(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A clock and randomness to inject, plus the options that inject them. */
export function deterministic(seed = 1): {
  clock: ManualClock;
  random: () => number;
  options: Required<Pick<BalancerOptions, "now" | "random">>;
} {
  const clock = new ManualClock();
  const random = seededRandom(seed);
  return { clock, random, options: { now: clock.now, random } };
}

/** A registry record with defaults; `load` fields may be given in part. */
export function replica(replicaId: string, over: Omit<Partial<ReplicaInfo>, "load"> & { load?: Partial<ReplicaLoad> } = {}): ReplicaInfo {
  const { load, ...rest } = over;
  return {
    node: "n",
    replicaId,
    address: { replicaId },
    capabilities: [],
    version: "1",
    weight: 1,
    status: "active",
    startedAt: 0,
    lastHeartbeat: 0,
    expireAfterMs: 9000,
    meta: {},
    ...rest,
    load: { inFlight: 0, latencyEwmaMs: 0, errorRate: 0, cpu: 0, memoryBytes: 0, ...load },
  };
}

/** `n` active replicas with ids `r00`, `r01`… (registry order). */
export function replicas(n: number, prefix = "r"): ReplicaInfo[] {
  return Array.from({ length: n }, (_, i) => replica(`${prefix}${String(i).padStart(2, "0")}`));
}

/** How many times each id came out of `count` calls of `pick` (undefined counted as "-"). */
export function tally(count: number, pick: (i: number) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < count; i += 1) {
    const id = pick(i) ?? "-";
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/** One whole call: select, start, end after `latencyOf(id)` ms on the manual clock. Returns the id chosen. */
export function call<R extends BalancerReplica>(
  balancer: Balancer<R>,
  clock: ManualClock,
  latencyOf: (id: string) => number,
  node = "n",
  failedOf: (id: string) => boolean = () => false,
): string | undefined {
  const chosen = balancer.select(node);
  if (chosen === undefined) return undefined;
  const id = chosen.replicaId;
  balancer.onCallStart(node, id);
  const latencyMs = latencyOf(id);
  clock.advance(latencyMs);
  balancer.onCallEnd(node, id, { latencyMs, failed: failedOf(id) });
  return id;
}
