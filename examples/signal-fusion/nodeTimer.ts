/**
 * Per-node wall-clock timings of one graph run, from LangChain callbacks: the time from a node's
 * start to its end as the process running the graph sees it — for a distributed node that is the
 * whole remote call (request, queueing, the replica's work, reply), which is what a person
 * comparing embedded and distributed runs wants to see.
 *
 * @module
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";

/** Collects, per graph node, the longest run under that node (the node's own task, not its inner steps). */
export class NodeTimer extends BaseCallbackHandler {
  name = "signal-fusion-node-timer";
  // Called inline rather than from LangChain's background queue, so the clock is read when the event happens.
  override awaitHandlers = true;
  private readonly started = new Map<string, { node: string; at: number }>();
  private readonly ms = new Map<string, number>();

  override handleChainStart(
    _chain: Serialized,
    _inputs: unknown,
    runId: string,
    _runType?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    const node = metadata?.langgraph_node;
    if (typeof node === "string") this.started.set(runId, { node, at: performance.now() });
  }

  override handleChainEnd(_outputs: unknown, runId: string): void {
    this.finish(runId);
  }

  override handleChainError(_error: unknown, runId: string): void {
    this.finish(runId);
  }

  /** Milliseconds per node, in the order the nodes first finished. */
  timings(): Record<string, number> {
    return Object.fromEntries(this.ms);
  }

  private finish(runId: string): void {
    const run = this.started.get(runId);
    if (run === undefined) return;
    this.started.delete(runId);
    const elapsed = performance.now() - run.at;
    this.ms.set(run.node, Math.max(this.ms.get(run.node) ?? 0, elapsed));
  }
}
