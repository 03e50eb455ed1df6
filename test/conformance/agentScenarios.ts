/**
 * Graphs whose distributed node is a whole agent — a prebuilt ReAct agent, a hand-built subgraph
 * holding interrupts and `Command.PARENT` — that must give the same observables locally and with
 * the agent on a replica: results, state (`getState(…, { subgraphs: true })`), state history, and
 * the stream events of `streamMode: ["updates", "values", "messages", "custom"]` with
 * `subgraphs: true`, LLM tokens included. {@link observable} hides only what differs by nature
 * between two runs: ids made of time or randomness (checkpoint ids, task ids in namespaces, run ids).
 */
import { tool } from "@langchain/core/tools";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import {
  Annotation,
  Command,
  END,
  MessagesAnnotation,
  START,
  StateGraph,
  interrupt,
  type BaseCheckpointSaver,
  type LangGraphRunnableConfig,
} from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { ScriptedChatModel, type ScriptedReply } from "../../examples/research-team/ScriptedChatModel.js";
import type { Runnableish, Wrap } from "./parityScenarios.js";

/** A graph to compare, as {@link ParityScenario} but with full state access. */
export interface AgentScenario {
  name: string;
  /** Builds the graph; `serve` receives the original builder and its agent nodes, for workers. */
  build(wrap: Wrap, serve: (builder: object, nodes: string[]) => void): { compile(checkpointer: BaseCheckpointSaver): AgentGraph };
  /** Runs it and returns what must be equal. */
  run(graph: AgentGraph, threadId: string): Promise<unknown>;
}

/** The compiled graph with the state methods the scenarios use. */
export interface AgentGraph extends Runnableish {
  getState(config: Record<string, unknown>, options?: { subgraphs?: boolean }): Promise<never>;
  getStateHistory(config: Record<string, unknown>): AsyncIterable<unknown>;
  updateState(config: Record<string, unknown>, values: unknown, asNode?: string): Promise<Record<string, unknown>>;
}

const cfg = (threadId: string, extra: Record<string, unknown> = {}) => ({ configurable: { thread_id: threadId }, ...extra });
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Metadata keys of message events that name runs or hold the caller's transient context. */
const VOLATILE_KEYS = new Set(["id", "run_id", "checkpoint_id", "parent_checkpoint_id", "thread_ts", "created_at", "ts", "createdAt"]);

/** A JSON form of `value` without ids made of time or randomness (uuids, checkpoint and run ids). */
export function observable(value: unknown): unknown {
  const json = JSON.stringify(value, (key, v: unknown) => (VOLATILE_KEYS.has(key) && typeof v === "string" ? undefined : v)) as
    string | undefined; // undefined for undefined
  return json === undefined ? undefined : (JSON.parse(json.replace(UUID, "<uuid>")) as unknown);
}

/** Every chunk of one streamed run. */
async function collect(stream: Promise<AsyncIterable<unknown>>): Promise<unknown[]> {
  const chunks: unknown[] = [];
  for await (const chunk of await stream) chunks.push(chunk);
  return chunks;
}

/** The state history, newest first, as values, next nodes, step and source. */
async function history(graph: AgentGraph, config: Record<string, unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const snapshot of graph.getStateHistory(config)) {
    const s = snapshot as { values: unknown; next: string[]; metadata?: { step?: number; source?: string } };
    out.push({ values: s.values, next: s.next, step: s.metadata?.step, source: s.metadata?.source });
  }
  return out;
}

const STREAM = { streamMode: ["updates", "values", "messages", "custom"], subgraphs: true };

/** A research agent's script: look the topic up, then look up the first source, then answer. */
function researcherScript(messages: BaseMessage[]): ScriptedReply {
  const tools = messages.filter((m) => ToolMessage.isInstance(m));
  const topic = messages.filter((m) => HumanMessage.isInstance(m)).at(-1)?.text ?? "";
  const turn = messages.filter((m) => HumanMessage.isInstance(m)).length;
  const sinceLastQuestion = tools.filter((t) => messages.indexOf(t) > messages.findLastIndex((m) => HumanMessage.isInstance(m)));
  if (sinceLastQuestion.length === 0)
    return { content: `Searching for ${topic}.`, toolCalls: [{ id: `search-${turn}`, name: "search", args: { query: topic } }] };
  if (sinceLastQuestion.length === 1)
    return { content: "Reading the first source.", toolCalls: [{ id: `read-${turn}`, name: "read", args: { source: "source-1" } }] };
  return { content: `Findings on ${topic}: ${sinceLastQuestion.at(-1)?.text ?? ""}` };
}

function researchTools() {
  const search = tool(
    (input: { query: string }, config: LangGraphRunnableConfig) => {
      config.writer?.({ tool: "search", query: input.query });
      return `source-1 and source-2 mention ${input.query}`;
    },
    { name: "search", description: "Searches the archive", schema: z.object({ query: z.string() }) },
  );
  const read = tool((input: { source: string }) => `${input.source} says rates rise`, {
    name: "read",
    description: "Reads one source",
    schema: z.object({ source: z.string() }),
  });
  return [search, read];
}

