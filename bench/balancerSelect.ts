/**
 * Balancer selection benchmark: nanoseconds per `select` for every strategy at 10, 100 and 1000
 * replicas, with the call bookkeeping (`onCallStart` + `onCallEnd`, 16 calls kept in flight) and
 * without it, and with two replicas excluded; plus the `BalancedPicker` path and the cost of
 * `update`.
 *
 * Replicas carry weights 1–3 and varied CPU/memory figures; latency EWMAs are warmed before
 * measuring; thread ids cycle through 1024 UUID-like strings. Balancers use their defaults (real
 * clock, `Math.random`). Median of 7 rounds of ~30 ms each, after a warm-up.
 *
 * Usage: `npx tsx bench/balancerSelect.ts` (prints tables, writes bench/results/balancerSelect.json).
 * `bench/balancer.ts` imports {@link measureSelectNs}.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BalancedPicker, type PickerReplica } from "../src/balancer/BalancedPicker.js";
import { BALANCER_NAMES, type Balancer, type BalancerName, type CallResult, type SelectRequest } from "../src/balancer/Balancer.js";
import { createBalancer } from "../src/balancer/createBalancer.js";
import type { ReplicaInfo } from "../src/registry/Registry.js";
import { nsPerOp, type NsPerOpOptions } from "./lib/nsPerOp.js";
import { printTable, round, writeResults } from "./lib/stats.js";

/** Replica counts measured. */
export const SIZES = ["10", "100", "1000"] as const;
/** One of {@link SIZES}. */
export type Size = (typeof SIZES)[number];
/** Figures per strategy (or path) and replica count. */
export type SizeTable = Record<string, Record<Size, number>>;

const NODE = "momentum";
const IN_FLIGHT = 16;

/** Deterministic figures for the fixtures (mulberry32), so runs compare. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` registry records with weights 1–3 and varied load figures. */
export function benchReplicas(n: number, seed = 1): ReplicaInfo[] {
  const rnd = seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    const replicaId = `replica-${String(i).padStart(4, "0")}-${randomUUID().slice(0, 8)}`;
    return {
      node: NODE,
      replicaId,
      address: { replicaId, partitions: [i] },
      capabilities: [],
      version: "1",
      weight: 1 + (i % 3),
      status: "active",
      startedAt: 0,
      lastHeartbeat: Date.now(),
      expireAfterMs: 9000,
      load: { inFlight: 0, latencyEwmaMs: 0, errorRate: 0, cpu: rnd(), memoryBytes: Math.round(2 ** 28 + rnd() * 2 ** 31) },
      meta: {},
    };
  });
}

const REQUESTS: readonly SelectRequest[] = Array.from({ length: 1024 }, () => ({ threadId: randomUUID() }));
const RESULTS: readonly CallResult[] = Array.from({ length: 64 }, (_, i) => ({ latencyMs: 5 + ((i * 37) % 96), failed: i === 63 }));

/** A balancer of `name` over `n` replicas, every replica with a few latency samples. */
function prepared(name: BalancerName, n: number): Balancer {
  const balancer = createBalancer(name);
  const list = benchReplicas(n);
  balancer.update(NODE, list);
  for (const [i, r] of list.entries()) {
    for (let k = 0; k < 3; k += 1) {
      balancer.onCallStart(NODE, r.replicaId);
      balancer.onCallEnd(NODE, r.replicaId, RESULTS[(i + k) & 63]!);
    }
  }
  return balancer;
}

/** `select` + `onCallStart`, and `onCallEnd` of the call started IN_FLIGHT iterations earlier. */
function callLoop(balancer: Balancer): (iterations: number) => number {
  const ring: string[] = [];
  let head = 0;
  return (iterations) => {
    let sink = 0;
    for (let i = 0; i < iterations; i += 1) {
      const id = balancer.select(NODE, REQUESTS[i & 1023])!.replicaId;
      balancer.onCallStart(NODE, id);
      if (ring.length < IN_FLIGHT) {
        ring.push(id);
      } else {
        balancer.onCallEnd(NODE, ring[head]!, RESULTS[i & 63]!);
        ring[head] = id;
        head = (head + 1) % IN_FLIGHT;
      }
      sink += id.length;
    }
    return sink;
  };
}

function selectLoop(balancer: Balancer): (iterations: number) => number {
  return (iterations) => {
    let sink = 0;
    for (let i = 0; i < iterations; i += 1) sink += balancer.select(NODE, REQUESTS[i & 1023])!.replicaId.length;
    return sink;
  };
}

async function table(loop: (balancer: Balancer) => (iterations: number) => number, options?: NsPerOpOptions): Promise<SizeTable> {
  const out: SizeTable = {};
  for (const name of BALANCER_NAMES) {
    const row = {} as Record<Size, number>;
    for (const size of SIZES) row[size] = round((await nsPerOp(loop(prepared(name, Number(size))), options)).median, 1);
    out[name] = row;
  }
  return out;
}

