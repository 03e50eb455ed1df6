/**
 * The chaos suite (`npm run chaos`): the fabric with default settings on a 3-broker KRaft cluster
 * (RF 3, min ISR 2) and a Redis primary + replica + 3 Sentinels, under load, while processes die.
 *
 * It starts the cluster-mode services (scripts/servicesCluster.mjs) and an effect ledger (a Redis
 * of its own on 26399 that no fault touches), then 3 worker processes serving the chaos graph's
 * `act` node and a runner process driving `CHAOS_THREADS` graph threads (1,500) paced evenly over
 * `CHAOS_DURATION_S` (150 s), at most `CHAOS_IN_FLIGHT` (32) at once. Every child builds its
 * fabric with `createFabricFromEnv` from this process's environment plus the services' addresses,
 * so security settings in the environment (e.g. `FABRIC_SIGNING_KEYS`) reach them. Under load, in
 * turn (`CHAOS_FAULTS`, default all four):
 *
 * 1. `workers`: SIGKILL a random worker every `CHAOS_KILL_EVERY_S` (2 s), `CHAOS_WORKER_KILLS`
 *    (10) times, starting a replacement each time;
 * 2. `runner`: SIGKILL the runner, start a new one that resumes every unfinished thread
 *    (`invoke(null, config)` where a checkpoint exists);
 * 3. `broker`: SIGKILL Kafka node `CHAOS_BROKER_NODE` (2), restart it 10 s later;
 * 4. `redis`: SIGKILL the Redis primary (Sentinel promotes the replica), bring it back 10 s later
 *    as a replica of the new primary.
 *
 * Then it waits for the load to finish (at most `CHAOS_DRAIN_S`, 120 s, after the last planned
 * start), reads every thread's final checkpoint and the ledger, prints a table and writes
 * bench/results/chaos.json (see `lib/chaosReport.ts` for what each figure means). It stops
 * everything it started, also on failure and on Ctrl-C; `CHAOS_KEEP_SERVICES=1` leaves the
 * services running. Child logs: .services/chaos/<run>/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { Redis } from "ioredis";
import { redisConnectionFromEnv } from "../adapters/redis/redisConnectionFromEnv.js";
import { RedisSaver } from "../adapters/redis/RedisSaver.js";
import { generateSigningKey } from "../src/transport/signingKeys.js";
import {
  CLUSTER_BROKERS,
  ensureKafkaCluster,
  ensureRedisSentinel,
  killClusterNode,
  killRedisNode,
  restartClusterNode,
  sentinelPrimary,
  SENTINEL_MASTER_NAME,
  SENTINELS,
  startRedisNode,
  stopKafkaCluster,
  stopRedisNode,
  stopRedisSentinel,
} from "../scripts/servicesCluster.mjs";
import { builder, ledgerKeys, type ChaosValues } from "./lib/chaosGraph.js";
import type { RunnerEvent, RunnerPlan, ThreadPlan } from "./lib/chaosMessages.js";
import { summarize, type Fault, type FaultKind } from "./lib/chaosReport.js";
import { printTable, round, writeResults } from "./lib/stats.js";

const env = process.env;
const num = (name: string, fallback: number): number => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number (got ${env[name]})`);
  return value;
};
const DURATION_S = num("CHAOS_DURATION_S", 150);
const THREADS = num("CHAOS_THREADS", 1500);
const IN_FLIGHT = num("CHAOS_IN_FLIGHT", 32);
const WORKERS = num("CHAOS_WORKERS", 3);
const WORKER_KILLS = num("CHAOS_WORKER_KILLS", 10);
const KILL_EVERY_S = num("CHAOS_KILL_EVERY_S", 2);
const BROKER_NODE = num("CHAOS_BROKER_NODE", 2);
const DRAIN_S = num("CHAOS_DRAIN_S", 120);
const FAULTS = new Set((env.CHAOS_FAULTS ?? "workers,runner,broker,redis").split(",").map((s) => s.trim()));
const KEEP_SERVICES = env.CHAOS_KEEP_SERVICES === "1";
const LEDGER_PORT = 26399;
/** Quiet time between fault phases, so each phase's settling is its own. */
const GAP_MS = 8000;
/** How long a killed broker or Redis primary stays down. */
const DOWN_MS = 10_000;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RUN = `chaos-${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`;
const LOG_DIR = path.join(HERE, "..", ".services", "chaos", RUN);
const log = (message: string): void => {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- child processes -----------------------------------------------------------------------------

interface Child {
  name: string;
  process: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  /** Set when this suite killed it on purpose. */
  killed: boolean;
  /** Said `ready`. */
  isReady: boolean;
}

/** Running (not exited, not killed by the suite). */
const alive = (c: Child): boolean => !c.killed && c.process.exitCode === null && c.process.signalCode === null;

const children = new Set<Child>();
let childEnv: NodeJS.ProcessEnv = {};
const unexpectedExits: string[] = [];
/** Set once the suite itself stops its children: exits from then on are expected. */
let stopping = false;

/**
 * Spawns `bench/lib/<file>` under tsx with the children's environment. `onCrash` runs when it exits
 * without the suite having killed it: the suite then acts as a process supervisor would (a worker
 * that failed to start under load is started again; see `unexpectedExits` in the results).
 */
function spawnChild(name: string, file: string, onMessage?: (m: RunnerEvent) => void, onCrash?: () => void): Child {
  const out = fs.openSync(path.join(LOG_DIR, `${name}.log`), "a");
  const proc = spawn(process.execPath, ["--import", "tsx", path.join(HERE, "lib", file)], {
    env: childEnv,
    stdio: ["ignore", out, out, "ipc"],
  });
  fs.closeSync(out);
  let markReady: () => void = () => undefined;
  const child: Child = {
    name,
    process: proc,
    ready: new Promise<void>((resolve) => (markReady = resolve)),
    exited: new Promise<void>((resolve) => proc.once("exit", () => resolve())),
    killed: false,
    isReady: false,
  };
  proc.on("message", (m: RunnerEvent) => {
    if (m.type === "ready") {
      child.isReady = true;
      markReady();
    }
    onMessage?.(m);
  });
  proc.once("exit", (code, signal) => {
    children.delete(child);
    if (!child.killed && !stopping) {
      unexpectedExits.push(`${name} exited with ${signal ?? `code ${code}`}`);
      log(`UNEXPECTED: ${name} exited with ${signal ?? `code ${code}`} (log: ${path.join(LOG_DIR, `${name}.log`)})`);
      if (onCrash) setTimeout(() => stopping || onCrash(), 1000);
    }
  });
  children.add(child);
  return child;
}

async function sigkill(child: Child): Promise<void> {
  child.killed = true;
  child.process.kill("SIGKILL");
  await child.exited;
}

// ---- the load --------------------------------------------------------------------------------------

const events: RunnerEvent[] = [];
const faults: Fault[] = [];
const fault = (kind: FaultKind, detail: string): void => {
  faults.push({ kind, at: Date.now(), detail });
  log(`FAULT ${kind}: ${detail}`);
};
const settled = new Set<string>(); // ended ok, or found finished
let runnerFinished = false;
let runnerCount = 0;

let runner: Child | undefined;

/** Until the current runner (a replacement, if one failed to start) is ready. */
async function runnerReady(): Promise<void> {
  const by = Date.now() + 180_000;
  while (!(runner && alive(runner) && runner.isReady)) {
    if (Date.now() > by) throw new Error(`no runner was ready within 180 s; see ${LOG_DIR}`);
    await sleep(200);
  }
}

/** Starts a runner on `threads` (a resuming one reads each thread's checkpoint first); it becomes `runner`. */
function startRunner(threads: readonly ThreadPlan[], resume: boolean): Child {
  runnerCount += 1;
  runnerFinished = false;
  runner = spawnChild(
    `runner-${runnerCount}`,
    "chaosRunner.ts",
    (m) => {
      if (m.type === "ready") return;
      if (m.type === "finished") {
        runnerFinished = true;
        return;
      }
      events.push(m);
      if ((m.type === "end" && m.ok) || m.type === "complete") settled.add(m.thread);
    },
    // A runner that died on its own is replaced like a killed one (and its open invocations are
    // accounted as a runner kill's): resume what is unfinished.
    () => {
      fault("runner-kill", `runner-${runnerCount} exited on its own`);
      startRunner(
        threads.filter((t) => !settled.has(t.id)),
        true,
      );
    },
  );
  const child = runner;
  void child.ready.then(() => {
    const plan: RunnerPlan = { type: "plan", threads: [...threads], inFlight: IN_FLIGHT, resume };
    child.process.send(plan);
  });
  return child;
}

// ---- main ------------------------------------------------------------------------------------------

const started = { kafka: false, sentinel: false, ledger: false };

async function cleanup(): Promise<void> {
  stopping = true;
  await Promise.all(
    [...children].map(async (c) => {
      c.killed = true;
      c.process.kill("SIGTERM");
      const timer = setTimeout(() => c.process.kill("SIGKILL"), 5000);
      await c.exited;
      clearTimeout(timer);
    }),
  );
  if (started.ledger) await stopRedisNode(LEDGER_PORT).catch(() => undefined);
  if (KEEP_SERVICES) {
    log("CHAOS_KEEP_SERVICES=1: leaving the cluster and the Sentinel setup running");
    return;
  }
  await Promise.all([started.kafka ? stopKafkaCluster() : undefined, started.sentinel ? stopRedisSentinel() : undefined]);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything this run started`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  log(`run ${RUN}: starting the Kafka cluster, the Sentinel setup and the ledger`);
  const [kafka, sentinel] = await Promise.all([ensureKafkaCluster(), ensureRedisSentinel()]);
  started.kafka = kafka.started.length > 0;
  started.sentinel = sentinel.started.length > 0;
  await stopRedisNode(LEDGER_PORT); // a previous run's, if it was interrupted
  await startRedisNode({ port: LEDGER_PORT });
  started.ledger = true;

  childEnv = {
    ...process.env,
    KAFKA_BROKERS: CLUSTER_BROKERS.join(","),
    REDIS_SENTINELS: SENTINELS.join(","),
    REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
    FABRIC_PREFIX: RUN,
    CHAOS_LEDGER_URL: `redis://127.0.0.1:${LEDGER_PORT}`,
    CHAOS_LEDGER_PREFIX: RUN,
    // Signed like the README's setup: the environment's keys, else a key made for this run.
    ...(process.env.FABRIC_SIGNING_KEYS || process.env.FABRIC_INSECURE === "1" ? {} : { FABRIC_SIGNING_KEYS: generateSigningKey("chaos") }),
  };
  delete childEnv.REDIS_URL; // one Redis per fabric: the Sentinels say which

  let workerCount = 0;
  const workers: Child[] = [];
  const startWorker = (): Child => {
    workerCount += 1;
    const w = spawnChild(`worker-${workerCount}`, "chaosWorker.ts", undefined, startWorker);
    workers.push(w);
    return w;
  };
  for (let i = 0; i < WORKERS; i++) startWorker();
  // Workers that fail to start are restarted (see spawnChild); wait for WORKERS live ones.
  const readyBy = Date.now() + 180_000;
  while (workers.filter((w) => alive(w) && w.isReady).length < WORKERS) {
    if (Date.now() > readyBy) throw new Error(`${WORKERS} workers were not ready within 180 s; see ${LOG_DIR}`);
    await sleep(200);
  }
  log(`${WORKERS} workers ready`);

  const loadStart = Date.now() + 3000; // the runner's start-up
  const intervalMs = (DURATION_S * 1000) / Math.max(1, THREADS);
  const plan: ThreadPlan[] = Array.from({ length: THREADS }, (_, i) => ({
    id: `t-${i}`,
    n: i,
    at: Math.round(loadStart + i * intervalMs),
  }));
  const threadIds = plan.map((t) => t.id);
  startRunner(plan, false);
  await runnerReady();
  log(`runner ready; ${THREADS} threads over ${DURATION_S} s, ${IN_FLIGHT} in flight`);

  await sleep(Math.max(0, loadStart + 5000 - Date.now()));

  if (FAULTS.has("workers")) {
    for (let k = 0; k < WORKER_KILLS; k++) {
      const live = workers.filter(alive);
      const victim = live[Math.floor(Math.random() * live.length)];
      if (victim) {
        fault("worker-kill", `${victim.name} (pid ${victim.process.pid})`);
        await sigkill(victim);
        startWorker();
      }
      await sleep(KILL_EVERY_S * 1000);
    }
    await sleep(GAP_MS);
  }

  if (FAULTS.has("runner") && runner) {
    fault("runner-kill", `${runner.name} (pid ${runner.process.pid})`);
    await sigkill(runner);
    // Every thread not known to be finished: the new runner reads its checkpoint first.
    startRunner(
      plan.filter((t) => !settled.has(t.id)),
      true,
    );
    await runnerReady();
    await sleep(GAP_MS);
  }

  if (FAULTS.has("broker")) {
    fault("broker-kill", `Kafka node ${BROKER_NODE}`);
    await killClusterNode(BROKER_NODE);
    await sleep(DOWN_MS);
    log(`restarting Kafka node ${BROKER_NODE}`);
    const { startupMs } = await restartClusterNode(BROKER_NODE);
    log(`Kafka node ${BROKER_NODE} back after ${round(startupMs / 1000, 1)} s`);
    await sleep(GAP_MS);
  }

  let failoverMs: number | null = null;
  if (FAULTS.has("redis")) {
    const primary = await sentinelPrimary();
    if (primary === null) throw new Error("the Sentinels name no primary");
    fault("redis-primary-kill", `primary 127.0.0.1:${primary.port}`);
    const t0 = Date.now();
    await killRedisNode(primary.port);
    let now = primary;
    while (now.port === primary.port) {
      await sleep(100);
      now = (await sentinelPrimary().catch(() => null)) ?? now;
    }
    failoverMs = Date.now() - t0;
    log(`Sentinel promoted 127.0.0.1:${now.port} after ${round(failoverMs / 1000, 1)} s`);
    await sleep(DOWN_MS);
    await startRedisNode({ port: primary.port, replicaOf: now.port });
  }

  const lastStart = loadStart + DURATION_S * 1000;
  if (Date.now() > lastStart) log(`WARNING: the faults outlasted the load window (${DURATION_S} s); raise CHAOS_DURATION_S`);
  const deadline = Math.max(lastStart, Date.now()) + DRAIN_S * 1000;
  while (!runnerFinished && Date.now() < deadline) await sleep(250);
  const drained = runnerFinished;
  log(drained ? "load finished" : `load did not finish within the drain time (${DRAIN_S} s); counting what is unfinished`);
  const durationS = round((Date.now() - loadStart) / 1000, 1);
  stopping = true;
  for (const c of [...children]) await sigkill(c); // nothing may finish after the count

  // Ground truth: every thread's final checkpoint, and the ledger.
  const saver = new RedisSaver(redisConnectionFromEnv(childEnv)!.connection, { keyPrefix: `${RUN}-cp` });
  const reader = builder.compile({ checkpointer: saver });
  const finished = new Map<string, boolean>();
  for (const id of threadIds) {
    const snapshot = await reader.getState({ configurable: { thread_id: id } });
    finished.set(id, (snapshot.values as Partial<ChaosValues>).done === true && snapshot.next.length === 0);
  }
  await saver.end();
  const ledger = new Redis(childEnv.CHAOS_LEDGER_URL!);
  const keys = ledgerKeys(RUN);
  const effects = new Map<string, number[]>();
  for (const id of threadIds) {
    const members = await ledger.smembers(keys.threadKeys(id));
    if (members.length === 0) continue;
    const counts = await ledger.mget(members.map((k) => keys.effect(k)));
    effects.set(
      id,
      counts.map((c) => Number(c ?? 0)),
    );
  }
  await ledger.quit();
  const topics = await topicReplication();

  const summary = summarize({ threads: threadIds, events, finished, effects, faults }, loadStart);
  report(summary, { durationS, drained, failoverMs, topics });
}

