/**
 * Remote-node benchmark: one LangGraph node call (~1 KB of state in, ~1 KB of update out) as users
 * make it — `fabric.remoteNode(name).invoke(input, config)` on the caller, `fabric.serve` on
 * replicas — through `KafkaTransport` with a `RedisStateStore` (so every call claims and records its
 * idempotency key in Redis), through the in-memory transport, and as a direct call of the node
 * function. An extra row runs a compiled one-node graph whose node is distributed.
 *
 * - Kafka: the caller is this process; 4 replicas are child processes (`node --import tsx`).
 *   Latency: closed-loop sequential calls, and an open loop at a fixed moderate rate (200 calls/s
 *   for 10 s after warm-up; the headline p50/p99). Throughput: a fixed window of calls in flight
 *   for 5 s after 1 s of warm-up, for several window sizes; the best is reported.
 * - CPU per call of every process (caller, replicas, broker, Redis, the rest of the machine) and
 *   Redis commands per call, over the open-loop and the best throughput intervals.
 * - The idempotency record's own cost, measured directly: `IdempotencyStore.begin` + `complete`
 *   against Redis, one at a time.
 * - Memory: caller and replica in this process (`createFabric()`). Direct: `work(state)`.
 *
 * Usage: `npm run bench:remote` (needs Kafka on KAFKA_BROKERS, default 127.0.0.1:9092, and Redis on
 * REDIS_URL, default redis://127.0.0.1:6379). Knobs: BENCH_REPLICAS (4), BENCH_RATE (200),
 * BENCH_RATE_S (10), BENCH_SEQ (2000), BENCH_WINDOWS ("32,64,128,256,512"), BENCH_TP_S (5),
 * BENCH_CONCURRENCY (per replica, 64), BENCH_PHASES (comma list of direct, memory, idempotency,
 * kafka, kafka-tp), BENCH_CPU_PROF_DIR (run the benchmark and its replicas with --cpu-prof there),
 * BENCH_COMMIT_INTERVAL_MS, BENCH_REDIS_AUTOPIPELINE=1, BENCH_QUIET (0.2: wait, at most
 * BENCH_QUIET_WAIT_S = 60 s, until under that share of the machine's cores is busy), BENCH_SIGNING
 * (on: messages signed with FABRIC_SIGNING_KEYS or a key made for the run; off: unsigned, written
 * to remote-node-unsigned.json).
 *
 * The program bundles itself and the replica program to plain JavaScript first and runs that, so
 * that this package's code costs what the built package costs (see `lib/bundle.ts`); BENCH_TSX=1
 * runs the sources under tsx instead. Writes bench/results/remote-node.json.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { KafkaTransport } from "../adapters/kafka/KafkaTransport.js";
import { benchSigning, benchSigningMode } from "./lib/benchSigning.js";
import type { RedisStateStore } from "../adapters/redis/RedisStateStore.js";
import { createFabric, type Fabric } from "../src/fabric.js";
import { IdempotencyStore } from "../src/nodes/IdempotencyStore.js";
import { isCallable } from "../src/nodes/pickReplica.js";
import { createConsoleLogger } from "../src/observability/logger.js";
import { deleteByPrefix } from "../test/support/checkpointerFactory.js";
import { benchStateStore } from "./lib/benchStateStore.js";
import { bundleEntries, repoRoot } from "./lib/bundle.js";
import { CpuMeter, findPid, waitForQuietMachine, type CpuPerOp, type CpuSnapshot } from "./lib/cpuMeter.js";
import { openLoop, sequential, window, type LoadResult } from "./lib/load.js";
import { builder, input, NODE, wallClockMs, work, type BenchState } from "./lib/remoteNodeGraph.js";
import type { ReplicaCommand, ReplicaReport } from "./lib/remoteNodeReplica.js";
import { percentile, printTable, round, writeResults } from "./lib/stats.js";

const env = process.env;
/** Message signing, on unless BENCH_SIGNING=off; set in the environment here so replica processes sign the same way. */
const SIGNING = benchSigning(env);
const REPLICAS = Number(env.BENCH_REPLICAS ?? 4);
const RATE = Number(env.BENCH_RATE ?? 200);
const RATE_S = Number(env.BENCH_RATE_S ?? 10);
const SEQ = Number(env.BENCH_SEQ ?? 2000);
const WINDOWS = (env.BENCH_WINDOWS ?? "32,64,128,256,512").split(",").map(Number);
const TP_S = Number(env.BENCH_TP_S ?? 5);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 64);
const PHASES = new Set((env.BENCH_PHASES ?? "direct,memory,idempotency,kafka,kafka-tp").split(","));
const BROKERS = (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const REDIS_URL = env.REDIS_URL ?? "redis://127.0.0.1:6379";
const logger = createConsoleLogger({ name: "bench", level: "warn" });

/** Latency figures of one run, in ms. */
function summary(r: LoadResult): Record<string, number> {
  return {
    calls: r.calls,
    errors: r.errors,
    calls_per_s: round(r.calls / r.seconds, 1),
    p50_ms: round(percentile(r.latencies, 50)),
    p90_ms: round(percentile(r.latencies, 90)),
    p99_ms: round(percentile(r.latencies, 99)),
    max_ms: round(percentile(r.latencies, 100)),
  };
}

function roundCpu(c: CpuPerOp): Record<string, unknown> {
  const r = (v: number | null): number | null => (v === null ? null : round(v, 1));
  return {
    caller_us: r(c.caller_us),
    replicas_us: r(c.replicas_us),
    broker_us: r(c.broker_us),
    redis_us: r(c.redis_us),
    other_us: r(c.other_us),
    total_us: r(c.total_us),
    machine_busy: round(c.machine_busy, 2),
    redis_commands: c.redis_commands,
  };
}

function report(label: string, r: LoadResult): void {
  if (r.errors > 0) console.error(`[bench] ${label}: ${r.errors} calls failed; first:`, r.firstError);
}

/** A node call config as LangGraph hands it to a node: thread, namespace and task id (a fresh task each call). */
function taskConfig(): RunnableConfig {
  const taskId = randomUUID();
  const checkpointNs = `${NODE}:${taskId}`;
  return {
    configurable: { thread_id: "bench-thread", checkpoint_ns: checkpointNs },
    executionInfo: { taskId, threadId: "bench-thread", checkpointNs, checkpointId: "", nodeAttempt: 1 },
  } as RunnableConfig;
}

/** The two legs of remote calls: caller → node running (request) and node done → caller (reply), in ms. */
class Legs {
  readonly request: number[] = [];
  readonly reply: number[] = [];

  /** Wraps a call so that its legs are recorded (the node stamps `ranAt`). */
  timed(call: () => Promise<unknown>): () => Promise<unknown> {
    return async () => {
      const t0 = wallClockMs();
      const out = (await call()) as Partial<BenchState>;
      const t1 = wallClockMs();
      if (typeof out.ranAt === "number") {
        this.request.push(out.ranAt - t0);
        this.reply.push(t1 - out.ranAt);
      }
      return out;
    };
  }

  summary(): Record<string, number> {
    return {
      request_leg_p50_ms: round(percentile(this.request, 50)),
      request_leg_p99_ms: round(percentile(this.request, 99)),
      reply_leg_p50_ms: round(percentile(this.reply, 50)),
      reply_leg_p99_ms: round(percentile(this.reply, 99)),
    };
  }
}

function checkResult(out: unknown): void {
  if ((out as Partial<BenchState>).step !== 1) throw new Error(`unexpected node output ${JSON.stringify(out).slice(0, 200)}`);
}

// ---------------------------------------------------------------------------------------------
// Direct and in-memory

async function directPhase(): Promise<Record<string, unknown>> {
  const state = input();
  const fn = await sequential(20_000, () => Promise.resolve(work(state)));
  const local = builder.compile();
  await sequential(200, () => local.invoke(state));
  const graph = await sequential(SEQ, () => local.invoke(state));
  return { function: summary(fn), graph_local: summary(graph) };
}

async function memoryPhase(): Promise<Record<string, unknown>> {
  const fabric = await createFabric({ logger });
  try {
    await fabric.serve(builder, { nodes: [NODE], concurrency: CONCURRENCY });
    const remote = fabric.remoteNode(NODE);
    const state = input();
    checkResult(await remote.invoke(state, taskConfig()));
    await sequential(500, () => remote.invoke(state, taskConfig()));
    const legs = new Legs();
    const node = await sequential(
      SEQ,
      legs.timed(() => remote.invoke(state, taskConfig())),
    );
    const graph = fabric.distribute(builder, { nodes: [NODE] }).compile();
    await sequential(200, () => graph.invoke(state));
    const g = await sequential(SEQ, () => graph.invoke(state));
    const tp = await window(64, 0.5, 2, () => remote.invoke(state, taskConfig()));
    return { node: { ...summary(node), ...legs.summary() }, graph: summary(g), window64: summary(tp) };
  } finally {
    await fabric.stop({ drainTimeoutMs: 1000 });
  }
}

// ---------------------------------------------------------------------------------------------
// The idempotency record against Redis, measured directly

async function idempotencyPhase(redis: Redis, keyPrefix: string): Promise<Record<string, unknown>> {
  const store = benchStateStore(REDIS_URL, keyPrefix);
  const idem = new IdempotencyStore(store.namespace("calls"), logger);
  const reply = randomBytes(1100);
  const meter = new CpuMeter(redis, () => Promise.resolve([]), undefined, undefined);
  try {
    const begin: number[] = [];
    const complete: number[] = [];
    const one = async (): Promise<void> => {
      const t0 = performance.now();
      const b = await idem.begin(randomUUID(), "bench", { node: "bench", input: "0".repeat(64) });
      const t1 = performance.now();
      if (b.kind !== "run") throw new Error("a fresh key was already recorded");
      await b.lease.complete("json", reply);
      begin.push(t1 - t0);
      complete.push(performance.now() - t1);
    };
    await sequential(300, one);
    begin.length = 0;
    complete.length = 0;
    let a: CpuSnapshot | undefined;
    let z: CpuSnapshot | undefined;
    const seq = await sequential(SEQ, one, {
      onStart: async () => void (a = await meter.snapshot()),
      onEnd: async () => void (z = await meter.snapshot()),
    });
    const split = {
      begin_p50_ms: round(percentile(begin, 50)),
      begin_p99_ms: round(percentile(begin, 99)),
      complete_p50_ms: round(percentile(complete, 50)),
      complete_p99_ms: round(percentile(complete, 99)),
    };
    const tp = await window(64, 0.5, 2, one);
    const cpu = CpuMeter.perOp(a!, z!, seq.calls);
    return {
      ...split,
      total: summary(seq),
      caller_cpu_us: round(cpu.caller_us, 1),
      redis_commands: cpu.redis_commands,
      window64_per_s: round(tp.calls / tp.seconds, 0),
    };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Kafka: replica processes

interface Replica {
  child: ChildProcess;
  pid: number;
}

const replicaFile = env.BENCH_REPLICA_ENTRY ?? fileURLToPath(new URL("./lib/remoteNodeReplica.ts", import.meta.url));

async function spawnReplica(childEnv: Record<string, string>): Promise<Replica> {
  const profDir = env.BENCH_CPU_PROF_DIR;
  const child = fork(replicaFile, [], {
    env: { ...process.env, ...childEnv },
    execArgv: [
      ...(replicaFile.endsWith(".ts") ? ["--import", "tsx"] : []),
      ...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []),
    ],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`replica exited with ${code} before it was ready`)));
    child.on("message", (m: ReplicaReport) => {
      if (m.type === "ready") resolve(m.pid);
    });
  });
  child.removeAllListeners("exit");
  return { child, pid };
}

