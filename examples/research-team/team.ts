/**
 * The research team as functions, shared by `runner.ts` and `worker.ts`
 * (`npm run example:research-team`, `npm run example:research-team:worker`):
 *
 * - {@link runTeam}: the process that runs the graph. Embedded, it serves the two agents itself on
 *   the in-process fabric (every agent call still goes through the fabric); distributed, it calls
 *   the agent replicas of worker processes over Kafka, with Redis for the fabric's state and
 *   `RedisSaver` for checkpoints — the agents' own checkpoints included.
 * - {@link serveTeam}: what a worker process does — serve both agents until stopped, writing their
 *   checkpoints to the same Redis checkpoint store as the runner.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { AIMessageChunk, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { MemorySaver, type BaseCheckpointSaver } from "@langchain/langgraph";
import { RedisSaver } from "../../adapters/redis/index.js";
import { createConsoleLogger, generateSigningKey, type Fabric, type Logger } from "../../src/index.js";
import { CliError, EXIT } from "../../cli/cliError.js";
import { openFabric, withSigningKeys, type Connection } from "../../cli/connect.js";
import { workerEnv } from "../signal-fusion/demo.js";
import { startLocalWorkers, type LocalWorkers, type WorkerCommand } from "../signal-fusion/localWorkers.js";
import type { ToolEvent } from "./agents.js";
import { AGENTS, builder } from "./graph.js";

/** Options of {@link runTeam}. */
export interface TeamOptions {
  /** Where to run: embedded, or Kafka plus Redis (see `cli/connect.ts`). */
  connection: Connection;
  /** The question for the team. Default "How do rates and inflation move equities?". */
  question?: string;
  /** Distributed only: start this many worker processes for the run (0: use the workers already running). Default 0. */
  workers?: number;
  /** How to start one worker process; required when `workers` > 0. */
  workerCommand?: WorkerCommand;
  /** Distributed only: how long to wait for a replica of each agent, in ms. Default 5 000 (60 000 when starting workers). */
  replicaWaitMs?: number;
  /** Where progress lines go. Default: stderr. */
  progress?: (line: string) => void;
  /** The fabric's logger. Default: stderr at `error` (`FABRIC_LOG_LEVEL` overrides it). */
  logger?: Logger;
}

/** What one agent did in the run, as the runner saw it in the stream. */
export interface AgentActivity {
  /** LLM tokens streamed from the agent (with `subgraphs: true`, from inside the replica). */
  tokens: number;
  /** Tool calls, with the process that ran each. */
  tools: ToolEvent[];
  /** The agent's stream namespace (`<node>:<task id>`). */
  namespaces: string[];
}

/** What {@link runTeam} returns. */
export interface TeamResult {
  mode: Connection["mode"];
  description: string;
  threadId: string;
  question: string;
  /** The final conversation, as `type: text` lines. */
  transcript: string[];
  /** The writer's report (the last message). */
  report: string;
  /** Per agent node. */
  activity: Record<string, AgentActivity>;
  /** Checkpoints the agents wrote under the run's thread, per agent node (read back from the runner). */
  agentCheckpoints: Record<string, number>;
  /** The process ids of the workers the run started itself. */
  workerPids: number[];
}

export const DEFAULT_QUESTION = "How do rates and inflation move equities?";
const DEFAULTS = {
  replicaWaitMs: 5_000, // ms: running workers are in the registry as soon as it loads
  replicaWaitWithWorkersMs: 60_000, // ms: a fresh worker needs a Node start-up and a Kafka group join
  checkpointTtlMs: 24 * 3600_000, // ms: example threads are not worth keeping longer
} as const;

/** The checkpointer every process of the team opens on one store (the agents' checkpoints are the runner's thread's). */
export async function teamCheckpointer(connection: Connection): Promise<BaseCheckpointSaver> {
  if (connection.mode === "embedded") return new MemorySaver();
  return RedisSaver.fromUrl(connection.redisUrl, {
    ...connection.redisSecurity,
    ttlMs: DEFAULTS.checkpointTtlMs,
    ...(connection.prefix === undefined ? {} : { keyPrefix: `${connection.prefix}:cp` }),
  });
}

