/**
 * Graphs that must give the same observable result whether their nodes run locally or on remote
 * replicas. Each scenario builds fresh builders (node closures hold per-run counters), names the
 * nodes to distribute, and runs the compiled graph to an observable value that hides only what
 * differs by nature between two runs (checkpoint ids, interrupt ids that hash them).
 */
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import {
  Annotation,
  Command,
  END,
  MessagesAnnotation,
  Send,
  START,
  StateGraph,
  interrupt,
  type BaseCheckpointSaver,
  type LangGraphRunnableConfig,
} from "@langchain/langgraph";

/** Wraps a builder for the run: identity locally, `fabric.distribute(builder, { nodes })` distributed. */
export type Wrap = <B extends object>(builder: B, nodes: readonly string[]) => B;

/** A graph to compare. */
export interface ParityScenario {
  name: string;
  /**
   * Builds the graph. `wrap` is applied to every builder that has remote nodes (the top builder and
   * subgraph builders); `serve` receives the original builders and their remote nodes, for workers.
   */
  build(wrap: Wrap, serve: (builder: object, nodes: string[]) => void): { compile(checkpointer: BaseCheckpointSaver): Runnableish };
  /** Runs it and returns what must be equal. */
  run(graph: Runnableish, threadId: string): Promise<unknown>;
}

/** The compiled graph, loosely typed for the scenarios. */
export interface Runnableish {
  invoke(input: unknown, config?: Record<string, unknown>): Promise<unknown>;
  stream(input: unknown, config?: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
  getState(
    config: Record<string, unknown>,
  ): Promise<{ values: unknown; next: readonly string[]; tasks: readonly { interrupts: readonly { value?: unknown }[] }[] }>;
}

const cfg = (threadId: string, extra: Record<string, unknown> = {}) => ({ configurable: { thread_id: threadId }, ...extra });

/** Drops interrupt ids (they hash checkpoint namespaces, which hold time-based ids). */
export function withoutIds<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v: unknown) => (k === "id" && typeof v === "string" ? undefined : v))) as T;
}

const Fan = Annotation.Root({
  items: Annotation<string[]>,
  results: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  stamp: Annotation<Date | undefined>,
  tags: Annotation<Set<string> | undefined>,
  byKey: Annotation<Map<string, number> | undefined>,
});