let cpuRequest = 0;
function replicaCpu(r: Replica): Promise<number> {
  const id = ++cpuRequest;
  return new Promise((resolve) => {
    const onMessage = (m: ReplicaReport): void => {
      if (m.type === "cpu" && m.id === id) {
        r.child.off("message", onMessage);
        resolve(m.cpuUs);
      }
    };
    r.child.on("message", onMessage);
    r.child.send({ type: "cpu", id } satisfies ReplicaCommand);
  });
}

async function stopReplica(r: Replica): Promise<void> {
  if (r.child.exitCode !== null) return;
  const exited = new Promise((resolve) => r.child.once("exit", resolve));
  r.child.send({ type: "stop" } satisfies ReplicaCommand);
  const timer = setTimeout(() => r.child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Waits until the registry shows `count` callable replicas whose partitions cover the topic once, stable for 1 s. */
async function waitForAssignment(fabric: Fabric, count: number, partitions: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  let stableSince = 0;
  let last = "";
  for (;;) {
    const replicas = fabric.registry.replicas(NODE).filter(isCallable);
    const owned = replicas.flatMap((r) => [...(r.address.partitions ?? [])]);
    const view = JSON.stringify(replicas.map((r) => r.address).sort((x, y) => x.replicaId.localeCompare(y.replicaId)));
    const ok = replicas.length === count && owned.length === partitions && new Set(owned).size === partitions;
    if (!ok || view !== last) stableSince = Date.now();
    last = view;
    if (ok && Date.now() - stableSince >= 1000) return;
    if (Date.now() > deadline) throw new Error(`replicas did not settle: ${view}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function kafkaPhase(redis: Redis, keyPrefix: string, topicPrefix: string): Promise<Record<string, unknown>> {
  const childEnv = {
    KAFKA_BROKERS: BROKERS.join(","),
    REDIS_URL,
    BENCH_TOPIC_PREFIX: topicPrefix,
    BENCH_KEY_PREFIX: keyPrefix,
    BENCH_CONCURRENCY: String(CONCURRENCY),
  };
  const replicas: Replica[] = [];
  let fabric: Fabric | undefined;
  let store: RedisStateStore | undefined;
  const out: Record<string, unknown> = {};
  try {
    console.error(`[bench] kafka: starting ${REPLICAS} replica processes…`);
    // One at a time: concurrent joins of one group rebalance over and over.
    for (let i = 0; i < REPLICAS; i += 1) replicas.push(await spawnReplica(childEnv));
    fabric = await createFabric({
      transport: new KafkaTransport({ ...SIGNING, brokers: BROKERS, topicPrefix, sweepStaleGroups: false, logger }),
      state: (store = benchStateStore(REDIS_URL, keyPrefix)),
      logger,
    });
    await waitForAssignment(fabric, REPLICAS, 16);
    const meter = new CpuMeter(
      redis,
      () => Promise.all(replicas.map(replicaCpu)),
      findPid("kafka.Kafka"),
      Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]) || undefined,
    );
    const remote = fabric.remoteNode(NODE);
    const state = input();
    const call = (): Promise<unknown> => remote.invoke(state, taskConfig());
    checkResult(await call());
    const cpuSeen = new Map<string, { a: CpuSnapshot; z: CpuSnapshot }>();
    const withCpu = (key: string) => {
      let a: CpuSnapshot | undefined;
      return {
        onStart: async () => void (a = await meter.snapshot()),
        onEnd: async () => {
          const z = await meter.snapshot();
          cpuSeen.set(key, { a: a!, z });
        },
      };
    };
    const cpuOf = (key: string, r: LoadResult) => {
      const s = cpuSeen.get(key);
      return s ? roundCpu(CpuMeter.perOp(s.a, s.z, r.calls)) : undefined;
    };

    // The fabric's cost while nothing happens: fetch polling, heartbeats, registry refreshes.
    const idleA = await meter.snapshot();
    await new Promise((r) => setTimeout(r, 3000));
    const idle = CpuMeter.perOp(idleA, await meter.snapshot(), (performance.now() - idleA.at) / 1000);
    out.idle_cpu_us_per_s = roundCpu(idle);

    if (PHASES.has("kafka")) {
      console.error("[bench] kafka: warm-up…");
      await sequential(500, call);
      await window(64, 0, 2, call);
      console.error(`[bench] kafka: ${SEQ} sequential calls…`);
      const legs = new Legs();
      const seq = await sequential(SEQ, legs.timed(call), withCpu("seq"));
      report("kafka sequential", seq);
      out.sequential = { ...summary(seq), ...legs.summary(), cpu: cpuOf("seq", seq) };
      console.error(`[bench] kafka: open loop ${RATE}/s for ${RATE_S} s…`);
      const open = await openLoop(RATE, RATE_S, call, withCpu("open"));
      report("kafka open loop", open);
      out.open_loop = { rate: RATE, ...summary(open), cpu: cpuOf("open", open) };
      const graph = fabric.distribute(builder, { nodes: [NODE] }).compile();
      await sequential(200, () => graph.invoke(state));
      const g = await sequential(Math.ceil(SEQ / 2), () => graph.invoke(state));
      report("kafka graph", g);
      out.graph_sequential = summary(g);
    }

    if (PHASES.has("kafka-tp")) {
      const windows: Record<string, unknown>[] = [];
      for (const w of WINDOWS) {
        console.error(`[bench] kafka: ${w} calls in flight for ${TP_S} s…`);
        const r = await window(w, 1, TP_S, call, withCpu(`w${w}`));
        report(`kafka window ${w}`, r);
        windows.push({ window: w, ...summary(r), cpu: cpuOf(`w${w}`, r) });
      }
      out.throughput = windows;
    }
    return out;
  } finally {
    await fabric?.stop({ drainTimeoutMs: 2000 });
    await store?.close(); // a state store passed to the fabric stays open after stop()
    await Promise.all(replicas.map(stopReplica));
  }
}

async function deleteTopics(topicPrefix: string): Promise<void> {
  const admin = new Kafka({ brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${topicPrefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${topicPrefix}.`));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const tag = randomBytes(4).toString("hex");
  const keyPrefix = `lgf-bench-${tag}`;
  const topicPrefix = `lgfbench${tag}`;
  const redis = new Redis(REDIS_URL);
  const results: Record<string, unknown> = {};
  const busyBefore = await waitForQuietMachine(Number(env.BENCH_QUIET ?? 0.2), Number(env.BENCH_QUIET_WAIT_S ?? 60), (m) =>
    console.error(`[bench] ${m}`),
  );
  try {
    if (PHASES.has("direct")) {
      console.error("[bench] direct…");
      results.direct = await directPhase();
    }
    if (PHASES.has("memory")) {
      console.error("[bench] in-memory transport…");
      results.memory = await memoryPhase();
    }
    if (PHASES.has("idempotency")) {
      console.error("[bench] idempotency records in Redis…");
      results.idempotency = await idempotencyPhase(redis, `${keyPrefix}-idem`);
    }
    if (PHASES.has("kafka") || PHASES.has("kafka-tp")) results.kafka = await kafkaPhase(redis, keyPrefix, topicPrefix);
  } finally {
    await deleteTopics(topicPrefix).catch((e: unknown) => console.error("[bench] topic cleanup failed", e));
    await deleteByPrefix(redis, keyPrefix);
    await deleteByPrefix(redis, `${keyPrefix}-idem`);
    await redis.quit();
  }
  printResults(results, busyBefore);
}

function printResults(results: Record<string, unknown>, busyBefore: number): void {
  const r = results as {
    direct?: { function: Record<string, number>; graph_local: Record<string, number> };
    memory?: { node: Record<string, number>; graph: Record<string, number>; window64: Record<string, number> };
    idempotency?: Record<string, unknown> & { total: Record<string, number> };
    kafka?: {
      sequential?: Record<string, number>;
      open_loop?: Record<string, number> & { cpu?: Record<string, unknown> };
      graph_sequential?: Record<string, number>;
      idle_cpu_us_per_s?: Record<string, unknown>;
      throughput?: (Record<string, number> & { cpu?: Record<string, unknown> })[];
    };
  };
  const rows: Record<string, string | number>[] = [];
  const row = (path: string, load: string, s: Record<string, number> | undefined): void => {
    if (s)
      rows.push({
        path,
        load,
        calls: s.calls!,
        "calls/s": s.calls_per_s!,
        p50_ms: s.p50_ms!,
        p90_ms: s.p90_ms!,
        p99_ms: s.p99_ms!,
        max_ms: s.max_ms!,
      });
  };
  row("direct: work(state)", "sequential", r.direct?.function);
  row("local graph invoke", "sequential", r.direct?.graph_local);
  row("memory: remote node", "sequential", r.memory?.node);
  row("memory: one-node graph", "sequential", r.memory?.graph);
  row("memory: remote node", "64 in flight", r.memory?.window64);
  row("redis: idempotency begin+complete", "sequential", r.idempotency?.total);
  row("kafka: remote node", "sequential", r.kafka?.sequential);
  row("kafka: remote node", `open loop ${RATE}/s`, r.kafka?.open_loop);
  row("kafka: one-node graph", "sequential", r.kafka?.graph_sequential);
  for (const t of r.kafka?.throughput ?? []) row("kafka: remote node", `${t.window} in flight`, t);
  printTable(`Remote node call, ~1 KB in / ~1 KB out; Kafka: ${REPLICAS} replica processes, Redis state store`, rows);

  const cpuRows: Record<string, string | number>[] = [];
  const cpuRow = (load: string, c: Record<string, unknown> | undefined): void => {
    if (!c) return;
    const n = (v: unknown): string | number => (typeof v === "number" ? v : "-");
    cpuRows.push({
      load,
      caller_us: n(c.caller_us),
      replicas_us: n(c.replicas_us),
      broker_us: n(c.broker_us),
      redis_us: n(c.redis_us),
      other_us: n(c.other_us),
      total_us: n(c.total_us),
      machine_busy: n(c.machine_busy),
      redis_cmds: Object.entries((c.redis_commands ?? {}) as Record<string, number>)
        .map(([k, v]) => `${k}=${v}`)
        .join(" "),
    });
  };
  cpuRow("idle: µs per second", r.kafka?.idle_cpu_us_per_s);
  cpuRow(`open loop ${RATE}/s`, r.kafka?.open_loop?.cpu);
  for (const t of r.kafka?.throughput ?? []) cpuRow(`${t.window} in flight`, t.cpu);
  printTable("CPU per Kafka call, µs, by process (machine_busy: share of all cores)", cpuRows);

  const best = (r.kafka?.throughput ?? []).reduce<(Record<string, number> & { cpu?: unknown }) | undefined>(
    (b, t) => (b === undefined || t.calls_per_s! > b.calls_per_s! ? t : b),
    undefined,
  );
  const headline = {
    kafka_p50_ms: r.kafka?.open_loop?.p50_ms ?? null,
    kafka_p99_ms: r.kafka?.open_loop?.p99_ms ?? null,
    kafka_calls_per_s: best?.calls_per_s ?? null,
    memory_p50_ms: r.memory?.node.p50_ms ?? null,
    direct_p50_ms: r.direct?.function.p50_ms ?? null,
  };
  console.log(`\n${JSON.stringify(headline)}`);
  // Unsigned runs (BENCH_SIGNING=off, to measure what signing costs) go to their own file.
  const path = writeResults(benchSigningMode(env) === "off" ? "remote-node-unsigned" : "remote-node", {
    ...headline,
    ...results,
    _meta: {
      replicas: REPLICAS,
      replica_concurrency: CONCURRENCY,
      latency_load: `open loop at ${RATE} calls/s for ${RATE_S} s after warm-up (headline); sequential closed loop also reported`,
      throughput_load: `windows of ${WINDOWS.join("/")} calls in flight, ${TP_S} s each after 1 s warm-up; best reported`,
      best_window: best?.window ?? null,
      signing: benchSigningMode(env),
      machine_busy_before: round(busyBefore, 2),
      node: process.version,
      cpus: cpus().length,
      date: new Date().toISOString(),
    },
  });
  console.log(`wrote ${path}`);
}

/**
 * Runs the benchmark on the bundled program (see `lib/bundle.ts`: tsx's `keepNames` would inflate
 * this package's own CPU per call), replicas included; `BENCH_TSX=1` runs the sources under tsx.
 */
async function launch(): Promise<number> {
  const here = fileURLToPath(import.meta.url);
  const outdir = await bundleEntries({ "remote-node": here, remoteNodeReplica: join(dirname(here), "lib", "remoteNodeReplica.ts") });
  const profDir = env.BENCH_CPU_PROF_DIR;
  const child = spawn(
    process.execPath,
    [...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []), join(outdir, "remote-node.mjs")],
    {
      stdio: "inherit",
      env: {
        ...process.env,
        BENCH_BUNDLED: "1",
        BENCH_REPLICA_ENTRY: join(outdir, "remoteNodeReplica.mjs"),
        BENCH_RESULTS_DIR: join(repoRoot, "bench", "results"),
      },
    },
  );
  return await new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
}

const run = env.BENCH_BUNDLED === "1" || env.BENCH_TSX === "1" ? main().then(() => 0) : launch();
run.then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