/** Replication factor of this run's topics (the fabric creates them; the broker default does not apply). */
async function topicReplication(): Promise<Record<string, number>> {
  const admin = new Kafka({ clientId: "chaos", brokers: CLUSTER_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const names = (await admin.listTopics()).filter((t) => t.startsWith(RUN));
    const { topics } = await admin.fetchTopicMetadata({ topics: names });
    const out = Object.fromEntries(topics.map((t) => [t.name, Math.min(...t.partitions.map((p) => p.replicas.length))]));
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    return out;
  } finally {
    await admin.disconnect();
  }
}

function report(
  s: ReturnType<typeof summarize>,
  run: { durationS: number; drained: boolean; failoverMs: number | null; topics: Record<string, number> },
): void {
  const settle = (ms: number | null | undefined): string => (ms === undefined ? "-" : ms === null ? "NEVER" : `${round(ms / 1000, 2)} s`);
  printTable("Chaos run", [
    { figure: "threads", value: s.threads, target: "" },
    { figure: "invocations (resumed)", value: `${s.invocations} (${s.resumedInvocations})`, target: "" },
    { figure: "completed", value: s.completed, target: String(s.threads) },
    { figure: "lost (never started)", value: `${s.lost} (${s.lostNeverStarted})`, target: "0" },
    { figure: "failed invocations (threads left failed)", value: `${s.failedInvocations} (${s.failedThreads})`, target: "0" },
    { figure: "effect re-run, same key (keys)", value: `${s.extraRunsSameKey} (${s.keysRunTwice})`, target: "" },
    { figure: "threads: effect under 2+ keys", value: s.threadsEffectUnderTwoKeys, target: "0" },
    { figure: "latency p50 / p99 / max", value: `${s.latencyMs.p50} / ${s.latencyMs.p99} / ${s.latencyMs.max} ms`, target: "" },
    ...(["worker-kill", "runner-kill", "broker-kill", "redis-primary-kill"] as const).map((kind) => ({
      figure: `worst settle after ${kind}`,
      value: settle(s.worstSettleByKind[kind]),
      target: kind === "worker-kill" ? "<= 5 s" : "",
    })),
  ]);
  printTable(
    "Faults",
    s.faults.map((f) => ({
      at_s: f.atS,
      kind: f.kind,
      detail: f.detail,
      in_flight: f.inFlight,
      worst_settle: settle(f.worstSettleMs),
      unsettled: f.unsettled,
    })),
  );
  const file = writeResults("chaos", {
    run: RUN,
    date: new Date().toISOString(),
    settings: {
      durationS: DURATION_S,
      threads: THREADS,
      inFlight: IN_FLIGHT,
      workers: WORKERS,
      workerKills: WORKER_KILLS,
      killEveryS: KILL_EVERY_S,
      nodeMs: Number(env.CHAOS_NODE_MS ?? 100),
      faults: [...FAULTS],
      kafka: "3-node KRaft (broker+controller), default RF 3, min.insync.replicas 2",
      redis: "primary + 1 replica + 3 Sentinels (quorum 2, down-after 2 s)",
      fabric: "createFabricFromEnv() defaults",
    },
    loadSeconds: run.durationS,
    loadDrained: run.drained,
    sentinelFailoverMs: run.failoverMs,
    topicReplicationFactor: run.topics,
    unexpectedExits,
    ...s,
  });
  log(`wrote ${file}`);
  const workerSettle = s.worstSettleByKind["worker-kill"];
  const pass =
    run.drained &&
    s.lost === 0 &&
    s.failedInvocations === 0 &&
    s.threadsEffectUnderTwoKeys === 0 &&
    s.completedWithoutEffect === 0 &&
    s.completed === s.threads &&
    s.faults.every((f) => f.unsettled === 0) &&
    (workerSettle === undefined || (workerSettle !== null && workerSettle <= 5000));
  log(pass ? "PASS: every target met" : "FAIL: targets not met (see the table)");
  process.exitCode = pass ? 0 : 1;
}

try {
  await main();
} catch (e) {
  log(`ERROR: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 2;
} finally {
  await cleanup();
  // Bounded in time whatever a client library leaves open (a reconnecting socket keeps Node alive).
  process.exit();
}
