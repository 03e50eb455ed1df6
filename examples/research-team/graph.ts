/**
 * The research team's graph: a supervisor hands the question to the researcher agent, then to the
 * writer agent, then ends. Both agents are prebuilt ReAct agents added as nodes (compiled
 * subgraphs); distributed, each runs whole on a worker replica — its model calls, its tools, its
 * checkpoints (under the runner's thread) — while the supervisor stays in the runner:
 *
 * ```
 * START → supervisor ─→ researcher ─┐
 *            ↑  ├─────→ writer ─────┤
 *            │  └─────→ END         │
 *            └──────────────────────┘
 * ```
 *
 * @module
 */
import { Annotation, Command, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { researcherAgent, writerAgent } from "./agents.js";

/** The agent nodes: the ones workers serve and the runner distributes. */
export const AGENTS = ["researcher", "writer"] as const;

/** The team's state: the conversation, and who has worked so far. */
export const TeamState = Annotation.Root({
  ...MessagesAnnotation.spec,
  handoffs: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** The supervisor: the researcher first, then the writer, then done. */
export function supervisor(state: typeof TeamState.State): Command {
  const next = AGENTS[state.handoffs.length];
  return next === undefined ? new Command({ goto: END }) : new Command({ goto: next, update: { handoffs: [next] } });
}

/** The graph builder, imported by the runner and by the workers. */
export const builder = new StateGraph(TeamState)
  .addNode("supervisor", supervisor, { ends: [...AGENTS, END] })
  .addNode("researcher", researcherAgent())
  .addNode("writer", writerAgent())
  .addEdge(START, "supervisor")
  .addEdge("researcher", "supervisor")
  .addEdge("writer", "supervisor");
