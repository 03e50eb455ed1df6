/**
 * Balancer benchmark, in two parts.
 *
 * (a) Selection cost, in nanoseconds per call, for every strategy at 10, 100 and 1000 replicas
 *     (median of 7 rounds of ~30 ms each, after a warm-up; see `bench/lib/nsPerOp.ts`):
 *     - `select_ns`: `select` alone — the figure the issue's target is about (every strategy
 *       <= 1 µs at 1,000 replicas, round robin and p2c-ewma <= 200 ns) — with 16 calls held in
 *       flight, so that in-flight-aware strategies do not select over an idle fleet;
 *     - `call_ns`: the balancer's whole share of one call: `select` + `onCallStart` + `onCallEnd`
 *       (16 calls in flight: each iteration ends the call started 16 iterations earlier), which
 *       includes the heap and bucket upkeep of least-connections, performance and resource;
 *     - `select_excluding_ns`: `select` with 2 replicas excluded (their breakers open);
 *     - `picker_ns`: the real call path's picker (`BalancedPicker` over p2c-ewma: `pick` +
 *       `callDone`), given the same candidate array each time and a new array of the same records
 *       each time (what `Registry.replicas()` returns: an O(n) identity check per pick);
 *     - `update_ms`: one `update` at 1000 replicas (a refresh, and one replica replaced).
 *     Replicas carry weights 1–3 and varied CPU/memory figures; latency estimates are warmed
 *     first; thread ids cycle through 1024 UUIDs. Balancers use their defaults (real clock,
 *     `Math.random`).
 *
 * (b) Tail latency with one slow replica, through the real fabric: a caller fabric and one worker
 *     fabric per replica (separate `createFabric()` instances, as separate processes would be)
 *     share an `InMemoryNetwork` and an `InMemoryStateBackend`, so every call goes through the
 *     remote-node client, the balancer, the breakers, the transport's envelopes, the worker and the
 *     idempotency store — only the medium is in memory. 5 replicas serve the node with
 *     concurrency 4 (more requests queue at the replica, as they wait in a Kafka partition). The
 *     node's service time is a `setTimeout` of 20 ms; replica 0 takes 20x as long (400 ms) during
 *     the middle third of the measured interval. Calls arrive open-loop, Poisson (seeded: every
 *     strategy sees the same arrival times), at 55% of the fleet's capacity.
 *
 * Why a timer and not a busy loop: everything runs in this one process, so a busy loop would
 * block the caller and every other replica — slowness would not be one replica's. Why 20 ms and
 * not 2 ms: one call costs this process ~0.4–0.9 ms of CPU (both sides of the fabric, measured on
 * the shared 2-core machine), so the 5 500 calls/s that 55% of 2 ms × concurrency 4 × 5 replicas
 * would take are beyond one event loop; at 20 ms the same utilization is 550 calls/s (~30% of a
 * core), and the queueing is the same — it depends on utilization, concurrency and the slow
 * factor, not on the time unit. (The p2c-ewma decay is absolute time, but what it decides — how
 * long until a 20x slower replica's estimate decays to its peers' — depends on the ratio only.)
 * Why 55%: at low load every strategy finds a free slot and none matters; near saturation every
 * strategy queues. With replica 0 slow the fleet's capacity drops from 1 000 to 810 calls/s, so
 * 550 calls/s is 68% of the degraded fleet: stable for a strategy that adapts, while a fixed 1/5
 * share sends 110 calls/s to a replica that serves 10.
 *
 * Variants: "pure" (every strategy; outlier detection off — slow is not failing, and no attempt
 * timeout, so breakers never see a failure) is the balancer comparison and fills `tail` in the
 * JSON; "timeout" (round robin, least connections, p2c-ewma with default breakers and outlier
 * detection plus `attemptTimeoutMs` = 10x the service time) shows breakers turning slowness into
 * failures. Both raise the per-node bulkhead so that round robin's backlog on the slow replica does
 * not also queue calls to the healthy ones in the caller.
 *
 * Usage: `npm run bench:balancer`. Knobs: BENCH_PARTS ("select,tail"; `BENCH_PARTS=select` runs
 * part (a) alone, ~30 s), BENCH_VARIANTS ("pure,timeout"), BENCH_STRATEGIES (comma list; default
 * all), BENCH_TAIL_S (measured seconds, 30), BENCH_WARMUP_S (3), BENCH_SERVICE_MS (20),
 * BENCH_SLOW_FACTOR (20), BENCH_UTILIZATION (0.55), BENCH_REPLICAS (5), BENCH_CONCURRENCY (4),
 * BENCH_SEED (1).
 * Writes bench/results/balancer.json: part (a)'s keys above, `tail` (pure variant), `tail_detail`,
 * and `_meta.select` / `_meta.tail`. A run of one part keeps the other part's figures (and meta)
 * from the file.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { RunnableConfig } from "@langchain/core/runnables";
import { BalancedPicker, type PickerReplica } from "../src/balancer/BalancedPicker.js";
import { BALANCER_NAMES, type Balancer, type BalancerName, type CallResult, type SelectRequest } from "../src/balancer/Balancer.js";
import { createBalancer, type BalancerSpec } from "../src/balancer/createBalancer.js";
import { createFabric, type Fabric, type FabricConfig } from "../src/fabric.js";
import { silentLogger } from "../src/observability/logger.js";
import type { ReplicaInfo } from "../src/registry/Registry.js";
import type { ResilienceOptions } from "../src/resilience/resilienceOptions.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../src/transport/InMemoryTransport.js";
import { nsPerOp } from "./lib/nsPerOp.js";
import { percentile, printTable, round, writeResults } from "./lib/stats.js";

const env = process.env;
const num = (name: string, fallback: number): number => {
  const v = env[name];
  return v === undefined || v === "" ? fallback : Number(v);
};
const list = (name: string, fallback: string): string[] =>
  (env[name] ?? fallback)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const PARTS = new Set(list("BENCH_PARTS", "select,tail"));
const P = {
  replicas: num("BENCH_REPLICAS", 5),
  concurrency: num("BENCH_CONCURRENCY", 4), // calls per replica
  serviceMs: num("BENCH_SERVICE_MS", 20), // ms
  slowFactor: num("BENCH_SLOW_FACTOR", 20),
  utilization: num("BENCH_UTILIZATION", 0.55), // of the healthy fleet's capacity
  warmupS: num("BENCH_WARMUP_S", 3), // s, not measured
  seconds: num("BENCH_TAIL_S", 30), // s measured; replica 0 is slow in the middle third
  seed: num("BENCH_SEED", 1),
  threads: 1024, // distinct thread ids (consistent-hash keys on them)
};
/** Calls per second offered: utilization × replicas × concurrency / service time. */
const RATE = (P.utilization * P.replicas * P.concurrency * 1000) / P.serviceMs;
const SLOW_MS = P.serviceMs * P.slowFactor;
const NODE = "work";
const SLOW_REPLICA = 0;

