/**
 * Checkpointer benchmark: MemorySaver vs RedisSaver vs PostgresSaver on one workload.
 *
 * - Whole runs: a 10-node graph carrying about 1 KB of state, 200 threads run to completion, one
 *   run at a time and with 20 runs at once (runs per second).
 * - The savers' own latency, measured directly: `put`, `putWrites` and `getTuple` (p50, p99).
 *
 * Usage: `npm run bench:checkpointer` (needs Redis, default redis://127.0.0.1:6379, and PostgreSQL,
 * default postgresql://postgres@127.0.0.1:5432/postgres; override with REDIS_URL and PG_URL).
 * Writes bench/results/checkpointer.json.
 */
import { randomUUID } from "node:crypto";
import { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { emptyCheckpoint, uuid6, type BaseCheckpointSaver, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { Redis } from "ioredis";
import pg from "pg";
import { RedisSaver } from "../adapters/redis/RedisSaver.js";
import { deleteByPrefix } from "../test/support/checkpointerFactory.js";
import { percentile, printTable, round, runConcurrently, timeEach, writeResults } from "./lib/stats.js";

const THREADS = Number(process.env.BENCH_THREADS ?? 200);
const CONCURRENCY = 20;
const ROUNDS = 10;
const DIRECT_OPS = Number(process.env.BENCH_DIRECT_OPS ?? 2000);
const NODES = 10;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/** About 1 KB of state: a small map of signals, rewritten by every node. */
function payload(step: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < 48; i += 1) out[`signal_${i}`] = Math.round(Math.sin(step * 31 + i) * 1e6) / 1e6;
  return out;
}

const State = Annotation.Root({
  symbol: Annotation<string>,
  signals: Annotation<Record<string, number>>,
  step: Annotation<number>,
});

function buildGraph(checkpointer: BaseCheckpointSaver) {
  const builder = new StateGraph(State);
  for (let i = 0; i < NODES; i += 1) {
    builder.addNode(`n${i}`, (s: typeof State.State) => ({ signals: payload(s.step + 1), step: s.step + 1 }));
  }
  const b = builder as unknown as StateGraph<typeof State.spec, typeof State.State, typeof State.Update, string>;
  b.addEdge(START, "n0");
  for (let i = 1; i < NODES; i += 1) b.addEdge(`n${i - 1}`, `n${i}`);
  b.addEdge(`n${NODES - 1}`, END);
  return b.compile({ checkpointer });
}

interface SaverUnderTest {
  name: "memory" | "redis" | "postgres";
  make(): Promise<BaseCheckpointSaver>;
  cleanup(saver: BaseCheckpointSaver): Promise<void>;
}

/**
 * Runs per second of each saver, one run at a time or `concurrency` at once. The savers take turns
 * in ROUNDS rounds of THREADS / ROUNDS runs each, so a slow patch of this shared 2-core machine
 * hits them all alike instead of whichever saver happened to run then; the figure is the median
 * of the rounds' rates, so one slow patch does not move it either.
 */
async function runsPerSecond(savers: Map<string, BaseCheckpointSaver>, concurrency: number): Promise<Map<string, number>> {
  const graphs = new Map([...savers].map(([name, saver]) => [name, buildGraph(saver)]));
  const rates = new Map<string, number[]>();
  const perRound = Math.ceil(THREADS / ROUNDS);
  const tag = randomUUID().slice(0, 8);
  for (const [name, graph] of graphs) {
    // Warm-up: JIT, connections, prepared statements.
    await runConcurrently(20, concurrency, (i) => graph.invoke(input(), { configurable: { thread_id: `warm-${tag}-${name}-${i}` } }));
  }
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, graph] of graphs) {
      const ms = await runConcurrently(perRound, concurrency, (i) =>
        graph.invoke(input(), { configurable: { thread_id: `bench-${tag}-${name}-${round}-${i}` } }),
      );
      rates.set(name, [...(rates.get(name) ?? []), perRound / (ms / 1000)]);
    }
  }
  return new Map([...rates].map(([name, r]) => [name, percentile(r, 50)]));
}

function input() {
  return { symbol: "AAPL", signals: payload(0), step: 0 };
}

interface Direct {
  put: number[];
  putWrites: number[];
  getTuple: number[];
}