/**
 * Nanoseconds per call's balancer work — `select`, `onCallStart` and `onCallEnd` (16 calls kept in
 * flight) — per strategy and replica count (median of rounds).
 */
export function measureSelectNs(options?: NsPerOpOptions): Promise<SizeTable> {
  return table(callLoop, options);
}

/** Nanoseconds per `select` alone, per strategy and replica count. */
export function measureSelectOnlyNs(options?: NsPerOpOptions): Promise<SizeTable> {
  return table(selectLoop, options);
}

/**
 * Nanoseconds per call through `BalancedPicker` over p2c-ewma (`pick`, then `callDone`), per
 * replica count: with the same candidate array every time (its change check is O(1)), and with a
 * new array of the same records each time, as `Registry.replicas()` returns (O(n) identity check).
 */
export async function measurePickerNs(options?: NsPerOpOptions): Promise<SizeTable> {
  const same = {} as Record<Size, number>;
  const fresh = {} as Record<Size, number>;
  for (const size of SIZES) {
    const list = benchReplicas(Number(size));
    const copies = Array.from({ length: 64 }, () => [...list]);
    for (const [row, listFor] of [
      [same, () => list],
      [fresh, (i: number) => copies[i & 63]!],
    ] as const) {
      const picker = new BalancedPicker({ balancer: createBalancer<PickerReplica>() });
      const run = (iterations: number): number => {
        let sink = 0;
        for (let i = 0; i < iterations; i += 1) {
          const id = picker.pick(NODE, listFor(i), REQUESTS[i & 1023]!.threadId ?? null)!.replicaId;
          picker.callDone(NODE, id, RESULTS[i & 63]!.latencyMs, "value");
          sink += id.length;
        }
        return sink;
      };
      row[size] = round((await nsPerOp(run, options)).median, 1);
    }
  }
  return { "same array": same, "new array per pick": fresh };
}

/** Nanoseconds per `select` with 2 of the n replicas excluded (breaker open), per strategy and replica count. */
export function measureSelectExcludingNs(options?: NsPerOpOptions): Promise<SizeTable> {
  return table((balancer) => {
    const ids = balancer.stats(NODE).map((s) => s.replicaId);
    const exclude = new Set([ids[0]!, ids[ids.length >> 1]!]);
    const requests = REQUESTS.map((r) => ({ ...r, exclude }));
    return (iterations) => {
      let sink = 0;
      for (let i = 0; i < iterations; i += 1) sink += balancer.select(NODE, requests[i & 1023])!.replicaId.length;
      return sink;
    };
  }, options);
}

/** Milliseconds per `update` at 1000 replicas: a refresh (same ids, new records) and a membership change (one replica replaced). */
export function measureUpdateMs(): Record<string, { refresh: number; change: number }> {
  const out: Record<string, { refresh: number; change: number }> = {};
  const base = benchReplicas(1000);
  const spare = benchReplicas(1, 2)[0]!;
  for (const name of BALANCER_NAMES) {
    const balancer = createBalancer(name);
    balancer.update(NODE, base);
    const time = (lists: () => ReplicaInfo[], times: number): number => {
      const prepared = Array.from({ length: times }, lists);
      const t0 = performance.now();
      for (const list of prepared) balancer.update(NODE, list);
      return round((performance.now() - t0) / times, 3);
    };
    const refresh = time(() => base.map((r) => ({ ...r })), 20);
    let flip = false;
    const change = time(() => {
      flip = !flip;
      return flip ? [...base.slice(1), spare] : base;
    }, 20);
    out[name] = { refresh, change };
  }
  return out;
}

async function main(): Promise<void> {
  const call = await measureSelectNs();
  const selectOnly = await measureSelectOnlyNs();
  const excluding = await measureSelectExcludingNs();
  const picker = await measurePickerNs();
  const update = measureUpdateMs();
  const rows = (t: SizeTable) =>
    Object.entries(t).map(([strategy, r]) => ({ strategy, "n=10": r["10"], "n=100": r["100"], "n=1000": r["1000"] }));
  printTable("ns per call: select + onCallStart + onCallEnd (16 in flight), median of 7 rounds", rows(call));
  printTable("ns per select alone", rows(selectOnly));
  printTable("ns per select with 2 replicas excluded", rows(excluding));
  printTable("ns per BalancedPicker pick + callDone (p2c-ewma)", rows(picker));
  printTable(
    "ms per update at 1000 replicas",
    Object.entries(update).map(([strategy, u]) => ({ strategy, refresh: u.refresh, "one replaced": u.change })),
  );
  const path = writeResults("balancerSelect", {
    callNs: call,
    selectOnlyNs: selectOnly,
    selectExcludingNs: excluding,
    pickerNs: picker,
    updateMs: update,
    _meta: { node: process.version, date: new Date().toISOString() },
  });
  console.log(`\nwrote ${path}`);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
