/**
 * The graph of the remote-node benchmark, imported by the caller and by the replica processes
 * alike (as users share one graph module): one CPU-only node that takes about 1 KB of state and
 * returns about 1 KB of update, so the figures are the fabric's cost, not the node's.
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";

/** The node's name (and its request topic). */
export const NODE = "work";

export const State = Annotation.Root({
  symbol: Annotation<string>,
  signals: Annotation<Record<string, number>>,
  step: Annotation<number>,
  /** When the node ran, epoch ms with µs precision (`performance.timeOrigin + now()`): splits a remote call into its two legs. */
  ranAt: Annotation<number>,
});

export type BenchState = typeof State.State;

/** About 1 KB of JSON: 48 named signals (the shape `bench/checkpointer.ts` uses). */
export function signals(step: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < 48; i += 1) out[`signal_${i}`] = Math.round(Math.sin(step * 31 + i) * 1e6) / 1e6;
  return out;
}

/** Wall-clock time in epoch milliseconds, comparable across the processes of one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The node: ~1 KB in, ~1 KB out. */
export function work(state: BenchState): Partial<BenchState> {
  return { signals: signals(state.step + 1), step: state.step + 1, ranAt: wallClockMs() };
}

/** A one-node graph: START → work → END. */
export const builder = new StateGraph(State).addNode(NODE, work).addEdge(START, NODE).addEdge(NODE, END);

/** The benchmark's input state. */
export function input(step = 0): BenchState {
  return { symbol: "AAPL", signals: signals(step), step, ranAt: 0 };
}
