// GraphChannel against a real Kafka broker and a real Redis checkpointer: results and events per
// thread in order, interrupt and resume, dead letters, two runners in one group, redelivery of
// finished messages, a graceful stop mid-run, and a runner process SIGKILLed mid-run.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { Annotation, END, interrupt, MessagesAnnotation, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { Kafka, logLevel, Partitioners, type Consumer, type IHeaders, type Producer } from "kafkajs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEAD_LETTER_HEADERS } from "../../../adapters/kafka/DeadLetterSink.js";
import { GraphChannel } from "../../../adapters/kafka/GraphChannel.js";
import type { GraphChannelOptions } from "../../../adapters/kafka/graphChannelOptions.js";
import {
  decodeGraphChannelOutput,
  encodeGraphChannelInput,
  type GraphChannelOutput,
  type GraphChannelResult,
} from "../../../adapters/kafka/graphChannelMessages.js";
import { CHANNEL_INPUT_METADATA_KEY } from "../../../adapters/kafka/channelInputStamp.js";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { createConsoleLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { builder as effectBuilder, closeEffectGraph, effectKeys } from "../../support/processes/effectGraph.js";
import { kafkaBrokers, redisUrl } from "../../support/services.js";

const fileId = `lgfgc${randomBytes(3).toString("hex")}`;
const kafka = new Kafka({ clientId: "lgf-channel-tests", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const logger = createConsoleLogger({ level: "error", name: "channel-test" });
let producer: Producer;
let redis: Redis;
const channels: GraphChannel[] = [];
const savers: RedisSaver[] = [];
const readers: Consumer[] = [];
const children: Child[] = [];
const groups: string[] = [];
const keyPrefixes: string[] = [];

beforeAll(async () => {
  await admin.connect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(channels.splice(0).map((c) => c.stop(1000)));
  await Promise.all(readers.splice(0).map((r) => r.disconnect()));
  await Promise.all(savers.splice(0).map((s) => s.end()));
});
afterAll(async () => {
  await producer.disconnect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(fileId));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();
  for (const prefix of keyPrefixes) await deleteByPrefix(redis, prefix);
  await redis.quit();
  await closeEffectGraph();
}, 60_000);

/** Names and a checkpointer of one test. */
async function environment(name: string) {
  const id = `${fileId}-${name}`;
  const saver = await RedisSaver.fromUrl(redisUrl(), { keyPrefix: `${id}:cp` });
  savers.push(saver);
  groups.push(id, `${id}.reader`, `${id}.dlq-reader`);
  keyPrefixes.push(id); // checkpoints under `${id}:cp`, effect counters under `${id}:`
  return { id, saver, input: `${id}.in`, output: `${id}.out`, dlq: `${id}.in.dlq`, group: id };
}

function channel(options: GraphChannelOptions): GraphChannel {
  const c = new GraphChannel({ sessionTimeoutMs: 6000, heartbeatIntervalMs: 300, maxWaitTimeMs: 50, logger, ...options });
  channels.push(c);
  return c;
}

interface Read {
  key: string | undefined;
  partition: number;
  headers: IHeaders;
  record: GraphChannelOutput;
}

/** Reads a topic from the beginning, decoding output records (or raw ones with `raw`). */
async function readTopic(topic: string, groupId: string) {
  const read: Read[] = [];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
  readers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const record = topic.endsWith(".dlq")
        ? ({ type: "error" } as GraphChannelOutput)
        : await decodeGraphChannelOutput(message.value ?? Buffer.alloc(0));
      read.push({ key: message.key?.toString(), partition, headers: message.headers ?? {}, record });
    },
  });
  const results = () => read.filter((r): r is Read & { record: GraphChannelResult } => r.record.type === "result");
  return { read, results, until: (check: () => boolean, timeoutMs = 30_000) => until(async () => Promise.resolve(check()), timeoutMs) };
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function send(topic: string, messages: { key?: string; value: string | Buffer }[]): Promise<void> {
  await producer.send({ topic, messages: messages.map((m) => ({ key: m.key ?? null, value: m.value })) });
}

