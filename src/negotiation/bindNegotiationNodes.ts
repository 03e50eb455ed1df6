/**
 * Binds the negotiation nodes of a distributed graph builder to the fabric (see
 * `negotiationNode`): their sessions go to the fabric's state store, and `remote: true` nodes ask
 * the fabric's participants.
 *
 * @module
 */
import type { GraphBuilderLike } from "../nodes/distribute.js";
import { bindNegotiationNode, type NegotiationNodeFabric } from "./negotiationNode.js";

/**
 * Replaces, in `builder.nodes` (which must be the distributed copy's own map), the runnable of
 * every node made by `negotiationNode` with one whose function is bound to `fabric`. LangGraph
 * wraps a node function in a runnable holding it as `func`; the replacement is a copy of that
 * runnable (name, tags, tracing kept) with the bound function. Nodes in `skip` (remote ones) and
 * every other node are left alone.
 */
export function bindNegotiationNodes(builder: GraphBuilderLike, fabric: NegotiationNodeFabric, skip: readonly string[]): void {
  for (const [name, spec] of Object.entries(builder.nodes)) {
    if (skip.includes(name)) continue;
    const runnable = spec.runnable as unknown as { func?: unknown };
    const bound = bindNegotiationNode(runnable.func, fabric);
    if (bound === undefined) continue;
    const copy = Object.assign(Object.create(Object.getPrototypeOf(runnable) as object) as object, runnable, { func: bound });
    builder.nodes[name] = { ...spec, runnable: copy as unknown as typeof spec.runnable };
  }
}