/** Deterministic uniform randomness in [0, 1) (mulberry32), so every strategy sees the same arrivals. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// (a) Selection cost
// ---------------------------------------------------------------------------------------------

/** Replica counts measured. */
const SIZES = ["10", "100", "1000"] as const;
type Size = (typeof SIZES)[number];
/** Figures per strategy (or path) and replica count. */
type SizeTable = Record<string, Record<Size, number>>;

const SELECT_NODE = "momentum";
/** Calls kept in flight while measuring, so in-flight-aware strategies do not see an idle fleet. */
const IN_FLIGHT = 16;

/** `n` registry records with weights 1–3 and varied load figures. */
function benchReplicas(n: number, seed = 1): ReplicaInfo[] {
  const rnd = seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    const replicaId = `replica-${String(i).padStart(4, "0")}-${randomUUID().slice(0, 8)}`;
    return {
      node: SELECT_NODE,
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
  balancer.update(SELECT_NODE, list);
  for (const [i, r] of list.entries()) {
    for (let k = 0; k < 3; k += 1) {
      balancer.onCallStart(SELECT_NODE, r.replicaId);
      balancer.onCallEnd(SELECT_NODE, r.replicaId, RESULTS[(i + k) & 63]!);
    }
  }
  return balancer;
}

/** `select` alone, after IN_FLIGHT calls were started (and left running). */
function selectLoop(balancer: Balancer): (iterations: number) => number {
  for (let i = 0; i < IN_FLIGHT; i += 1) balancer.onCallStart(SELECT_NODE, balancer.select(SELECT_NODE, REQUESTS[i])!.replicaId);
  return (iterations) => {
    let sink = 0;
    for (let i = 0; i < iterations; i += 1) sink += balancer.select(SELECT_NODE, REQUESTS[i & 1023])!.replicaId.length;
    return sink;
  };
}

/** `select` + `onCallStart`, and `onCallEnd` of the call started IN_FLIGHT iterations earlier. */
function callLoop(balancer: Balancer): (iterations: number) => number {
  const ring: string[] = [];
  let head = 0;
  return (iterations) => {
    let sink = 0;
    for (let i = 0; i < iterations; i += 1) {
      const id = balancer.select(SELECT_NODE, REQUESTS[i & 1023])!.replicaId;
      balancer.onCallStart(SELECT_NODE, id);
      if (ring.length < IN_FLIGHT) {
        ring.push(id);
      } else {
        balancer.onCallEnd(SELECT_NODE, ring[head]!, RESULTS[i & 63]!);
        ring[head] = id;
        head = (head + 1) % IN_FLIGHT;
      }
      sink += id.length;
    }
    return sink;
  };
}

/** `select` with 2 of the n replicas excluded (breakers open), IN_FLIGHT calls running. */
function excludingLoop(balancer: Balancer): (iterations: number) => number {
  const ids = balancer.stats(SELECT_NODE).map((s) => s.replicaId);
  const exclude = new Set([ids[0]!, ids[ids.length >> 1]!]);
  const requests = REQUESTS.map((r) => ({ ...r, exclude }));
  for (let i = 0; i < IN_FLIGHT; i += 1) balancer.onCallStart(SELECT_NODE, balancer.select(SELECT_NODE, requests[i])!.replicaId);
  return (iterations) => {
    let sink = 0;
    for (let i = 0; i < iterations; i += 1) sink += balancer.select(SELECT_NODE, requests[i & 1023])!.replicaId.length;
    return sink;
  };
}

/** ns per iteration of `loop` over a fresh prepared balancer, per strategy and replica count. */
async function strategyTable(loop: (balancer: Balancer) => (iterations: number) => number): Promise<SizeTable> {
  const out: SizeTable = {};
  for (const name of BALANCER_NAMES) {
    const row = {} as Record<Size, number>;
    for (const size of SIZES) row[size] = round((await nsPerOp(loop(prepared(name, Number(size))))).median, 1);
    out[name] = row;
  }
  return out;
}

/**
 * ns per call through `BalancedPicker` over p2c-ewma (`pick`, then `callDone`), per replica count:
 * with the same candidate array every time (its change check is O(1)), and with a new array of the
 * same records each time, as `Registry.replicas()` returns (an O(n) identity check).
 */
async function pickerTable(): Promise<SizeTable> {
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
          const id = picker.pick(SELECT_NODE, listFor(i), REQUESTS[i & 1023]!.threadId ?? null)!.replicaId;
          picker.callDone(SELECT_NODE, id, RESULTS[i & 63]!.latencyMs, "value");
          sink += id.length;
        }
        return sink;
      };
      row[size] = round((await nsPerOp(run)).median, 1);
    }
  }
  return { "same array": same, "new array per pick": fresh };
}

