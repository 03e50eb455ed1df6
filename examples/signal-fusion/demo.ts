/**
 * The signal-fusion demo as functions, shared by `runner.ts` / `worker.ts` (`npm run demo`,
 * `npm run demo:worker`) and the CLI's `demo` command:
 *
 * - {@link runDemo}: the process that runs the graph. Embedded, it serves the agent nodes itself
 *   on the in-process fabric (so every agent call still goes through the fabric: serialization,
 *   registry, balancer); distributed, it calls the agent replicas of worker processes over Kafka,
 *   with Redis for the fabric's state and `RedisSaver` for checkpoints.
 * - {@link serveAgents}: what a worker process does — serve the agent nodes until stopped.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { MemorySaver, type BaseCheckpointSaver } from "@langchain/langgraph";
import { RedisSaver } from "../../adapters/redis/index.js";
import { createConsoleLogger, generateSigningKey, type Fabric, type Logger } from "../../src/index.js";
import { CliError, EXIT } from "../../cli/cliError.js";
import { openFabric, withSigningKeys, type Connection, type OpenedFabric } from "../../cli/connect.js";
import { AGENTS, builder, type AgentSignal, type Decision, type FusedSignal, type RiskVerdict } from "./graph.js";
import { startLocalWorkers, type LocalWorkers, type WorkerCommand } from "./localWorkers.js";
import { NodeTimer } from "./nodeTimer.js";
import { DEFAULT_SEED, DEFAULT_SYMBOLS } from "./prices.js";

export type { WorkerCommand } from "./localWorkers.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where to run: embedded, or Kafka plus Redis (see `cli/connect.ts`). */
  connection: Connection;
  /** Symbols to analyse, one graph thread each. Default AAPL, MSFT, NVDA, TSLA. */
  symbols?: readonly string[];
  /** Seed of the price generator. Default 7. */
  seed?: number;
  /** Distributed only: start this many worker processes for the run (0: use the workers already running). Default 0. */
  workers?: number;
  /** Run the symbols concurrently rather than one after the other (timings then include waiting for each other). Default false. */
  parallel?: boolean;
  /** How to start one worker process; required when `workers` > 0. */
  workerCommand?: WorkerCommand;
  /** Distributed only: how long to wait for a replica of every agent, in ms. Default 5 000 (60 000 when starting workers). */
  replicaWaitMs?: number;
  /** Where progress lines go. Default: stderr. */
  progress?: (line: string) => void;
  /** The fabric's logger. Default: stderr at `error` (`FABRIC_LOG_LEVEL` overrides it). */
  logger?: Logger;
}

/** The analysis of one symbol. */
export interface SymbolResult {
  symbol: string;
  threadId: string;
  signals: Record<string, AgentSignal>;
  /** Where each agent's signal was computed (`host:pid`). */
  servedBy: Record<string, string>;
  fused: FusedSignal;
  verdict: RiskVerdict;
  decision: Decision;
  /** Wall-clock ms per node as the runner saw it (a distributed agent: the whole remote call). */
  timings: Record<string, number>;
  /** Wall-clock ms of the whole graph run. */
  totalMs: number;
}

/** What {@link runDemo} returns. */
export interface DemoResult {
  mode: Connection["mode"];
  /** Where it ran, for people. */
  description: string;
  /** The replica ids of each agent that were registered when the run started. */
  replicas: Record<string, string[]>;
  /** The process ids of the workers the demo started itself. */
  workerPids: number[];
  results: SymbolResult[];
  /** Whether the symbols ran concurrently. */
  parallel: boolean;
  /** Wall-clock ms of all symbols. */
  totalMs: number;
  /** Wall-clock ms of the warm-up run before them (not in the results). */
  warmUpMs: number;
}

const DEFAULTS = {
  replicaWaitMs: 5_000, // ms: workers that already run are in the registry as soon as it loads
  replicaWaitWithWorkersMs: 60_000, // ms: a fresh worker needs a Node start-up and a Kafka group join
  checkpointTtlMs: 24 * 3600_000, // ms: demo threads are not worth keeping longer
  embeddedConcurrency: 8, // calls per in-process replica
} as const;

