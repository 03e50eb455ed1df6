/**
 * The replica side of a compiled subgraph (or prebuilt agent) served as a node: runs it as LangGraph
 * runs a subgraph node locally — nested in the caller's run, under the caller's thread and the node's
 * checkpoint namespace, with the caller's checkpoint map, resume state and time-travel cursor — on
 * the replica's checkpointer, which must be the store the caller's graph uses. The replica stands in
 * for the parent's run (its stream, messages handler and writer), so LangGraph itself produces the
 * subgraph's stream chunks (values, updates, custom events, LLM tokens) with their namespaces; each
 * chunk the caller can show is sent back as an event (see `StreamRelay` on the caller).
 *
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { Annotation, START, StateGraph, getConfig } from "@langchain/langgraph";
import type { NestedContext, StreamChunkEvent } from "./subgraphContext.js";

/** A compiled LangGraph graph, as much of it as the runner uses. */
export interface CompiledGraphLike {
  lg_is_pregel: true;
  invoke(input: unknown, options: Record<string, unknown>): Promise<unknown>;
}

/** The compiled graph a node runnable is (a subgraph added with `addNode(name, compiled)`), if it is one. */
export function compiledGraphOf(runnable: unknown): CompiledGraphLike | undefined {
  if (typeof runnable !== "object" || runnable === null) return undefined;
  const candidate = runnable as Partial<CompiledGraphLike>;
  return candidate.lg_is_pregel === true && typeof candidate.invoke === "function" ? (candidate as CompiledGraphLike) : undefined;
}

/**
 * LangGraph's replay cursor (`ReplayState`) rebuilt on the replica: the caller decided whether this
 * is the namespace's first visit in the run (see `nestedContextOf`); deeper namespaces are visited
 * here for the first time.
 */
class ReplicaReplayState {
  private readonly visited = new Set<string>();

  constructor(
    readonly checkpointId: string,
    ownNs: string,
    firstVisit: boolean,
  ) {
    if (!firstVisit) this.visited.add(stableNamespace(ownNs));
  }

  async getCheckpoint(
    ns: string,
    checkpointer: {
      list(config: RunnableConfig, options: object): AsyncIterable<unknown>;
      getTuple(config: RunnableConfig): Promise<unknown>;
    },
    config: RunnableConfig,
  ): Promise<unknown> {
    const stable = stableNamespace(ns);
    if (this.visited.has(stable)) return (await checkpointer.getTuple(config)) ?? undefined;
    this.visited.add(stable);
    for await (const saved of checkpointer.list(config, { before: { configurable: { checkpoint_id: this.checkpointId } }, limit: 1 }))
      return saved;
    return undefined;
  }
}

/** A namespace without its last task id, so one subgraph's visits across loop iterations count once (as LangGraph does). */
function stableNamespace(ns: string): string {
  return ns.includes(":") ? ns.slice(0, ns.lastIndexOf(":")) : ns;
}

/**
 * The `configurable` keys that make a graph run nested in the caller's run. `__pregel_read` is how
 * LangGraph tells a nested run from a root one (a root run resets its namespace to the root); the
 * parent's channels cannot be read from a replica, so it throws if anything calls it.
 */
export function nestedConfigurable(nested: NestedContext, checkpointNs: string): Record<string, unknown> {
  return {
    __pregel_read: () => {
      throw new Error("the parent graph's channels cannot be read from a replica running a subgraph node");
    },
    ...(nested.checkpointMap !== undefined ? { checkpoint_map: nested.checkpointMap } : {}),
    ...(nested.resuming !== undefined ? { __pregel_resuming: nested.resuming } : {}),
    ...(nested.durability !== undefined ? { __pregel_durability: nested.durability } : {}),
    ...(nested.resumeMap !== undefined ? { __pregel_resume_map: nested.resumeMap } : {}),
    ...(nested.strictResume ? { __pregel_strict_resume: true } : {}),
    ...(nested.replay
      ? { __pregel_replay_state: new ReplicaReplayState(nested.replay.checkpointId, checkpointNs, nested.replay.firstVisit) }
      : {}),
  };
}