const Flow = Annotation.Root({
  route: Annotation<string>,
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  answers: Annotation<unknown[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

export const parityScenarios: ParityScenario[] = [
  {
    name: "Send fan-out with Date, Set and Map in the updates",
    build(wrap, serve) {
      const builder = new StateGraph(Fan)
        .addNode("work", (s: { item: string }) => ({ results: [s.item.toUpperCase()] }))
        .addNode("collect", (s) => ({
          results: [`n=${s.results.length}`],
          stamp: new Date("2026-11-24T10:00:00.000Z"),
          tags: new Set(s.results),
          byKey: new Map(s.results.map((r, i) => [r, i])),
        }))
        .addConditionalEdges(START, (s) => s.items.map((item) => new Send("work", { item })))
        .addEdge("work", "collect")
        .addEdge("collect", END);
      serve(builder, ["work", "collect"]);
      const b = wrap(builder, ["work", "collect"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      const out = (await graph.invoke({ items: ["a", "b", "c", "d"] }, cfg(thread))) as typeof Fan.State;
      expectInstances(out);
      return out;
    },
  },
  {
    name: "Command goto and update from a remote node",
    build(wrap, serve) {
      const builder = new StateGraph(Flow)
        .addNode("router", (s) => new Command({ goto: s.route === "buy" ? "buyer" : "seller", update: { log: [`route=${s.route}`] } }), {
          ends: ["buyer", "seller"],
        })
        .addNode("buyer", () => ({ log: ["bought"] }))
        .addNode("seller", () => ({ log: ["sold"] }))
        .addEdge(START, "router")
        .addEdge("buyer", END)
        .addEdge("seller", END);
      serve(builder, ["router", "buyer"]);
      const b = wrap(builder, ["router", "buyer"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      return [await graph.invoke({ route: "buy" }, cfg(`${thread}-1`)), await graph.invoke({ route: "sell" }, cfg(`${thread}-2`))];
    },
  },
  {
    // Command({ resume: value }) with a value that is not a map of interrupt ids is written under
    // LangGraph's null task id: the interrupted task finds it as its scratchpad's `nullResume`,
    // and the first interrupt() without a recorded answer consumes it.
    name: "interrupt twice in one node, each resumed through the null-task resume (Command({ resume: value }))",
    build(wrap, serve) {
      const builder = new StateGraph(Flow)
        .addNode("ask", (_s, config: LangGraphRunnableConfig) => {
          const entry = scratchpadAtEntry(config);
          const first = interrupt({ question: "size?" });
          const second = interrupt({ question: `confirm ${JSON.stringify(first)}?` });
          return { answers: [first, second], log: [entry, "asked"] };
        })
        .addNode("after", (s) => ({ log: [`answers=${JSON.stringify(s.answers)}`] }))
        .addEdge(START, "ask")
        .addEdge("ask", "after")
        .addEdge("after", END);
      serve(builder, ["ask"]);
      const b = wrap(builder, ["ask"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      const c = cfg(thread);
      const steps: unknown[] = [];
      steps.push(withoutIds(await graph.invoke({ route: "x" }, c)));
      steps.push(withoutIds((await graph.getState(c)).tasks.map((t) => t.interrupts)));
      steps.push(withoutIds(await graph.invoke(new Command({ resume: 10 }), c)));
      const last = (await graph.invoke(new Command({ resume: { ok: true } }), c)) as { log: string[] };
      // The last run answered the first interrupt from its recorded resume and the second from the null resume.
      expectLog(last.log, 'entry: resume=[10] nullResume={"ok":true}');
      steps.push(withoutIds(last));
      steps.push((await graph.getState(c)).next);
      return steps;
    },
  },
  {
    name: "parallel interrupts resumed by interrupt id in one Command({ resume: { [id]: value } })",
    build(wrap, serve) {
      const asker = (side: string) => (_s: unknown, config: LangGraphRunnableConfig) => {
        const entry = scratchpadAtEntry(config);
        const answer: unknown = interrupt({ side });
        return { answers: [`${side}:${String(answer)}`], log: [`${side} ${entry}`] };
      };
      const builder = new StateGraph(Flow)
        .addNode("left", asker("left"))
        .addNode("right", asker("right"))
        .addEdge(START, "left")
        .addEdge(START, "right")
        .addEdge("left", END)
        .addEdge("right", END);
      serve(builder, ["left", "right"]);
      const b = wrap(builder, ["left", "right"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      const c = cfg(thread);
      await graph.invoke({ route: "x" }, c);
      const pending = (await graph.getState(c)).tasks.flatMap((t) => t.interrupts) as { id: string; value: { side: string } }[];
      const resume = Object.fromEntries(pending.map((i) => [i.id, i.value.side === "left" ? "L" : "R"]));
      const out = (await graph.invoke(new Command({ resume }), c)) as { log: string[]; answers: string[] };
      // Addressed by id: each task finds its own answer in `resume`, none in `nullResume`.
      expectLog(out.log, 'left entry: resume=["L"] nullResume=undefined');
      expectLog(out.log, 'right entry: resume=["R"] nullResume=undefined');
      return { pending: withoutIds(pending).map((i) => i.value), out, next: (await graph.getState(c)).next };
    },
  },
  {
    name: "a Send with a timeout, from a remote node's Command, keeps its timeout",
    build(wrap, serve) {
      const builder = new StateGraph(Flow)
        .addNode(
          "router",
          (s) => new Command({ goto: [new Send("work", { route: s.route }, { timeout: s.route === "slow" ? 100 : 10_000 })] }),
          { ends: ["work"] },
        )
        .addNode("work", async (s, config: LangGraphRunnableConfig) => {
          // 2 s unless the Send's 100 ms timeout aborts it: without the timeout the run would succeed.
          if (s.route === "slow") await abortableSleep(2_000, config.signal);
          return { log: [`worked ${s.route}`] };
        })
        .addEdge(START, "router")
        .addEdge("work", END);
      serve(builder, ["router"]);
      const b = wrap(builder, ["router"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      const fast = await graph.invoke({ route: "fast" }, cfg(`${thread}-fast`));
      const slow = await graph.invoke({ route: "slow" }, cfg(`${thread}-slow`)).then(
        () => "no timeout",
        (e: unknown) => {
          const t = e as { name?: string; node?: string; kind?: string; timeout?: number };
          return { name: t.name, node: t.node, kind: t.kind, timeout: t.timeout };
        },
      );
      return { fast, slow };
    },
  },
  {
    name: "a subgraph whose inner node is remote and sends Command.PARENT",
    build(wrap, serve) {
      const childBuilder = new StateGraph(Flow)
        .addNode("inner", (s) => {
          if (s.route === "escalate")
            return new Command({ graph: Command.PARENT, goto: "escalated", update: { log: ["inner escalates"] } });
          return { log: ["inner"] };
        })
        .addEdge(START, "inner")
        .addEdge("inner", END);
      serve(childBuilder, ["inner"]);
      const child = wrap(childBuilder, ["inner"]).compile();
      const builder = new StateGraph(Flow)
        .addNode("child", child, { ends: ["escalated"] })
        .addNode("escalated", () => ({ log: ["escalated"] }))
        .addNode("done", () => ({ log: ["done"] }))
        .addEdge(START, "child")
        .addEdge("child", "done")
        .addEdge("done", END)
        .addEdge("escalated", END);
      return { compile: (checkpointer) => builder.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      return [await graph.invoke({ route: "normal" }, cfg(`${thread}-a`)), await graph.invoke({ route: "escalate" }, cfg(`${thread}-b`))];
    },
  },
  {
    name: "LangChain messages with tool calls",
    build(wrap, serve) {
      const builder = new StateGraph(MessagesAnnotation)
        .addNode("agent", (s) => {
          const last = s.messages[s.messages.length - 1];
          if (last instanceof ToolMessage) return { messages: [new AIMessage({ content: `AAPL is ${last.text}`, id: "final" })] };
          return {
            messages: [
              new AIMessage({
                content: "",
                id: "call",
                tool_calls: [{ id: "tc1", name: "quote", args: { symbol: "AAPL" }, type: "tool_call" }],
              }),
            ],
          };
        })
        .addNode("tools", (s) => {
          const call = (s.messages[s.messages.length - 1] as AIMessage).tool_calls![0]!;
          return { messages: [new ToolMessage({ content: "189.5", tool_call_id: call.id!, name: call.name, id: "tool" })] };
        })
        .addEdge(START, "agent")
        .addConditionalEdges("agent", (s) => ((s.messages[s.messages.length - 1] as AIMessage).tool_calls?.length ? "tools" : END))
        .addEdge("tools", "agent");
      serve(builder, ["agent", "tools"]);
      const b = wrap(builder, ["agent", "tools"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      const out = (await graph.invoke({ messages: [new HumanMessage({ content: "price?", id: "q" })] }, cfg(thread))) as {
        messages: BaseMessage[];
      };
      return out.messages.map((m) => ({
        type: m.type,
        cls: m.constructor.name,
        content: m.content,
        tool_calls: AIMessage.isInstance(m) ? m.tool_calls : null,
      }));
    },
  },
  {
    name: "a node that throws keeps its error class and message; retryPolicy retries it",
    build(wrap, serve) {
      const builder = new StateGraph(Flow)
        .addNode(
          "flaky",
          // Fails by attempt number, which LangGraph passes in executionInfo (a per-process counter
          // would differ between replicas).
          (_s, config: LangGraphRunnableConfig) => {
            const attempt = (config as { executionInfo?: { nodeAttempt?: number } }).executionInfo?.nodeAttempt ?? 1;
            if (attempt < 3) throw new RangeError(`transient failure ${attempt}`);
            return { log: [`ok at attempt ${attempt}`] };
          },
          { retryPolicy: { maxAttempts: 3, initialInterval: 1, jitter: false, logWarning: false } },
        )
        .addNode("broken", () => {
          const e = new TypeError("bad input: route must be buy or sell");
          Object.assign(e, { status: 400 });
          throw e;
        })
        .addConditionalEdges(START, (s) => (s.route === "flaky" ? "flaky" : "broken"))
        .addEdge("flaky", END)
        .addEdge("broken", END);
      serve(builder, ["flaky", "broken"]);
      const b = wrap(builder, ["flaky", "broken"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      const ok = await graph.invoke({ route: "flaky" }, cfg(`${thread}-f`));
      const failure = await graph.invoke({ route: "broken" }, cfg(`${thread}-b`)).then(
        () => "no error",
        (e: unknown) => ({
          name: (e as Error).name,
          message: (e as Error).message,
          isTypeError: e instanceof TypeError,
          status: (e as { status?: number }).status,
        }),
      );
      return { ok, failure };
    },
  },
  {
    name: "custom stream events written through config.writer",
    build(wrap, serve) {
      const builder = new StateGraph(Flow)
        .addNode("talker", (_s, config: LangGraphRunnableConfig) => {
          for (let i = 0; i < 3; i += 1) config.writer?.({ progress: i, at: new Date(Date.UTC(2026, 0, i + 1)) });
          return { log: ["talked"] };
        })
        .addEdge(START, "talker")
        .addEdge("talker", END);
      serve(builder, ["talker"]);
      const b = wrap(builder, ["talker"]);
      return { compile: (checkpointer) => b.compile({ checkpointer }) };
    },
    async run(graph, thread) {
      const chunks: unknown[] = [];
      for await (const chunk of await graph.stream({ route: "x" }, cfg(thread, { streamMode: ["custom", "updates"] }))) chunks.push(chunk);
      return chunks;
    },
  },
];

/** What `interrupt()` will find in the node's scratchpad when the node starts (resume values, null resume). */
function scratchpadAtEntry(config: LangGraphRunnableConfig): string {
  const pad = config.configurable?.__pregel_scratchpad as { resume?: unknown[]; nullResume?: unknown } | undefined;
  return `entry: resume=${JSON.stringify(pad?.resume ?? [])} nullResume=${JSON.stringify(pad?.nullResume)}`;
}

/** Throws unless `log` has `line`: a scenario that stopped exercising its path must not pass as parity. */
function expectLog(log: readonly string[], line: string): void {
  if (!log.includes(line)) throw new Error(`expected the log to contain ${JSON.stringify(line)}, got ${JSON.stringify(log)}`);
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function expectInstances(out: typeof Fan.State): void {
  if (!(out.stamp instanceof Date) || !(out.tags instanceof Set) || !(out.byKey instanceof Map)) {
    throw new Error(`state lost its classes: ${Object.prototype.toString.call(out.stamp)}, ${Object.prototype.toString.call(out.tags)}`);
  }
}
