/**
 * Balancer benchmark, in two parts.
 *
 * (a) Selection cost: nanoseconds of balancer work per call (`select` + `onCallStart` +
 *     `onCallEnd`) for every strategy at 10, 100 and 1000 replicas — `measureSelectNs()` of
 *     `bench/balancerSelect.ts`, which also has the finer tables.
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
 * Usage: `npm run bench:balancer`. Knobs: BENCH_PARTS ("select,tail"), BENCH_VARIANTS
 * ("pure,timeout"), BENCH_STRATEGIES (comma list; default all), BENCH_TAIL_S (measured seconds, 30),
 * BENCH_WARMUP_S (3), BENCH_SERVICE_MS (20), BENCH_SLOW_FACTOR (20), BENCH_UTILIZATION (0.55),
 * BENCH_REPLICAS (5), BENCH_CONCURRENCY (4), BENCH_SEED (1).
 * Writes bench/results/balancer.json: `select_ns`, `tail` (pure variant), `tail_detail`, `_meta`.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { RunnableConfig } from "@langchain/core/runnables";
import { BALANCER_NAMES, type BalancerName } from "../src/balancer/Balancer.js";
import type { BalancerSpec } from "../src/balancer/createBalancer.js";
import { createFabric, type Fabric, type FabricConfig } from "../src/fabric.js";
import { silentLogger } from "../src/observability/logger.js";
import type { ResilienceOptions } from "../src/resilience/resilienceOptions.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../src/transport/InMemoryTransport.js";
import { measureSelectNs, type SizeTable } from "./balancerSelect.js";
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

/** The figures of the last run, if any (so that `BENCH_PARTS=tail` does not drop `select_ns`). */
function previousResults(): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(new URL("./results/balancer.json", import.meta.url), "utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {};
  if (PARTS.has("select")) {
    const select: SizeTable = await measureSelectNs();
    printTable(
      "(a) ns per call of balancer work: select + onCallStart + onCallEnd (16 in flight), median of 7 rounds",
      Object.entries(select).map(([strategy, r]) => ({ strategy, "n=10": r["10"], "n=100": r["100"], "n=1000": r["1000"] })),
    );
    results.select_ns = select;
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
  }
  results._meta = {
    node: process.version,
    date: new Date().toISOString(),
    cores: cpus().length,
    loadavg: loadavg().map((l) => round(l, 2)),
    tail_parameters: { ...P, rate_per_s: round(RATE, 1), slow_ms: SLOW_MS, service: "setTimeout", arrivals: "Poisson (seeded)" },
  };
  // A run of one part keeps the other part's figures from the last full run.
  const path = writeResults("balancer", { ...previousResults(), ...results });
  console.log(`\nwrote ${path}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
