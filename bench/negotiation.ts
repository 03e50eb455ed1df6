/**
 * Negotiation benchmark: time for a signal-fusion negotiation to finalize with 3, 5 and 10
 * participants, over Kafka (agents served by two other processes, sessions in Redis) and on the
 * embedded default (in-memory transport and state), p50 and p99.
 *
 * One session is what `fabric.coordinateSignalFusion(symbol, signals, { participants: "remote" })`
 * does: store the session, ask every agent in parallel through the call path (balancer, breakers,
 * idempotency records), record each answer with a compare-and-set, fuse, finalize. Every agent
 * counters the proposal, so each session fuses real answers; sessions run one after another.
 * Over Kafka it also reports the CPU one session cost each process (caller, agents, broker,
 * Redis) and the whole machine, in µs: on two cores that bounds how fast a session can be.
 *
 * Figures are of the steady state, after a warm-up (`BENCH_WARMUP_MS`); the first sessions after
 * the processes start are reported apart, as `cold`.
 *
 * Usage: `npm run bench:negotiation` (Kafka on KAFKA_BROKERS, default 127.0.0.1:9092; Redis on
 * REDIS_URL, default redis://127.0.0.1:6379). Knobs: BENCH_SESSIONS (1000 per size),
 * BENCH_SIZES ("3,5,10"), BENCH_WARMUP_MS (30000), BENCH_COLD_SESSIONS (300), BENCH_TSX=1 (run
 * the sources under tsx instead of the bundle), BENCH_CPU_PROF_DIR (run the benchmark and its
 * agent processes with --cpu-prof there), BENCH_NODE_FLAGS (more Node flags for all of them, e.g.
 * `--trace-gc`). Writes bench/results/negotiation.json.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { KafkaTransport } from "../adapters/kafka/KafkaTransport.js";
import { benchSigning } from "./lib/benchSigning.js";
import { RedisStateStore } from "../adapters/redis/RedisStateStore.js";
import { createFabric, type Fabric } from "../src/fabric.js";
import { participantNode } from "../src/negotiation/RemoteParticipants.js";
import type { Signal } from "../src/negotiation/NegotiationSession.js";
import { isCallable } from "../src/nodes/pickReplica.js";
import { createConsoleLogger } from "../src/observability/logger.js";
import { deleteByPrefix } from "../test/support/checkpointerFactory.js";
import { bundleEntries, repoRoot } from "./lib/bundle.js";
import { CpuMeter, findPid, procCpuUs, type CpuSnapshot } from "./lib/cpuMeter.js";
import { sequential, type LoadResult } from "./lib/load.js";
import { agentSignal } from "./lib/negotiationSignal.js";
import { percentile, printTable, round, writeResults } from "./lib/stats.js";

const env = process.env;
/** Message signing, on unless BENCH_SIGNING=off; set in the environment here so replica processes sign the same way. */
const SIGNING = benchSigning(env);
const SESSIONS = Number(env.BENCH_SESSIONS ?? 1000);
const SIZES = (env.BENCH_SIZES ?? "3,5,10").split(",").map(Number);
const COLD_SESSIONS = Number(env.BENCH_COLD_SESSIONS ?? 300);
const WARMUP_MS = Number(env.BENCH_WARMUP_MS ?? 30_000);
const BROKERS = (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const REDIS_URL = env.REDIS_URL ?? "redis://127.0.0.1:6379";
const logger = createConsoleLogger({ name: "bench", level: "warn" });
const AGENTS = Array.from({ length: Math.max(...SIZES) }, (_, i) => `agent${String(i + 1).padStart(2, "0")}`);

type Figures = Record<string, number>;

function summary(r: LoadResult): Figures {
  return {
    sessions: r.calls,
    errors: r.errors,
    p50_ms: round(percentile(r.latencies, 50)),
    p90_ms: round(percentile(r.latencies, 90)),
    p99_ms: round(percentile(r.latencies, 99)),
    max_ms: round(percentile(r.latencies, 100)),
  };
}

/** The agents' opening signals for a session of `size` participants. */
function signalsOf(size: number): Record<string, Signal> {
  return Object.fromEntries(AGENTS.slice(0, size).map((a) => [a, agentSignal(a)]));
}

/** CPU per session by process, rounded (µs). */
function cpuFigures(a: CpuSnapshot, z: CpuSnapshot, sessions: number): Figures {
  const c = CpuMeter.perOp(a, z, sessions);
  const r = (v: number | null): number => (v === null ? Number.NaN : round(v, 0));
  return {
    cpu_caller_us: r(c.caller_us),
    cpu_agents_us: r(c.replicas_us),
    cpu_broker_us: r(c.broker_us),
    cpu_redis_us: r(c.redis_us),
    cpu_total_us: r(c.total_us),
    machine_busy: round(c.machine_busy, 2),
    // Commands Redis ran per session (scripts' inner calls included), from INFO commandstats.
    redis_cmds: round(
      Object.values(c.redis_commands).reduce((a, b) => a + b, 0),
      1,
    ),
  };
}

/** A fusion of `size` participants on `fabric`, as the benchmark runs it (every agent answers). */
function fusion(fabric: Fabric, size: number): () => Promise<void> {
  const signals = signalsOf(size);
  return async () => {
    const result = await fabric.coordinateSignalFusion("AAPL", signals, { participants: "remote", deadlineMs: 10_000 });
    if (result.outcome.reason !== "all-answered") throw new Error(`a session ended ${result.outcome.reason}, not all-answered`);
  };
}

/** What one path measured: steady state by size, and the first sessions after start. */
interface PathFigures {
  warm: Record<string, Figures>;
  cold: Record<string, Figures>;
}

/**
 * Measures one path. First the cold figures: `COLD_SESSIONS` sessions of the middle size right
 * after start (the first sessions after a deploy). Then a warm-up of `WARMUP_MS` over every size,
 * and `SESSIONS` sessions of each size: the steady state. The warm-up matters: V8 keeps optimizing
 * the hot paths of every process (caller and agents) for thousands of sessions, and on this
 * 2-core machine a session of freshly started processes costs about twice the CPU of a warm one.
 * With a `meter`, each size also reports the CPU a session cost every process (on two cores a
 * session cannot finish faster than its CPU divided by two).
 */
async function measure(fabric: Fabric, label: string, meter?: CpuMeter): Promise<PathFigures> {
  const run = async (size: number, count: number, withMeter: boolean): Promise<Figures> => {
    let a: CpuSnapshot | undefined;
    let z: CpuSnapshot | undefined;
    const r = await sequential(count, fusion(fabric, size), {
      onStart: async () => void (a = withMeter ? await meter?.snapshot() : undefined),
      onEnd: async () => void (z = withMeter ? await meter?.snapshot() : undefined),
    });
    if (r.errors > 0) console.error(`[bench] ${label}/${size}: ${r.errors} failed sessions, first:`, r.firstError);
    return { ...summary(r), ...(a && z ? cpuFigures(a, z, r.calls) : {}) };
  };
  const coldSize = SIZES[Math.floor(SIZES.length / 2)] ?? 5;
  await sequential(10, fusion(fabric, coldSize)); // connections, metadata, topic creation
  console.error(`[bench] ${label}: ${COLD_SESSIONS} sessions of ${coldSize} participants right after start…`);
  const cold = { [String(coldSize)]: await run(coldSize, COLD_SESSIONS, true) };
  console.error(`[bench] ${label}: warming up for ${WARMUP_MS / 1000} s…`);
  const until = performance.now() + WARMUP_MS;
  while (performance.now() < until) for (const size of SIZES) await sequential(20, fusion(fabric, size));
  const warm: Record<string, Figures> = {};
  for (const size of SIZES) {
    console.error(`[bench] ${label}: ${SESSIONS} sessions of ${size} participants…`);
    warm[String(size)] = await run(size, SESSIONS, true);
  }
  return { warm, cold };
}

async function memoryPhase(): Promise<PathFigures> {
  const fabric = await createFabric({ logger, monitors: false });
  try {
    await fabric.serveParticipants(Object.fromEntries(AGENTS.map((a) => [a, () => ({ kind: "counter", ...agentSignal(a) }) as const])), {
      concurrency: 16,
    });
    return await measure(fabric, "memory");
  } finally {
    await fabric.stop({ drainTimeoutMs: 1000 });
  }
}

/** Node flags of every process of the benchmark: `--cpu-prof` when BENCH_CPU_PROF_DIR asks, and BENCH_NODE_FLAGS (e.g. `--trace-gc`). */
const nodeFlags = [
  ...(env.BENCH_CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${env.BENCH_CPU_PROF_DIR}`] : []),
  ...(env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
];

const participantsFile = env.BENCH_AGENTS_ENTRY ?? fileURLToPath(new URL("./lib/negotiationParticipants.ts", import.meta.url));

async function spawnAgents(names: string[], childEnv: Record<string, string>): Promise<ChildProcess> {
  const child = fork(participantsFile, [], {
    env: { ...process.env, ...childEnv, BENCH_PARTICIPANTS: names.join(",") },
    execArgv: [...(participantsFile.endsWith(".ts") ? ["--import", "tsx"] : []), ...nodeFlags],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`agent process exited with ${code} before it was ready`)));
    child.on("message", (m: { type: string }) => {
      if (m.type === "ready") resolve();
    });
  });
  child.removeAllListeners("exit");
  return child;
}

async function stopAgents(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.send({ type: "stop" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Waits until every agent has a callable replica in the caller's registry view. */
async function waitForAgents(fabric: Fabric): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!AGENTS.every((a) => fabric.registry.replicas(participantNode(a)).some(isCallable))) {
    if (Date.now() > deadline) throw new Error("the agents did not register within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function kafkaPhase(keyPrefix: string, topicPrefix: string): Promise<PathFigures> {
  const childEnv = { KAFKA_BROKERS: BROKERS.join(","), REDIS_URL, BENCH_TOPIC_PREFIX: topicPrefix, BENCH_KEY_PREFIX: keyPrefix };
  const children: ChildProcess[] = [];
  let fabric: Fabric | undefined;
  const store = RedisStateStore.fromUrl(REDIS_URL, { keyPrefix });
  try {
    console.error("[bench] kafka: starting 2 agent processes…");
    children.push(
      await spawnAgents(
        AGENTS.filter((_, i) => i % 2 === 0),
        childEnv,
      ),
    );
    children.push(
      await spawnAgents(
        AGENTS.filter((_, i) => i % 2 === 1),
        childEnv,
      ),
    );
    fabric = await createFabric({
      transport: new KafkaTransport({ ...SIGNING, brokers: BROKERS, topicPrefix, requestPartitions: 2, sweepStaleGroups: false, logger }),
      state: store,
      logger,
      monitors: false,
    });
    await waitForAgents(fabric);
    const redis = new Redis(REDIS_URL);
    try {
      const meter = new CpuMeter(
        redis,
        () => Promise.resolve(children.map((c) => procCpuUs(c.pid) ?? Number.NaN)),
        findPid("kafka.Kafka"),
        Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]) || undefined,
      );
      return await measure(fabric, "kafka", meter);
    } finally {
      await redis.quit();
    }
  } finally {
    await fabric?.stop({ drainTimeoutMs: 2000 });
    await store.close(); // a state store passed to the fabric stays open after stop()
    await Promise.all(children.map(stopAgents));
  }
}

async function cleanUp(keyPrefix: string, topicPrefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  await deleteByPrefix(redis, keyPrefix).finally(() => redis.quit());
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

async function main(): Promise<void> {
  const tag = randomBytes(4).toString("hex");
  const keyPrefix = `lgf-bench-neg-${tag}`;
  const topicPrefix = `lgfbenchneg${tag}`;
  let results: { kafka: PathFigures; memory: PathFigures };
  try {
    console.error("[bench] in-memory transport…");
    const memory = await memoryPhase();
    results = { memory, kafka: await kafkaPhase(keyPrefix, topicPrefix) };
  } finally {
    await cleanUp(keyPrefix, topicPrefix);
  }
  const rows = (kind: keyof PathFigures): Record<string, string | number>[] =>
    (["kafka", "memory"] as const).flatMap((path) =>
      Object.entries(results[path][kind]).map(([size, f]) => ({ path, participants: Number(size), ...f })),
    );
  printTable(`Signal-fusion negotiation, steady state (after ${WARMUP_MS / 1000} s of warm-up), ms`, rows("warm"));
  printTable("The same, the first sessions after the processes start, ms", rows("cold"));
  const p99 = results.kafka.warm["5"]?.p99_ms;
  if (p99 !== undefined)
    console.log(`\ntarget: 5 participants over Kafka finalize with p99 <= 30 ms — p99 ${p99} ms: ${p99 <= 30 ? "met" : "not met"}`);
  const path = writeResults("negotiation", {
    kafka: results.kafka.warm,
    memory: results.memory.warm,
    cold: { kafka: results.kafka.cold, memory: results.memory.cold },
    _meta: {
      sessions: SESSIONS,
      cold_sessions: COLD_SESSIONS,
      warmup_ms: WARMUP_MS,
      agent_processes: 2,
      node: process.version,
      cpus: cpus().length,
      date: new Date().toISOString(),
    },
  });
  console.log(`wrote ${path}`);
}

/** Runs the bundled program (see `lib/bundle.ts`), agent processes included; `BENCH_TSX=1` runs the sources. */
async function launch(): Promise<number> {
  const here = fileURLToPath(import.meta.url);
  const outdir = await bundleEntries({
    negotiation: here,
    negotiationParticipants: join(dirname(here), "lib", "negotiationParticipants.ts"),
  });
  const child = spawn(process.execPath, [...nodeFlags, join(outdir, "negotiation.mjs")], {
    stdio: "inherit",
    env: {
      ...process.env,
      BENCH_BUNDLED: "1",
      BENCH_AGENTS_ENTRY: join(outdir, "negotiationParticipants.mjs"),
      BENCH_RESULTS_DIR: join(repoRoot, "bench", "results"),
    },
  });
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
