// The pure parts of GraphChannel: option validation, input parsing, the run plan from a
// checkpoint's stamp, and the stamping checkpointer (on MemorySaver).
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { Annotation, Command, END, MemorySaver, Send, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { CHANNEL_INPUT_METADATA_KEY, parseInputStamp, planRun, withInputStamps } from "../../../adapters/kafka/channelInputStamp.js";
import {
  decodeGraphChannelOutput,
  encodeGraphChannelInput,
  encodeGraphChannelOutput,
  parseGraphChannelInput,
  toGraphInput,
} from "../../../adapters/kafka/graphChannelMessages.js";
import { resolveGraphChannelOptions, type GraphChannelOptions } from "../../../adapters/kafka/graphChannelOptions.js";
import { FabricSerializer } from "../../../src/transport/payloadCodec.js";

const State = Annotation.Root({ log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });
const graph = new StateGraph(State)
  .addNode("a", () => ({ log: ["a"] }))
  .addEdge(START, "a")
  .addEdge("a", END)
  .compile({ checkpointer: new MemorySaver() });
const base: GraphChannelOptions = { graph, brokers: ["127.0.0.1:9092"], groupId: "g", inputTopic: "in", outputTopic: "out" };
const serde = new FabricSerializer();

describe("resolveGraphChannelOptions", () => {
  it("fills the defaults", () => {
    expect(resolveGraphChannelOptions(base)).toMatchObject({
      deadLetterTopic: "in.dlq",
      streamMode: ["updates", "custom"],
      concurrency: 4,
      partitions: 8,
      createTopics: true,
    });
  });

  it.each([
    [{ concurrency: 0 }, /concurrency must be an integer in 1\.\.10000 \(got 0\)/],
    [{ outputTopic: "in" }, /must differ/],
    [{ inputTopic: "bad topic" }, /inputTopic must be a Kafka topic name/],
    [{ brokers: [] }, /brokers must be a non-empty list/],
    [{ streamMode: ["nope"] }, /streamMode must be a list of/],
    [{ heartbeatIntervalMs: 20_000 }, /heartbeatIntervalMs must be an integer in 10\.\.9999 \(got 20000\)/],
    [
      {
        graph: new StateGraph(State)
          .addNode("a", () => ({}))
          .addEdge(START, "a")
          .compile(),
      },
      /graph must be compiled with a checkpointer/,
    ],
  ])("rejects %o with a RangeError naming the field", (patch, message) => {
    expect(() => resolveGraphChannelOptions({ ...base, ...(patch as Partial<GraphChannelOptions>) })).toThrow(RangeError);
    expect(() => resolveGraphChannelOptions({ ...base, ...(patch as Partial<GraphChannelOptions>) })).toThrow(message);
  });
});

describe("parseGraphChannelInput / toGraphInput", () => {
  const parse = (v: unknown) => parseGraphChannelInput(Buffer.from(typeof v === "string" ? v : JSON.stringify(v)));

  it("accepts exactly one of input, resume, command", () => {
    expect(parse({ input: { log: [] } })).toEqual({ ok: true, value: { input: { log: [] } } });
    expect(parse({ input: null })).toMatchObject({ ok: true });
    expect(parse({ resume: "yes" })).toMatchObject({ ok: true });
    expect(parse({ command: { goto: ["a", { node: "b", args: 1 }] } })).toMatchObject({ ok: true });
    expect(parse({})).toMatchObject({ ok: false, reason: "schema" });
    expect(parse({ input: 1, resume: 2 })).toMatchObject({ ok: false, reason: "schema" });
    expect(parse({ command: {} })).toMatchObject({ ok: false, reason: "schema" });
    expect(parse("{oops")).toMatchObject({ ok: false, reason: "malformed" });
    expect(parseGraphChannelInput(null)).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("builds Commands with Sends and revives LangChain objects", async () => {
    const resume = await toGraphInput({ resume: { ok: true } }, serde);
    expect(resume).toBeInstanceOf(Command);
    expect((resume as Command).resume).toEqual({ ok: true });
    const command = (await toGraphInput(
      { command: { update: { log: ["x"] }, goto: [{ node: "a", args: { n: 1 } }, "b"] } },
      serde,
    )) as Command;
    expect(command.update).toEqual({ log: ["x"] });
    expect((command.goto as unknown[])[0]).toBeInstanceOf(Send);
    const encoded = await encodeGraphChannelInput({ input: { messages: [new HumanMessage("hi")] } });
    const parsed = parseGraphChannelInput(encoded);
    if (!parsed.ok) throw new Error(parsed.error);
    const input = (await toGraphInput(parsed.value, serde)) as { messages: unknown[] };
    expect(input.messages[0]).toBeInstanceOf(HumanMessage);
  });
});

describe("output records", () => {
  it("round-trip LangChain messages and read as plain JSON", async () => {
    const value = await encodeGraphChannelOutput({
      type: "event",
      threadId: "t",
      inputPartition: 0,
      inputOffset: "3",
      seq: 0,
      mode: "updates",
      chunk: { a: { messages: [new AIMessage("hello")] } },
    });
    expect(JSON.parse(value.toString())).toMatchObject({
      type: "event",
      threadId: "t",
      chunk: { a: { messages: [{ lc: 1, type: "constructor" }] } },
    });
    const back = await decodeGraphChannelOutput(value);
    expect(back.type === "event" && (back.chunk as { a: { messages: unknown[] } }).a.messages[0]).toBeInstanceOf(AIMessage);
  });
});

describe("planRun", () => {
  const at = { topic: "in", partition: 2, offset: 10n };
  const snap = (stamp: string | undefined, next: string[] = [], interrupts = 0) => ({
    metadata:
      stamp === undefined
        ? { source: "loop" as const, step: 1, parents: {} }
        : { source: "loop" as const, step: 1, parents: {}, [CHANNEL_INPUT_METADATA_KEY]: stamp },
    next,
    tasks: next.map((name) => ({ id: "x", name, interrupts: Array.from({ length: interrupts }, () => ({ value: "?" })) })),
  });

  it("decides from the stamp of the thread's latest checkpoint", () => {
    expect(planRun(at, snap(undefined)).kind).toBe("run");
    expect(planRun(at, snap("in:2:9")).kind).toBe("run");
    expect(planRun(at, snap("other:2:10", ["b"])).kind).toBe("run");
    expect(planRun(at, snap("in:3:10", ["b"])).kind).toBe("run");
    expect(planRun(at, snap("in:2:11")).kind).toBe("skip");
    expect(planRun(at, snap("in:2:10")).kind).toBe("republish");
    expect(planRun(at, snap("in:2:10", ["b"], 1)).kind).toBe("republish");
    expect(planRun(at, snap("in:2:10", ["b"])).kind).toBe("resume");
    expect(parseInputStamp("a.b:c:1:42")).toEqual({ topic: "a.b:c", partition: 1, offset: 42n });
  });
});

describe("withInputStamps", () => {
  it("stamps every checkpoint of a run with its metadata.channel_input, leaving the original graph as it was", async () => {
    const stamped = withInputStamps(graph);
    const config = { configurable: { thread_id: "s1" } };
    for await (const _ of await stamped.stream(
      { log: [] },
      { ...config, streamMode: ["updates"], metadata: { [CHANNEL_INPUT_METADATA_KEY]: "in:0:7" } },
    )) {
      // drain
    }
    expect(graph.checkpointer).toBeInstanceOf(MemorySaver);
    const history: Record<string, unknown>[] = [];
    for await (const s of graph.getStateHistory(config)) history.push({ ...s.metadata });
    expect(history.map((m) => m[CHANNEL_INPUT_METADATA_KEY])).toEqual(["in:0:7", "in:0:7", "in:0:7"]);
  });
});