/** Direct saver calls on checkpoints shaped like the graph's: a chain on one thread. */
async function directLatency(saver: BaseCheckpointSaver): Promise<Direct> {
  const threadId = `direct-${randomUUID()}`;
  const configs: { configurable: Record<string, string> }[] = [];
  let parent: string | undefined;
  let versions: Record<string, number> = {};
  const nextCheckpoint = (step: number): { checkpoint: Checkpoint; newVersions: Record<string, number> } => {
    const cp = emptyCheckpoint();
    cp.id = uuid6(-3);
    const newVersions = {
      signals: saver.getNextVersion(versions.signals),
      step: saver.getNextVersion(versions.step),
    };
    versions = { ...versions, ...newVersions };
    cp.channel_values = { symbol: "AAPL", signals: payload(step), step };
    cp.channel_versions = { symbol: 1, ...versions };
    cp.versions_seen = Object.fromEntries(Array.from({ length: NODES }, (_, i) => [`n${i}`, { step: versions.step! }]));
    return { checkpoint: cp, newVersions };
  };
  const warm = Math.min(200, DIRECT_OPS);
  const put = await timeEach(DIRECT_OPS + warm, async (i) => {
    const { checkpoint, newVersions } = nextCheckpoint(i);
    const config = await saver.put(
      { configurable: { thread_id: threadId, checkpoint_ns: "", ...(parent ? { checkpoint_id: parent } : {}) } },
      checkpoint,
      { source: "loop", step: i, parents: {} },
      newVersions,
    );
    parent = checkpoint.id;
    configs.push(config as { configurable: Record<string, string> });
  });
  const putWrites = await timeEach(DIRECT_OPS + warm, (i) =>
    saver.putWrites(
      configs[i]!,
      [
        ["signals", payload(i + 1)],
        ["step", i + 1],
      ],
      `task-${i}`,
      `~__pregel_pull, n${i % NODES}`,
    ),
  );
  const getTuple = await timeEach(DIRECT_OPS + warm, (i) => saver.getTuple(configs[(i * 7919) % configs.length]!));
  return { put: put.slice(warm), putWrites: putWrites.slice(warm), getTuple: getTuple.slice(warm) };
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const prefixes = new Map<BaseCheckpointSaver, string>();
  const pool = new pg.Pool({ connectionString: PG_URL, max: CONCURRENCY });
  const schema = `lgf_bench_${randomUUID().slice(0, 8)}`;
  const savers: SaverUnderTest[] = [
    { name: "memory", make: () => Promise.resolve(new MemorySaver()), cleanup: () => Promise.resolve() },
    {
      name: "redis",
      make: () => {
        const keyPrefix = `lgf-bench:${randomUUID()}`;
        const saver = new RedisSaver(redis, { keyPrefix });
        prefixes.set(saver, keyPrefix);
        return Promise.resolve(saver);
      },
      cleanup: (s) => deleteByPrefix(redis, prefixes.get(s)!),
    },
    {
      name: "postgres",
      make: async () => {
        const saver = new PostgresSaver(pool, undefined, { schema });
        await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await saver.setup();
        return saver;
      },
      cleanup: async () => {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      },
    },
  ];

  const instances = new Map<string, BaseCheckpointSaver>();
  for (const s of savers) instances.set(s.name, await s.make());
  const results: Record<string, Record<string, number>> = {};
  try {
    console.error(`[bench] ${THREADS} runs per saver, one at a time…`);
    const sequential = await runsPerSecond(instances, 1);
    console.error(`[bench] ${THREADS} runs per saver, ${CONCURRENCY} at once…`);
    const concurrent = await runsPerSecond(instances, CONCURRENCY);
    for (const [name, saver] of instances) {
      console.error(`[bench] ${name}: ${DIRECT_OPS} direct put / putWrites / getTuple…`);
      const d = await directLatency(saver);
      results[name] = {
        runs_per_s: round(sequential.get(name)!, 1),
        runs_per_s_concurrent: round(concurrent.get(name)!, 1),
        put_p50_ms: round(percentile(d.put, 50)),
        put_p99_ms: round(percentile(d.put, 99)),
        put_writes_p50_ms: round(percentile(d.putWrites, 50)),
        put_writes_p99_ms: round(percentile(d.putWrites, 99)),
        get_p50_ms: round(percentile(d.getTuple, 50)),
        get_p99_ms: round(percentile(d.getTuple, 99)),
      };
    }
  } finally {
    for (const s of savers) await s.cleanup(instances.get(s.name)!);
  }
  await pool.end();
  await redis.quit();

  printTable(
    `Checkpointers: ${NODES}-node graph, ~1 KB state, ${THREADS} threads; direct calls x${DIRECT_OPS}`,
    Object.entries(results).map(([saver, r]) => ({ saver, ...r })),
  );
  const r = results.redis!;
  const p = results.postgres!;
  const m = results.memory!;
  console.log(
    `\nredis vs postgres: put p50 ${round(p.put_p50_ms! / r.put_p50_ms!, 1)}x lower, getTuple p50 ${round(p.get_p50_ms! / r.get_p50_ms!, 1)}x lower, ` +
      `runs/s ${round(r.runs_per_s! / p.runs_per_s!, 2)}x; redis vs memory runs/s ${round(r.runs_per_s! / m.runs_per_s!, 2)}x`,
  );
  console.log(
    `wrote ${writeResults("checkpointer", { ...results, _meta: { threads: THREADS, concurrency: CONCURRENCY, nodes: NODES, direct_ops: DIRECT_OPS, node: process.version, date: new Date().toISOString() } })}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