/**
 * Runs the graph on every symbol, one thread each (after one warm-up run), and returns the
 * analyses in symbol order.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  // Workers this run starts itself share a key made for the run, unless the environment gave one.
  const connection = (options.workers ?? 0) > 0 ? withSigningKeys(options.connection, generateSigningKey("demo")) : options.connection;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const symbols = options.symbols ?? DEFAULT_SYMBOLS;
  const workersWanted = options.workers ?? 0;
  if (symbols.length === 0) throw new CliError("no symbols to analyse", { exitCode: EXIT.usage });
  if (workersWanted > 0 && connection.mode === "embedded") {
    throw new CliError("--workers needs Kafka and Redis", {
      hint: "the embedded demo already serves the agents in this process; add --kafka and --redis for worker processes",
      exitCode: EXIT.usage,
    });
  }
  const opened = await openFabric(connection, { logger: options.logger ?? demoLogger() });
  progress(`fabric: ${opened.description}`);
  let workers: LocalWorkers | undefined;
  let checkpointer: BaseCheckpointSaver | undefined;
  try {
    if (connection.mode === "embedded") {
      await opened.fabric.serve(builder, { nodes: AGENTS, concurrency: DEFAULTS.embeddedConcurrency });
    } else if (workersWanted > 0) {
      if (options.workerCommand === undefined) throw new RangeError("workerCommand is required when workers > 0");
      workers = startLocalWorkers(workersWanted, options.workerCommand, workerEnv(connection));
      progress(`started ${workersWanted} worker process${workersWanted === 1 ? "" : "es"} (pid ${workers.pids.join(", ")})`);
    }
    const waitMs = options.replicaWaitMs ?? (workers ? DEFAULTS.replicaWaitWithWorkersMs : DEFAULTS.replicaWaitMs);
    const replicas = await waitForAgents(opened.fabric, Math.max(1, workersWanted), waitMs, workers, progress);
    checkpointer =
      connection.mode === "embedded"
        ? new MemorySaver()
        : await RedisSaver.fromUrl(connection.redisUrl, {
            ...connection.redisSecurity,
            ttlMs: DEFAULTS.checkpointTtlMs,
            ...(connection.prefix === undefined ? {} : { keyPrefix: `${connection.prefix}:cp` }),
          });
    const graph = opened.fabric.distribute(builder, { nodes: AGENTS }).compile({ checkpointer });
    const runId = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
    const analyse = async (symbol: string, threadId: string): Promise<SymbolResult> => {
      const timer = new NodeTimer();
      const t0 = performance.now();
      const state = await graph.invoke(
        { symbol, seed: options.seed ?? DEFAULT_SEED },
        { configurable: { thread_id: threadId }, callbacks: [timer] },
      );
      const totalMs = performance.now() - t0;
      if (state.fused === undefined || state.verdict === undefined || state.decision === undefined) {
        throw new Error(`the graph run of ${symbol} ended without a decision`);
      }
      const { signals, servedBy, fused, verdict, decision } = state;
      return { symbol, threadId, signals, servedBy, fused, verdict, decision, timings: timer.timings(), totalMs };
    };
    // First calls compile code paths, fill caches and (distributed) open producer connections and
    // topic metadata; one throwaway run keeps that out of the timings people compare.
    const warmUp = performance.now();
    await analyse(symbols[0] ?? "AAPL", `warm-up:${runId}`);
    const warmUpMs = performance.now() - warmUp;
    progress(`analysing ${symbols.join(", ")} (threads <symbol>:${runId}${options.parallel === true ? ", in parallel" : ""})`);
    const started = performance.now();
    const results: SymbolResult[] = [];
    if (options.parallel === true) results.push(...(await Promise.all(symbols.map((s) => analyse(s, `${s}:${runId}`)))));
    else for (const s of symbols) results.push(await analyse(s, `${s}:${runId}`));
    return {
      mode: connection.mode,
      description: opened.description,
      replicas,
      workerPids: workers ? [...workers.pids] : [],
      results,
      parallel: options.parallel === true,
      totalMs: performance.now() - started,
      warmUpMs,
    };
  } finally {
    await opened.close({ drainTimeoutMs: 5_000 });
    if (checkpointer instanceof RedisSaver) await checkpointer.end();
    await workers?.stop();
  }
}

/** Options of {@link serveAgents}. */
export interface ServeAgentsOptions {
  /** Kafka plus Redis (an embedded worker would serve only its own process). */
  connection: Connection;
  /** Calls each replica runs at once. Default 8. */
  concurrency?: number;
  /** The fabric's logger. Default: stderr at `warn` (`FABRIC_LOG_LEVEL`). */
  logger?: Logger;
}