/** A LangGraph stream protocol (what a parent lends a subgraph in `__pregel_stream`). */
interface StreamProtocol {
  modes: Set<string>;
  push(chunk: [string[], string, unknown]): void;
}

type MessagesHandlerClass = new (streamFn: (chunk: [string[], string, unknown]) => void, options: { subgraphs: boolean }) => object;
let messagesHandlerClass: Promise<MessagesHandlerClass | undefined> | undefined;

/**
 * LangGraph's own `StreamMessagesHandler` class (it implements `streamMode: "messages"`: LLM tokens
 * and node-output messages, with their namespaces and dedup). The package does not export it, so it
 * is taken once from a one-node probe graph streamed in `messages` mode, whose node finds it among
 * its callbacks. `undefined` if a LangGraph version stops handing it over that way.
 */
function streamMessagesHandlerClass(): Promise<MessagesHandlerClass | undefined> {
  messagesHandlerClass ??= (async () => {
    let found: MessagesHandlerClass | undefined;
    const probe = new StateGraph(Annotation.Root({ seen: Annotation<number> }))
      .addNode("probe", (_state: unknown, config: RunnableConfig) => {
        const callbacks = config.callbacks as { handlers?: { name?: string }[] } | undefined;
        const handler = callbacks?.handlers?.find((h) => h.name === "StreamMessagesHandler");
        found = handler?.constructor as MessagesHandlerClass | undefined;
        return {};
      })
      .addEdge(START, "probe")
      .compile();
    // Drained for its side effect: the probe node records the handler class.
    for await (const _chunk of await probe.stream({ seen: 1 }, { streamMode: "messages" }));
    return found;
  })();
  return messagesHandlerClass;
}

/**
 * Runs `graph` nested as the caller's node would, with the replica standing in for the parent's
 * run: the parent's stream (`__pregel_stream`, when the caller streams subgraphs), its messages
 * handler (LangGraph's own class) and its custom-event writer all turn chunks into `emit` calls,
 * synchronously and in order (reading the subgraph's own output stream instead would lose the last
 * chunks before an interrupt: an errored stream drops what it holds). Without `subgraphs: true`
 * LangGraph shows only a subgraph's custom events, so only those are emitted.
 */
export async function runSubgraph(
  graph: CompiledGraphLike,
  input: unknown,
  config: RunnableConfig & { configurable: Record<string, unknown> },
  nested: NestedContext,
  emit: (chunk: StreamChunkEvent) => void,
): Promise<unknown> {
  const checkpointNs = typeof config.configurable.checkpoint_ns === "string" ? config.configurable.checkpoint_ns : "";
  const streamed = nested.stream !== undefined;
  const parent: StreamProtocol = {
    modes: new Set(nested.stream?.modes ?? ["custom"]),
    push: ([ns, mode, data]) => {
      if (parent.modes.has(mode)) emit({ __lgf: "chunk", ns, mode, data });
    },
  };
  // As LangGraph's root writer: the namespace is the graph the writing task runs in.
  const writer = (chunk: unknown) => {
    const current = getConfig() as RunnableConfig | undefined; // undefined outside a task, whatever the type says
    const ns = (current?.configurable?.checkpoint_ns as string | undefined)?.split("|").slice(0, -1);
    parent.push([ns ?? [], "custom", chunk]);
  };
  const Handler = streamed && parent.modes.has("messages") ? await streamMessagesHandlerClass() : undefined;
  return graph.invoke(input, {
    ...config,
    writer,
    ...(Handler ? { callbacks: [new Handler((chunk) => parent.push(chunk), { subgraphs: true })] } : {}),
    configurable: {
      ...config.configurable,
      ...nestedConfigurable(nested, checkpointNs),
      ...(streamed ? { __pregel_stream: parent } : {}),
    },
  });
}