/** ms per `update` at 1000 replicas: a refresh (same ids, new records) and a membership change (one replica replaced). */
function updateTable(): Record<string, { refresh: number; change: number }> {
  const out: Record<string, { refresh: number; change: number }> = {};
  const base = benchReplicas(1000);
  const spare = benchReplicas(1, 2)[0]!;
  for (const name of BALANCER_NAMES) {
    const balancer = createBalancer(name);
    balancer.update(SELECT_NODE, base);
    const time = (lists: () => ReplicaInfo[], times: number): number => {
      const batch = Array.from({ length: times }, lists);
      const t0 = performance.now();
      for (const list of batch) balancer.update(SELECT_NODE, list);
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

/** Part (a): prints its tables and returns its JSON keys. */
async function runSelect(): Promise<Record<string, unknown>> {
  const rows = (t: SizeTable) =>
    Object.entries(t).map(([strategy, r]) => ({ strategy, "n=10": r["10"], "n=100": r["100"], "n=1000": r["1000"] }));
  const select = await strategyTable(selectLoop);
  printTable(`(a) select_ns: ns per select alone (${IN_FLIGHT} calls in flight), median of 7 rounds`, rows(select));
  const call = await strategyTable(callLoop);
  printTable(`(a) call_ns: ns per call of balancer work, select + onCallStart + onCallEnd (${IN_FLIGHT} in flight)`, rows(call));
  const excluding = await strategyTable(excludingLoop);
  printTable("(a) select_excluding_ns: ns per select with 2 replicas excluded", rows(excluding));
  const picker = await pickerTable();
  printTable("(a) picker_ns: ns per BalancedPicker pick + callDone (p2c-ewma)", rows(picker));
  const update = updateTable();
  printTable(
    "(a) update_ms: ms per update at 1000 replicas",
    Object.entries(update).map(([strategy, u]) => ({ strategy, refresh: u.refresh, "one replaced": u.change })),
  );
  const over = Object.entries(select)
    .filter(([strategy, r]) => r["1000"] > (strategy === "round-robin" || strategy === "p2c-ewma" ? 200 : 1000))
    .map(([strategy, r]) => `${strategy} ${r["1000"]} ns`);
  console.log(
    `\ntarget: select <= 1000 ns at 1000 replicas for every strategy, <= 200 ns for round-robin and p2c-ewma — ` +
      (over.length === 0 ? "met" : `NOT met: ${over.join(", ")}`),
  );
  return { select_ns: select, call_ns: call, select_excluding_ns: excluding, picker_ns: picker, update_ms: update };
}

// ---------------------------------------------------------------------------------------------
// (b) Tail latency with one slow replica
// ---------------------------------------------------------------------------------------------

/** A node call config as LangGraph hands it to a node: a thread, and a fresh task (so a fresh idempotency key). */
function taskConfig(threadId: string): RunnableConfig {
  const taskId = randomUUID();
  const checkpointNs = `${NODE}:${taskId}`;
  return {
    configurable: { thread_id: threadId, checkpoint_ns: checkpointNs },
    executionInfo: { taskId, threadId, checkpointNs, checkpointId: "", nodeAttempt: 1 },
  } as RunnableConfig;
}

interface Variant {
  /** Why this variant exists, for the table titles. */
  title: string;
  strategies: BalancerName[];
  resilience: ResilienceOptions;
}

/** Latency figures, in ms. */
interface Tail {
  calls: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}

/** One strategy's run. */
interface TailRun {
  all: Tail & { errors: number };
  /** By the phase in which the call arrived: before, while and after replica 0 is slow. */
  phases: Record<"before" | "slow" | "after", Tail & { slow_share: number }>;
  /** Per measured second: calls, share served by the slow replica, p99. */
  timeline: { s: number; calls: number; slow_share: number; p99_ms: number }[];
  /** How late the open loop issued calls (harness noise), ms. */
  issue_lag_p99_ms: number;
  /** Event-loop delay while measuring (everything shares this loop), ms. */
  loop_delay_p99_ms: number;
  /** Actual duration of the healthy replicas' 20 ms timers (the node's own time), ms. */
  fast_service_p50_ms: number;
  fast_service_p99_ms: number;
  /** CPU of this process over the run, in cores. */
  cpu_cores: number;
  breaker_events: Record<string, number>;
  /** Every breaker event: seconds since the measured interval began (negative: warm-up), replica index, type. */
  breaker_log: { t_s: number; replica: number; type: string }[];
  /**
   * Event-loop stalls over 100 ms (seconds since the measured interval began, length in ms): one
   * loop runs the caller and every replica here, so a stall delays replies and fires attempt
   * timeouts on every replica at once.
   */
  stalls: { t_s: number; ms: number }[];
  /** Seconds from the first arrival to the last reply (round robin drains a backlog). */
  wall_s: number;
}

function tail(latencies: readonly number[]): Tail {
  return {
    calls: latencies.length,
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    p999_ms: round(percentile(latencies, 99.9), 2),
    max_ms: round(percentile(latencies, 100), 2),
  };
}

/** The node a replica serves: a timer of the service time, 20x longer on the slow replica while `slow.on`. */
function serviceNode(index: number, slow: { on: boolean }, fastSamples: number[]) {
  return async (): Promise<{ replica: number }> => {
    const isSlow = index === SLOW_REPLICA && slow.on;
    const t0 = performance.now();
    await sleep(isSlow ? SLOW_MS : P.serviceMs);
    if (!isSlow) fastSamples.push(performance.now() - t0);
    return { replica: index };
  };
}

async function runTail(strategy: BalancerName, resilience: ResilienceOptions): Promise<TailRun> {
  const network = new InMemoryNetwork();
  const backend = new InMemoryStateBackend();
  const fabrics: Fabric[] = [];
  const make = (config: FabricConfig = {}): Promise<Fabric> =>
    createFabric({
      transport: new InMemoryTransport({ network, logger: silentLogger }),
      state: new InMemoryStateStore({ backend }),
      logger: silentLogger,
      ...config,
    });
  const slow = { on: false };
  const fastSamples: number[] = [];
  const indexOf = new Map<string, number>();
  try {
    for (let i = 0; i < P.replicas; i += 1) {
      const worker = await make();
      fabrics.push(worker);
      const served = await worker.serve({ [NODE]: serviceNode(i, slow, fastSamples) }, { nodes: [NODE], concurrency: P.concurrency });
      indexOf.set(served.replicas[NODE]!, i);
    }
    const caller = await make({
      // Seeded too, so the strategies' own coin flips repeat from run to run.
      balancer: { strategy, random: seeded(P.seed * 7919) } as BalancerSpec,
      resilience,
      // Round robin's backlog on the slow replica takes minutes to drain: measure it, do not time it out.
      callTimeoutMs: 900_000,
    });
    fabrics.push(caller);
    await caller.registry.refresh();
    const breakerEvents: Record<string, number> = {};
    const breakerLog: { t_s: number; replica: number; type: string }[] = [];
    let tStart = performance.now();
    caller.onBreakerEvent((e) => {
      breakerEvents[e.type] = (breakerEvents[e.type] ?? 0) + 1;
      breakerLog.push({
        t_s: round((performance.now() - tStart) / 1000 - P.warmupS, 2),
        replica: indexOf.get(e.replicaId) ?? -1,
        type: e.type,
      });
    });
    const remote = caller.remoteNode(NODE);
    const threads = Array.from({ length: P.threads }, (_, i) => `thread-${i}`);

    // Poisson arrivals: exponential gaps of mean 1/RATE.
    const rnd = seeded(P.seed);
    const warmupMs = P.warmupS * 1000;
    const totalMs = warmupMs + P.seconds * 1000;
    const arrivals: number[] = [];
    for (let t = -Math.log(1 - rnd()) * (1000 / RATE); t < totalMs; t += -Math.log(1 - rnd()) * (1000 / RATE)) arrivals.push(t);
    const n = arrivals.length;
    const latency = new Float64Array(n).fill(Number.NaN);
    const servedBy = new Int8Array(n).fill(-1);
    const lag: number[] = [];
    let errors = 0;
    let firstError: unknown;
    const slowFrom = warmupMs + (P.seconds * 1000) / 3;
    const slowUntil = warmupMs + (2 * P.seconds * 1000) / 3;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    let cpu0 = process.cpuUsage();
    let wall0 = performance.now();
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    tStart = t0;
    const stalls: { t_s: number; ms: number }[] = [];
    let tick = performance.now();
    const stallWatch = setInterval(() => {
      const now = performance.now();
      if (now - tick > 100) stalls.push({ t_s: round((tick - t0) / 1000 - P.warmupS, 2), ms: Math.round(now - tick) });
      tick = now;
    }, 5);
    let measuring = false;
    for (let i = 0; i < n; i += 1) {
      const due = t0 + arrivals[i]!;
      const wait = due - performance.now();
      if (wait >= 1) await sleep(wait);
      if (!measuring && arrivals[i]! >= warmupMs) {
        measuring = true;
        loopDelay.enable();
        fastSamples.length = 0;
        cpu0 = process.cpuUsage();
        wall0 = performance.now();
      }
      // Slowness follows the schedule, so it starts at the same arrival for every strategy.
      slow.on = arrivals[i]! >= slowFrom && arrivals[i]! < slowUntil;
      const issued = performance.now();
      if (measuring) lag.push(issued - due);
      pending.push(
        remote.invoke({}, taskConfig(threads[i % P.threads]!)).then(
          (out) => {
            latency[i] = performance.now() - issued;
            servedBy[i] = (out as { replica: number }).replica;
          },
          (e: unknown) => {
            errors += 1;
            firstError ??= e;
          },
        ),
      );
    }
    slow.on = false;
    await Promise.all(pending);
    clearInterval(stallWatch);
    loopDelay.disable();
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    if (firstError !== undefined) console.error(`[bench] ${strategy}: ${errors} calls failed; first:`, firstError);

    const inRange = (from: number, until: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < n; i += 1) if (arrivals[i]! >= from && arrivals[i]! < until && !Number.isNaN(latency[i]!)) out.push(i);
      return out;
    };
    const lat = (idx: number[]): number[] => idx.map((i) => latency[i]!);
    const slowShare = (idx: number[]): number =>
      idx.length === 0 ? 0 : idx.filter((i) => servedBy[i] === SLOW_REPLICA).length / idx.length;
    const phase = (from: number, until: number) => {
      const idx = inRange(from, until);
      return { ...tail(lat(idx)), slow_share: round(slowShare(idx), 4) };
    };
    const timeline = [];
    for (let s = 0; s < P.seconds; s += 1) {
      const idx = inRange(warmupMs + s * 1000, warmupMs + (s + 1) * 1000);
      timeline.push({ s, calls: idx.length, slow_share: round(slowShare(idx), 3), p99_ms: round(percentile(lat(idx), 99), 1) });
    }
    return {
      all: { ...tail(lat(inRange(warmupMs, totalMs))), errors },
      phases: { before: phase(warmupMs, slowFrom), slow: phase(slowFrom, slowUntil), after: phase(slowUntil, totalMs) },
      timeline,
      issue_lag_p99_ms: round(percentile(lag, 99), 2),
      loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6, 2),
      fast_service_p50_ms: round(percentile(fastSamples, 50), 2),
      fast_service_p99_ms: round(percentile(fastSamples, 99), 2),
      cpu_cores: round((cpu.user + cpu.system) / 1000 / wallMs, 2),
      breaker_events: breakerEvents,
      breaker_log: breakerLog,
      stalls,
      wall_s: round(wallMs / 1000, 1),
    };
  } finally {
    await Promise.all(fabrics.map((f) => f.stop({ drainTimeoutMs: 1000 })));
  }
}

function variants(): Record<string, Variant> {
  // The bulkhead counts calls in flight per node in the caller; round robin's backlog would fill the
  // default 1 024 and hold calls for healthy replicas too — a real effect, but not the balancer's.
  const bulkheadLimit = 100_000;
  const wanted = new Set(list("BENCH_STRATEGIES", BALANCER_NAMES.join(",")));
  const pick = (names: readonly BalancerName[]) => names.filter((s) => wanted.has(s));
  const all: Record<string, Variant> = {
    pure: {
      title: "balancer only (outlier detection off, no attempt timeout: breakers see no failure)",
      strategies: pick(BALANCER_NAMES),
      resilience: { outlier: { enabled: false }, bulkheadLimit },
    },
    timeout: {
      title: `default breakers and outlier detection + attemptTimeoutMs ${10 * P.serviceMs} (slowness becomes failure)`,
      strategies: pick(["round-robin", "least-connections", "p2c-ewma"]),
      resilience: { attemptTimeoutMs: 10 * P.serviceMs, bulkheadLimit },
    },
  };
  return Object.fromEntries(list("BENCH_VARIANTS", "pure,timeout").map((v) => [v, all[v]!]));
}

/**
 * The last results, if any, for this run to overwrite only what it measured: `BENCH_PARTS=tail`
 * keeps `select_ns` and `call_ns`, `BENCH_PARTS=select` keeps `tail`, and each part keeps its own
 * `_meta` entry (the machine and parameters its figures were measured with). A file from before
 * `_meta` was split per part has the tail run's meta at its top level. Read from where
 * `writeResults` writes (BENCH_RESULTS_DIR, else bench/results).
 */
function previousResults(): { figures: Record<string, unknown>; meta: Record<string, unknown> } {
  let previous: Record<string, unknown>;
  try {
    previous = JSON.parse(
      readFileSync(
        env.BENCH_RESULTS_DIR ? `${env.BENCH_RESULTS_DIR}/balancer.json` : new URL("./results/balancer.json", import.meta.url),
        "utf8",
      ),
    ) as Record<string, unknown>;
  } catch {
    return { figures: {}, meta: {} };
  }
  const { _meta, ...figures } = previous;
  const meta = (_meta ?? {}) as Record<string, unknown>;
  return { figures, meta: "tail_parameters" in meta ? { tail: meta } : meta };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {};
  const meta: Record<string, unknown> = {};
  const machine = () => ({
    node: process.version,
    date: new Date().toISOString(),
    cores: cpus().length,
    loadavg: loadavg().map((l) => round(l, 2)),
  });
  if (PARTS.has("select")) {
    Object.assign(results, await runSelect());
    meta.select = machine();
  }
  if (PARTS.has("tail")) {
    console.log(
      `\n(b) ${P.replicas} replicas x concurrency ${P.concurrency}, service ${P.serviceMs} ms (setTimeout), replica ${SLOW_REPLICA} ` +
        `${SLOW_MS} ms for the middle third; Poisson arrivals at ${round(RATE, 1)} calls/s (${round(P.utilization * 100, 1)}% of capacity), ` +
        `${P.warmupS} s warm-up + ${P.seconds} s measured; load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(" ")} on ${cpus().length} cores`,
    );
    const detail: Record<string, Record<string, TailRun>> = {};
    for (const [name, variant] of Object.entries(variants())) {
      const runs: Record<string, TailRun> = {};
      for (const strategy of variant.strategies) {
        runs[strategy] = await runTail(strategy, variant.resilience);
        const r = runs[strategy];
        console.log(`  ${name} ${strategy}: p99 ${r.all.p99_ms} ms, slow share while slow ${(r.phases.slow.slow_share * 100).toFixed(2)}%`);
      }
      detail[name] = runs;
      printTable(
        `(b) ${name}: ${variant.title} — call latency, ms`,
        Object.entries(runs).map(([strategy, r]) => ({
          strategy,
          calls: r.all.calls,
          errors: r.all.errors,
          p50: r.all.p50_ms,
          p99: r.all.p99_ms,
          "p99.9": r.all.p999_ms,
          max: r.all.max_ms,
          "slow-third p99": r.phases.slow.p99_ms,
          "after p99": r.phases.after.p99_ms,
        })),
      );
      printTable(
        `(b) ${name}: share of calls served by the slow replica, by arrival phase (1/${P.replicas} = ${round(100 / P.replicas, 1)}%)`,
        Object.entries(runs).map(([strategy, r]) => ({
          strategy,
          "before %": round(r.phases.before.slow_share * 100, 2),
          "slow %": round(r.phases.slow.slow_share * 100, 2),
          "after %": round(r.phases.after.slow_share * 100, 2),
          breaker: Object.entries(r.breaker_events)
            .map(([k, v]) => `${k}:${v}`)
            .join(" "),
          "loop delay p99": r.loop_delay_p99_ms,
          "20ms timer p99": r.fast_service_p99_ms,
          "cpu cores": r.cpu_cores,
          "wall s": r.wall_s,
        })),
      );
    }
    const pure = detail.pure;
    if (pure) {
      results.tail = Object.fromEntries(
        Object.entries(pure).map(([strategy, r]) => [strategy, { p50_ms: r.all.p50_ms, p99_ms: r.all.p99_ms, p999_ms: r.all.p999_ms }]),
      );
      const rr = pure["round-robin"];
      const p2c = pure["p2c-ewma"];
      if (rr && p2c) {
        const ratio = rr.all.p99_ms / p2c.all.p99_ms;
        console.log(
          `\ntarget: p2c-ewma p99 at least 5x lower than round robin's — ${round(rr.all.p99_ms, 1)} / ${round(p2c.all.p99_ms, 1)} ms = ` +
            `${round(ratio, 1)}x: ${ratio >= 5 ? "met" : "NOT met"}`,
        );
      }
    }
    results.tail_detail = detail;
    meta.tail = {
      ...machine(),
      tail_parameters: { ...P, rate_per_s: round(RATE, 1), slow_ms: SLOW_MS, service: "setTimeout", arrivals: "Poisson (seeded)" },
    };
  }
  const previous = previousResults();
  const figures: Record<string, unknown> = { ...previous.figures, ...results };
  // Part (a)'s keys first, in the order of the tables, then part (b)'s.
  const order = ["select_ns", "call_ns", "select_excluding_ns", "picker_ns", "update_ms", "tail", "tail_detail"];
  const ordered = Object.fromEntries([
    ...order.filter((k) => k in figures).map((k) => [k, figures[k]] as const),
    ...Object.entries(figures).filter(([k]) => !order.includes(k)),
  ]);
  const path = writeResults("balancer", { ...ordered, _meta: { ...previous.meta, ...meta } });
  console.log(`\nwrote ${path}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