/** A worker's running fabric. */
export interface ServedAgents {
  /** Replica id per agent node. */
  replicas: Readonly<Record<string, string>>;
  /** Where it is connected, for people. */
  description: string;
  /** Drains the replicas (finishing calls in flight) and disconnects. */
  stop(): Promise<void>;
}

/**
 * Serves the agent nodes of the graph as replicas, until `stop()`.
 *
 * @throws CliError for an embedded connection or unreachable services.
 */
export async function serveAgents(options: ServeAgentsOptions): Promise<ServedAgents> {
  if (options.connection.mode === "embedded") {
    throw new CliError("a demo worker needs Kafka and Redis", {
      hint: "pass --kafka 127.0.0.1:9092 --redis redis://127.0.0.1:6379 (or set KAFKA_BROKERS and REDIS_URL); `npm run services:up` starts both locally",
      exitCode: EXIT.usage,
    });
  }
  const opened: OpenedFabric = await openFabric(options.connection, { logger: options.logger ?? createConsoleLogger({ name: "fabric" }) });
  try {
    const served = await opened.fabric.serve(builder, { nodes: AGENTS, concurrency: options.concurrency ?? 8 });
    return { replicas: served.replicas, description: opened.description, stop: () => opened.close() };
  } catch (e) {
    await opened.close({ drainTimeoutMs: 0 }).catch(() => undefined);
    throw e;
  }
}

/** The environment that points a worker process at `connection`. */
export function workerEnv(connection: Connection): Record<string, string> {
  if (connection.mode === "embedded") return {};
  return {
    KAFKA_BROKERS: connection.brokers.join(","),
    REDIS_URL: connection.redisUrl,
    ...(connection.prefix === undefined ? {} : { FABRIC_PREFIX: connection.prefix }),
    ...connection.securityEnv,
    ...(connection.signing.keysText !== undefined ? { FABRIC_SIGNING_KEYS: connection.signing.keysText } : {}),
    ...(connection.signing.insecure ? { FABRIC_INSECURE: "1" } : {}),
  };
}

/**
 * Waits until every agent node has `wanted` active replicas (the workers the demo started), or at
 * least one when the time is up; returns their ids.
 */
async function waitForAgents(
  fabric: Fabric,
  wanted: number,
  timeoutMs: number,
  workers: LocalWorkers | undefined,
  progress: (line: string) => void,
): Promise<Record<string, string[]>> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  let workerFailure: string | undefined;
  void workers?.failed.then((why) => (workerFailure = why));
  for (;;) {
    const replicas = Object.fromEntries(AGENTS.map((node) => [node, fabric.registry.replicas(node).map((r) => r.replicaId)]));
    const missing = AGENTS.filter((node) => (replicas[node] ?? []).length === 0);
    const complete = AGENTS.every((node) => (replicas[node] ?? []).length >= wanted);
    // Calls made while a late worker joins would wait out its group's rebalance.
    if (complete || (missing.length === 0 && Date.now() >= deadline)) return replicas;
    if (workerFailure !== undefined)
      throw new CliError(workerFailure, { hint: "run `npm run demo:worker` in a terminal to see its output" });
    if (Date.now() >= deadline) {
      throw new CliError(`no worker serves ${missing.join(", ")} (waited ${Math.round(timeoutMs / 1000)} s)`, {
        hint:
          "start workers with `npm run demo:worker` (same --kafka/--redis/--prefix or environment) in another terminal, " +
          "or let the demo start them: `npm run demo -- --workers 2 …`",
        exitCode: EXIT.unavailable,
      });
    }
    if (!announced) {
      progress(`waiting for ${wanted > 1 ? `${wanted} replicas` : "a replica"} of each agent (${AGENTS.join(", ")})…`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    await fabric.registry.refresh().catch(() => undefined);
  }
}

function demoLogger(): Logger {
  // The demo's output is its table; the fabric's warnings (a rebalance, a retried call) would interleave with it.
  return createConsoleLogger({ name: "fabric", ...(process.env.FABRIC_LOG_LEVEL ? {} : { level: "error" }) });
}