/** Runs the team on one question, streaming its agents' progress, and returns what happened. */
export async function runTeam(options: TeamOptions): Promise<TeamResult> {
  // Workers this run starts get a key made for the run, unless the environment already gives one.
  const connection = (options.workers ?? 0) > 0 ? withSigningKeys(options.connection, generateSigningKey("team")) : options.connection;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workersWanted = options.workers ?? 0;
  if (workersWanted > 0 && connection.mode === "embedded") {
    throw new CliError("--workers needs Kafka and Redis", {
      hint: "the embedded example already serves the agents in this process; add --kafka and --redis for worker processes",
      exitCode: EXIT.usage,
    });
  }
  const opened = await openFabric(connection, { logger: options.logger ?? quietLogger() });
  progress(`fabric: ${opened.description}`);
  let workers: LocalWorkers | undefined;
  const checkpointer = await teamCheckpointer(connection);
  try {
    if (connection.mode === "embedded") {
      // Embedded, the replicas live in this process and share the runner's checkpointer.
      await opened.fabric.serve(builder, { nodes: AGENTS, checkpointer });
    } else if (workersWanted > 0) {
      if (options.workerCommand === undefined) throw new RangeError("workerCommand is required when workers > 0");
      workers = startLocalWorkers(workersWanted, options.workerCommand, workerEnv(connection));
      progress(`started ${workersWanted} worker process${workersWanted === 1 ? "" : "es"} (pid ${workers.pids.join(", ")})`);
    }
    const waitMs = options.replicaWaitMs ?? (workers ? DEFAULTS.replicaWaitWithWorkersMs : DEFAULTS.replicaWaitMs);
    await waitForAgents(opened.fabric, Math.max(1, workersWanted), waitMs, workers);
    const graph = opened.fabric.distribute(builder, { nodes: AGENTS }).compile({ checkpointer });
    const question = options.question ?? DEFAULT_QUESTION;
    const threadId = `research:${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
    const config = { configurable: { thread_id: threadId } };
    const activity: Record<string, AgentActivity> = Object.fromEntries(AGENTS.map((a) => [a, { tokens: 0, tools: [], namespaces: [] }]));
    const stream = await graph.stream(
      { messages: [new HumanMessage(question)] },
      { ...config, streamMode: ["updates", "messages", "custom"], subgraphs: true },
    );
    for await (const [ns, mode, data] of stream) {
      const agent = ns[0]?.split(":")[0];
      const seen = agent !== undefined ? activity[agent] : undefined;
      if (seen === undefined || ns[0] === undefined) continue;
      if (!seen.namespaces.includes(ns[0])) {
        seen.namespaces.push(ns[0]);
        progress(`${agent} is working (namespace ${ns[0]})`);
      }
      if (mode === "messages" && AIMessageChunk.isInstance((data as unknown as [unknown])[0])) seen.tokens += 1;
      if (mode === "custom") {
        const event = data as ToolEvent;
        seen.tools.push(event);
        progress(`  ${event.agent} ran ${event.tool} on ${event.servedBy}`);
      }
    }
    const state = await graph.getState(config, { subgraphs: true });
    const messages = (state.values as { messages: BaseMessage[] }).messages;
    const agentCheckpoints: Record<string, number> = {};
    for (const agent of AGENTS) {
      let count = 0;
      for (const ns of activity[agent]?.namespaces ?? []) {
        for await (const c of checkpointer.list({ configurable: { thread_id: threadId, checkpoint_ns: ns } }))
          count += c.checkpoint.id ? 1 : 0;
      }
      agentCheckpoints[agent] = count;
    }
    return {
      mode: connection.mode,
      description: opened.description,
      threadId,
      question,
      transcript: messages.map((m) => `${m.type}: ${m.text}`),
      report: messages.at(-1)?.text ?? "",
      activity,
      agentCheckpoints,
      workerPids: workers ? [...workers.pids] : [],
    };
  } finally {
    await opened.close({ drainTimeoutMs: 5_000 });
    if (checkpointer instanceof RedisSaver) await checkpointer.end();
    await workers?.stop();
  }
}

/** Options of {@link serveTeam}. */
export interface ServeTeamOptions {
  /** Kafka plus Redis (an embedded worker would serve only its own process). */
  connection: Connection;
  /** The fabric's logger. Default: stderr at `warn` (`FABRIC_LOG_LEVEL`). */
  logger?: Logger;
}

/**
 * Serves both agents as replicas, with the team's checkpointer, until `stop()`.
 *
 * @throws CliError for an embedded connection or unreachable services.
 */
export async function serveTeam(
  options: ServeTeamOptions,
): Promise<{ replicas: Readonly<Record<string, string>>; description: string; stop(): Promise<void> }> {
  if (options.connection.mode === "embedded") {
    throw new CliError("a research-team worker needs Kafka and Redis", {
      hint: "pass --kafka 127.0.0.1:9092 --redis redis://127.0.0.1:6379 (or set KAFKA_BROKERS and REDIS_URL); `npm run services:up` starts both locally",
      exitCode: EXIT.usage,
    });
  }
  const opened = await openFabric(options.connection, { logger: options.logger ?? createConsoleLogger({ name: "fabric" }) });
  const checkpointer = await teamCheckpointer(options.connection);
  const close = async (drainTimeoutMs?: number) => {
    await opened.close(drainTimeoutMs === undefined ? {} : { drainTimeoutMs });
    if (checkpointer instanceof RedisSaver) await checkpointer.end();
  };
  try {
    const served = await opened.fabric.serve(builder, { nodes: AGENTS, checkpointer });
    return { replicas: served.replicas, description: opened.description, stop: () => close() };
  } catch (e) {
    await close(0).catch(() => undefined);
    throw e;
  }
}

/** Waits until each agent has `wanted` replicas (at least one when the time is up). */
async function waitForAgents(fabric: Fabric, wanted: number, timeoutMs: number, workers: LocalWorkers | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let workerFailure: string | undefined;
  void workers?.failed.then((why) => (workerFailure = why));
  for (;;) {
    const counts = AGENTS.map((node) => fabric.registry.replicas(node).length);
    if (counts.every((n) => n >= wanted) || (counts.every((n) => n > 0) && Date.now() >= deadline)) return;
    if (workerFailure !== undefined)
      throw new CliError(workerFailure, { hint: "run `npm run example:research-team:worker` in a terminal to see its output" });
    if (Date.now() >= deadline) {
      throw new CliError(
        `no worker serves ${AGENTS.filter((_, i) => counts[i] === 0).join(", ")} (waited ${Math.round(timeoutMs / 1000)} s)`,
        {
          hint: "start workers with `npm run example:research-team:worker` (same --kafka/--redis/--prefix), or pass --workers 2",
          exitCode: EXIT.unavailable,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    await fabric.registry.refresh().catch(() => undefined);
  }
}

function quietLogger(): Logger {
  // The example's output is its transcript; the fabric's warnings would interleave with it.
  return createConsoleLogger({ name: "fabric", ...(process.env.FABRIC_LOG_LEVEL ? {} : { level: "error" }) });
}