const Review = Annotation.Root({
  topic: Annotation<string>,
  draft: Annotation<string>,
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

export const agentScenarios: AgentScenario[] = [
  {
    name: "a prebuilt ReAct agent with tools, over two turns, streamed with its tokens",
    build(wrap, serve) {
      // The issue asks for LangGraph's own prebuilt agent (deprecated in favour of langchain's createAgent, not installed here).
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      const researcher = createReactAgent({
        llm: new ScriptedChatModel({ script: researcherScript }),
        tools: researchTools(),
        name: "researcher",
      });
      const builder = new StateGraph(MessagesAnnotation)
        .addNode("researcher", researcher)
        .addNode("editor", (s) => ({
          messages: [new AIMessage({ content: `Edited: ${s.messages.at(-1)?.text ?? ""}`, id: `edit-${s.messages.length}` })],
        }))
        .addEdge(START, "researcher")
        .addEdge("researcher", "editor")
        .addEdge("editor", END);
      serve(builder, ["researcher"]);
      const b = wrap(builder, ["researcher"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) as unknown as AgentGraph };
    },
    async run(graph, thread) {
      const first = await graph.invoke({ messages: [new HumanMessage({ content: "rates", id: "q1" })] }, cfg(thread));
      const events = await collect(graph.stream({ messages: [new HumanMessage({ content: "inflation", id: "q2" })] }, cfg(thread, STREAM)));
      const tokens = events.filter((e) => Array.isArray(e) && e[1] === "messages");
      if (tokens.length < 10) throw new Error(`expected the agent's tokens in the stream, got ${tokens.length} message events`);
      if (!events.some((e) => Array.isArray(e) && e[1] === "custom")) throw new Error("expected the search tool's custom event");
      const state = await graph.getState(cfg(thread), { subgraphs: true });
      return observable({ first, events, state, history: await history(graph, cfg(thread)) });
    },
  },
  {
    name: "a hand-built subgraph with interrupts, updateState on its namespace, Command.PARENT and time travel",
    build(wrap, serve) {
      const review = new StateGraph(Review)
        .addNode("write", (s, config: LangGraphRunnableConfig) => {
          config.writer?.({ drafting: s.topic });
          return { draft: `draft on ${s.topic}`, log: ["drafted"] };
        })
        .addNode("approve", (s) => {
          const answer = interrupt<{ question: string }, { ok: boolean }>({ question: `publish "${s.draft}"?` });
          const second = answer.ok ? interrupt<{ question: string }, string>({ question: "which channel?" }) : "none";
          return new Command({
            graph: Command.PARENT,
            goto: answer.ok ? "publish" : "rework",
            update: { draft: s.draft, log: [`approved=${answer.ok} channel=${second}`] },
          });
        })
        .addEdge(START, "write")
        .addEdge("write", "approve");
      const team = review.compile();
      const builder = new StateGraph(Review)
        .addNode("team", team, { ends: ["publish", "rework"] })
        .addNode("publish", (s) => ({ log: [`published ${s.draft}`] }))
        .addNode("rework", () => ({ log: ["rework"] }))
        .addEdge(START, "team")
        .addEdge("publish", END)
        .addEdge("rework", END);
      serve(builder, ["team"]);
      const b = wrap(builder, ["team"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) as unknown as AgentGraph };
    },
    async run(graph, thread) {
      const interrupted = await collect(graph.stream({ topic: "rates" }, cfg(thread, STREAM)));
      const paused = (await graph.getState(cfg(thread), { subgraphs: true })) as {
        tasks: { state?: { config: Record<string, unknown> } }[];
      };
      const sub = paused.tasks[0]?.state;
      if (sub === undefined) throw new Error("expected the subgraph's state in getState(…, { subgraphs: true })");
      // Edit the paused subgraph's own state from the runner, then resume it twice.
      await graph.updateState(sub.config, { draft: "edited draft" });
      const afterEdit = await graph.getState(cfg(thread), { subgraphs: true });
      const firstResume = await collect(graph.stream(new Command({ resume: { ok: true } }), cfg(thread, STREAM)));
      const secondResume = await collect(graph.stream(new Command({ resume: "newsletter" }), cfg(thread, STREAM)));
      const done = await graph.getState(cfg(thread), { subgraphs: true });
      const past = await history(graph, cfg(thread));
      // Time travel: replay from the checkpoint before the subgraph ran; it pauses again.
      let before: Record<string, unknown> | undefined;
      for await (const s of graph.getStateHistory(cfg(thread))) {
        const snap = s as { next: string[]; config: Record<string, unknown> };
        if (snap.next.includes("team")) before = snap.config;
      }
      if (before === undefined) throw new Error("expected a checkpoint whose next node is team");
      const replay = await collect(graph.stream(null, { ...before, ...STREAM }));
      const replayed = await graph.getState(cfg(thread), { subgraphs: true });
      const rejected = await graph.invoke(new Command({ resume: { ok: false } }), cfg(thread));
      return observable({ interrupted, paused, afterEdit, firstResume, secondResume, done, past, replay, replayed, rejected });
    },
  },
];
