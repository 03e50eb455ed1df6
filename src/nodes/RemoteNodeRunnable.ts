import { Runnable, type RunnableConfig } from "@langchain/core/runnables";

/** Whatever runs a node remotely: the fabric (or its client). */
export interface NodeCaller {
  callNode(node: string, input: unknown, config: RunnableConfig): Promise<unknown>;
}

/**
 * The runnable that stands in for a distributed node in the caller's graph. LangGraph wraps it
 * like the original (input mapping, writers, retry policy, timeout), so everything around the node
 * is unchanged; only the call itself goes to a replica.
 */
export class RemoteNodeRunnable extends Runnable<unknown, unknown> {
  lc_namespace = ["langgraph_fabric", "nodes"];

  /**
   * @param node the node's name (the replicas serve it under this name).
   * @param caller the fabric, or a promise of it (resolved at the first call).
   */
  constructor(
    readonly node: string,
    private readonly caller: NodeCaller | Promise<NodeCaller>,
  ) {
    super();
    this.name = node;
  }

  override async invoke(input: unknown, options?: Partial<RunnableConfig>): Promise<unknown> {
    const caller = await this.caller;
    return caller.callNode(this.node, input, options ?? {});
  }
}