// A graph whose one node sees the thread's items in order, waits a random moment (so threads
// interleave) and reports through the custom stream.
const Items = Annotation.Root({
  items: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  seen: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
const executions = new Map<string, number>();
const itemsBuilder = new StateGraph(Items)
  .addNode("work", async (state: typeof Items.State, config: LangGraphRunnableConfig) => {
    const threadId = String(config.configurable?.thread_id);
    executions.set(threadId, (executions.get(threadId) ?? 0) + 1);
    await sleep(Math.random() * 30);
    config.writer?.({ count: state.items.length });
    return { seen: [state.items.at(-1) ?? "?"] };
  })
  .addEdge(START, "work")
  .addEdge("work", END);

describe("GraphChannel (real Kafka, real Redis)", () => {
  it("publishes events then a result per message, keeping each thread's order across interleaved threads", async () => {
    const env = await environment("order");
    const graph = itemsBuilder.compile({ checkpointer: env.saver });
    const c = channel({
      graph,
      brokers: kafkaBrokers(),
      groupId: env.group,
      inputTopic: env.input,
      outputTopic: env.output,
      concurrency: 4,
    });
    await c.start();
    const out = await readTopic(env.output, `${env.id}.reader`);
    const threads = ["ta", "tb", "tc"];
    const messages = [];
    for (let i = 0; i < 5; i++)
      for (const t of threads) messages.push({ key: t, value: JSON.stringify({ input: { items: [`${t}-${i}`] } }) });
    await send(env.input, messages);
    await out.until(() => out.results().length === 15);

    for (const t of threads) {
      const records = out.read.filter((r) => r.key === t).map((r) => r.record);
      const results = records.filter((r): r is GraphChannelResult => r.type === "result");
      expect(results.map((r) => (r.values as typeof Items.State).items)).toEqual(
        Array.from({ length: 5 }, (_, k) => Array.from({ length: k + 1 }, (_, j) => `${t}-${j}`)),
      );
      expect((results.at(-1)!.values as typeof Items.State).seen).toEqual([0, 1, 2, 3, 4].map((j) => `${t}-${j}`));
      expect(results.every((r) => r.path === "run" && r.next.length === 0 && r.interrupts.length === 0)).toBe(true);
      // Input offsets rise, and every result comes after its own events (seq 0..n-1, then n).
      expect(results.map((r) => BigInt(r.inputOffset))).toEqual(results.map((r) => BigInt(r.inputOffset)).sort((a, b) => (a < b ? -1 : 1)));
      for (const result of results) {
        const own = records.filter((r) => r.inputOffset === result.inputOffset);
        expect(own.map((r) => r.seq)).toEqual(own.map((_, i) => i));
        expect(own.at(-1)).toBe(result);
        expect(own.flatMap((r) => (r.type === "event" ? [r.mode] : []))).toEqual(["custom", "updates"]);
      }
      // Each thread's records share one output partition, and carry the source header.
      expect(new Set(out.read.filter((r) => r.key === t).map((r) => r.partition)).size).toBe(1);
      expect(String(out.read.find((r) => r.key === t)!.headers["lgf-source"])).toMatch(new RegExp(`^${env.input}/\\d+/\\d+$`));
    }
    // The thread's latest checkpoint records the input message that produced it.
    const last = out
      .results()
      .filter((r) => r.key === "ta")
      .at(-1)!.record;
    const state = await graph.getState({ configurable: { thread_id: "ta" } });
    expect((state.metadata as Record<string, unknown>)[CHANNEL_INPUT_METADATA_KEY]).toBe(
      `${env.input}:${last.inputPartition}:${last.inputOffset}`,
    );
    await until(async () => Promise.resolve(c.status().partitions.reduce((n, p) => n + (p.lag ?? 0), 0) === 0));
    expect(c.status()).toMatchObject({ processed: 15, failed: 0, deadLettered: 0, inFlight: 0, queued: 0 });
  });

  it("stops at interrupt() with the pending interrupt, and a { resume } message continues the thread", async () => {
    const env = await environment("interrupt");
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("ask", (state: typeof MessagesAnnotation.State) => {
        const name = interrupt<string, string>(`who wrote "${state.messages.at(-1)?.text ?? ""}"?`);
        return { messages: [new AIMessage(`thanks, ${name}`)] };
      })
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile({ checkpointer: env.saver });
    const c = channel({ graph, brokers: kafkaBrokers(), groupId: env.group, inputTopic: env.input, outputTopic: env.output });
    await c.start();
    const out = await readTopic(env.output, `${env.id}.reader`);
    // A LangChain message in serialized form is revived before the run.
    await send(env.input, [{ key: "poet", value: await encodeGraphChannelInput({ input: { messages: [new HumanMessage("a haiku")] } }) }]);
    await out.until(() => out.results().length === 1);
    const first = out.results()[0]!.record;
    expect(first.next).toEqual(["ask"]);
    expect(first.interrupts).toEqual([{ id: expect.any(String), value: 'who wrote "a haiku"?' }]);

    await send(env.input, [{ key: "poet", value: JSON.stringify({ resume: "Basho" }) }]);
    await out.until(() => out.results().length === 2);
    const second = out.results()[1]!.record;
    expect(second).toMatchObject({ path: "run", next: [], interrupts: [] });
    const messages = (second.values as { messages: BaseMessage[] }).messages;
    expect(messages[0]).toBeInstanceOf(HumanMessage);
    expect(messages[1]).toBeInstanceOf(AIMessage);
    expect(messages[1]!.content).toBe("thanks, Basho");
  });

  it("dead-letters a message without key, a malformed one and a schema failure, and keeps serving", async () => {
    const env = await environment("dlq");
    const graph = itemsBuilder.compile({ checkpointer: env.saver });
    const c = channel({
      graph,
      brokers: kafkaBrokers(),
      groupId: env.group,
      inputTopic: env.input,
      outputTopic: env.output,
      partitions: 1,
    });
    await c.start();
    const out = await readTopic(env.output, `${env.id}.reader`);
    const dlq = await readTopic(env.dlq, `${env.id}.dlq-reader`);
    await send(env.input, [
      { value: JSON.stringify({ input: { items: ["orphan"] } }) },
      { key: "d1", value: "{not json" },
      { key: "d1", value: JSON.stringify({ input: {}, extra: true }) },
      { key: "d1", value: JSON.stringify({ input: { items: ["fine"] } }) },
    ]);
    await out.until(() => out.results().length === 1);
    await dlq.until(() => dlq.read.length === 3);
    expect(dlq.read.map((r) => String(r.headers[DEAD_LETTER_HEADERS.reason]))).toEqual(["missing_thread_id", "malformed", "schema"]);
    expect(String(dlq.read[2]!.headers[DEAD_LETTER_HEADERS.error])).toContain("unrecognized_keys");
    expect(String(dlq.read[0]!.headers[DEAD_LETTER_HEADERS.source])).toBe(`${env.input}/0/0`);
    expect((out.results()[0]!.record.values as typeof Items.State).items).toEqual(["fine"]);
    await c.stop();
    expect(c.status()).toMatchObject({ processed: 1, deadLettered: 3 });
    const [committed] = await admin.fetchOffsets({ groupId: env.group, topics: [env.input] });
    expect(committed!.partitions).toEqual([{ partition: 0, offset: "4", metadata: null }]);
  });

  it("shares the input between two runners of one group", async () => {
    const env = await environment("share");
    const graph = itemsBuilder.compile({ checkpointer: env.saver });
    const options = { graph, brokers: kafkaBrokers(), groupId: env.group, inputTopic: env.input, outputTopic: env.output };
    const a = channel(options);
    const b = channel(options);
    await a.start();
    await b.start();
    await until(async () =>
      Promise.resolve(a.status().partitions.length + b.status().partitions.length === 8 && a.status().partitions.length > 0),
    );
    const out = await readTopic(env.output, `${env.id}.reader`);
    await send(
      env.input,
      Array.from({ length: 40 }, (_, i) => ({ key: `s${i}`, value: JSON.stringify({ input: { items: [`s${i}`] } }) })),
    );
    await out.until(() => new Set(out.results().map((r) => r.key)).size === 40);
    expect(a.status().processed).toBeGreaterThan(0);
    expect(b.status().processed).toBeGreaterThan(0);
    expect(a.status().processed + b.status().processed).toBe(40);
  });

  it("runs longer than the session timeout without a rebalance, pausing the partition while messages wait", async () => {
    const env = await environment("long");
    const graph = new StateGraph(Items)
      .addNode("work", async (state: typeof Items.State) => {
        await sleep(state.items[0] === "long" ? 7_500 : 50);
        return { seen: [state.items[0] ?? "?"] };
      })
      .addEdge(START, "work")
      .addEdge("work", END)
      .compile({ checkpointer: env.saver });
    const c = channel({
      graph,
      brokers: kafkaBrokers(),
      groupId: env.group,
      inputTopic: env.input,
      outputTopic: env.output,
      partitions: 1,
      concurrency: 1,
      sessionTimeoutMs: 6_000, // the broker's minimum; the first run takes longer
    });
    await c.start();
    const out = await readTopic(env.output, `${env.id}.reader`);
    const items = ["long", "w1", "w2", "w3"];
    await send(
      env.input,
      items.map((item, i) => ({ key: `l${i}`, value: JSON.stringify({ input: { items: [item] } }) })),
    );
    let sawPaused = false;
    let mostQueued = 0;
    await out.until(() => {
      const p = c.status().partitions[0];
      sawPaused ||= p?.paused === true;
      mostQueued = Math.max(mostQueued, p?.queued ?? 0);
      return out.results().length === 4;
    }, 30_000);
    expect(out.results().map((r) => (r.record.values as typeof Items.State).seen[0])).toEqual(items);
    expect(sawPaused).toBe(true);
    expect(mostQueued).toBeLessThanOrEqual(1); // paused as soon as one waits behind a full slot
    expect(c.status()).toMatchObject({ groupJoins: 1, processed: 4, aborted: 0 });
  }, 60_000);

  it("on redelivery, skips a message a later one superseded and republishes a finished one without running it", async () => {
    const env = await environment("redeliver");
    const graph = itemsBuilder.compile({ checkpointer: env.saver });
    const options = { graph, brokers: kafkaBrokers(), groupId: env.group, inputTopic: env.input, outputTopic: env.output, partitions: 1 };
    const first = channel(options);
    await first.start();
    const out = await readTopic(env.output, `${env.id}.reader`);
    await send(
      env.input,
      ["r-0", "r-1"].map((item) => ({ key: "redo", value: JSON.stringify({ input: { items: [item] } }) })),
    );
    await out.until(() => out.results().length === 2);
    await first.stop();
    expect(executions.get("redo")).toBe(2);

    // As after a lost commit: the group's position goes back to the first message.
    await admin.setOffsets({ groupId: env.group, topic: env.input, partitions: [{ partition: 0, offset: "0" }] });
    const second = channel(options);
    await second.start();
    await out.until(() => out.results().length === 3);
    const again = out.results()[2]!.record;
    expect(again).toMatchObject({ path: "republish", inputOffset: "1", next: [] });
    expect((again.values as typeof Items.State).items).toEqual(["r-0", "r-1"]);
    expect(executions.get("redo")).toBe(2);
    expect(second.status()).toMatchObject({ skipped: 1, republished: 1, processed: 1 });
  });

  it("a graceful stop gives an unfinished run back, and the next runner resumes it from its checkpoint", async () => {
    const env = await environment("stop");
    const runs = { a: 0, b: 0 };
    const graph = new StateGraph(Items)
      .addNode("a", () => {
        runs.a++;
        return { seen: ["a"] };
      })
      .addNode("b", async () => {
        runs.b++;
        await sleep(runs.b === 1 ? 5_000 : 0); // the first attempt is still in b when the runner stops
        return { seen: ["b"] };
      })
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile({ checkpointer: env.saver });
    const options = { graph, brokers: kafkaBrokers(), groupId: env.group, inputTopic: env.input, outputTopic: env.output, partitions: 1 };
    const first = channel(options);
    await first.start();
    const out = await readTopic(env.output, `${env.id}.reader`);
    await send(env.input, [{ key: "slow", value: JSON.stringify({ input: { items: ["x"] } }) }]);
    await until(async () => Promise.resolve(runs.b === 1));
    await first.stop(200);
    expect(first.status()).toMatchObject({ aborted: 1, processed: 0 });

    const second = channel(options);
    await second.start();
    await out.until(() => out.results().length === 1);
    expect(out.results()[0]!.record).toMatchObject({ path: "resume", values: { items: ["x"], seen: ["a", "b"] } });
    expect(runs).toEqual({ a: 1, b: 2 });
  });

  it("a run over runTimeoutMs ends with an error record and is committed", async () => {
    const env = await environment("timeout");
    const graph = new StateGraph(Items)
      .addNode("slow", async (_s: typeof Items.State, config: LangGraphRunnableConfig) => {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          config.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
        return { seen: ["slow"] };
      })
      .addEdge(START, "slow")
      .addEdge("slow", END)
      .compile({ checkpointer: env.saver });
    const options = { graph, brokers: kafkaBrokers(), groupId: env.group, inputTopic: env.input, outputTopic: env.output, partitions: 1 };
    const c = channel({ ...options, runTimeoutMs: 300 });
    await c.start();
    const out = await readTopic(env.output, `${env.id}.reader`);
    await send(env.input, [{ key: "late", value: JSON.stringify({ input: { items: ["x"] } }) }]);
    await out.until(() => out.read.some((r) => r.record.type === "error"));
    const error = out.read.find((r) => r.record.type === "error")!.record;
    expect(error).toMatchObject({ type: "error", threadId: "late", inputOffset: "0", error: { name: "GraphRunTimeoutError" } });
    await c.stop();
    expect(c.status()).toMatchObject({ failed: 1, processed: 0 });
    const [committed] = await admin.fetchOffsets({ groupId: env.group, topics: [env.input] });
    expect(committed!.partitions[0]!.offset).toBe("1");
  });

  it("a runner SIGKILLed mid-run: another runner of the group resumes the thread and each effect happens once", async () => {
    const env = await environment("crash");
    process.env.EFFECT_PREFIX = env.id;
    const runner = spawnTs(fileURLToPath(new URL("../../support/processes/graphChannelRunner.ts", import.meta.url)), {
      KAFKA_BROKERS: kafkaBrokers().join(","),
      REDIS_URL: redisUrl(),
      FABRIC_KEY_PREFIX: env.id,
      EFFECT_PREFIX: env.id,
      EFFECT_SLOW_NODE: "b",
      EFFECT_SLOW_MS: "10000",
      CHANNEL_GROUP: env.group,
      CHANNEL_INPUT_TOPIC: env.input,
      CHANNEL_OUTPUT_TOPIC: env.output,
      CHANNEL_SESSION_TIMEOUT_MS: "3000",
    });
    children.push(runner);
    await runner.waitFor(/^ready$/);
    const out = await readTopic(env.output, `${env.id}.reader`);
    await send(env.input, [{ key: "crash", value: JSON.stringify({ input: { log: [] } }) }]);
    const counters = async (node: string) => {
      const k = effectKeys(env.id, node);
      const [runs, effects, pid] = await redis.mget(k.runs, k.effects, k.runningPid);
      return { runs: Number(runs ?? 0), effects: Number(effects ?? 0), pid: pid === null ? undefined : Number(pid) };
    };
    // Killed while b sleeps after its effect (b's effect and counters are separate commands: not mid-effect).
    await until(async () => {
      const b = await counters("b");
      return b.pid === runner.process.pid && b.effects === 1;
    });
    await runner.kill();

    const graph = effectBuilder.compile({ checkpointer: env.saver });
    const survivor = channel({
      graph,
      brokers: kafkaBrokers(),
      groupId: env.group,
      inputTopic: env.input,
      outputTopic: env.output,
      partitions: 2,
    });
    await survivor.start();
    await out.until(() => out.results().length === 1, 60_000);
    expect(out.results()[0]!.record).toMatchObject({ path: "resume", values: { log: ["a", "b", "c"] }, next: [] });
    // a was checkpointed before the crash and did not run again; b ran twice, its effect once.
    expect(await counters("a")).toMatchObject({ runs: 1, effects: 1 });
    expect(await counters("b")).toMatchObject({ runs: 2, effects: 1 });
    expect(await counters("c")).toMatchObject({ runs: 1, effects: 1 });
    expect(survivor.status()).toMatchObject({ processed: 1, resumed: 1 });
  }, 120_000);
});
