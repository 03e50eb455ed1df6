/**
 * `fabric.distribute(builder, { nodes })`: a copy of a LangGraph graph builder whose named nodes
 * call remote replicas. The copy keeps each node's options (retry policy, cache policy, timeout,
 * metadata, `ends`, `defer`, input schema) and only swaps the node's runnable, so the compiled
 * graph is the same graph with the same edges; the original builder is left untouched and can
 * still be served by workers. The copy owns its mutable collections (nodes, edges, branches,
 * waiting edges, channels, schemas, node defaults), so a node or edge added to either builder
 * afterwards does not appear in the other.
 *
 * @module
 */
import type { Runnable } from "@langchain/core/runnables";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { ConfigurationError, UnknownNodeError } from "../errors.js";
import { trackCheckpointDurability } from "./durableCheckpoints.js";

/** The part of a LangGraph `StateGraph`/`Graph` builder that distribute and serve rely on. */
export interface GraphBuilderLike {
  nodes: Record<string, { runnable: Runnable; subgraphs?: unknown[] } & Record<string, unknown>>;
}

/**
 * The node specs of `nodes` in `builder`, checked: every name exists. A compiled subgraph (or
 * prebuilt agent) is a node like any other: it runs whole on a replica (see `SubgraphRunner`).
 */
export function resolveNodes(builder: GraphBuilderLike, nodes: readonly string[], what: string): GraphBuilderLike["nodes"][string][] {
  if (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every((n): n is string => typeof n === "string")) {
    throw new ConfigurationError(`${what}: options.nodes must name at least one node`, { hint: 'e.g. { nodes: ["momentum"] }' });
  }
  const known = Object.keys(builder.nodes).filter((k) => !k.startsWith("__"));
  return nodes.map((name) => {
    const spec = builder.nodes[name];
    if (spec === undefined || name.startsWith("__")) throw new UnknownNodeError(name, known);
    return spec;
  });
}

/**
 * The collections LangGraph 1.7 builders mutate as they are built (`Graph`: `nodes`, `edges`,
 * `branches`; `StateGraph` adds `channels`, `waitingEdges`, `_schemaDefinitions`,
 * `_nodeDefaults`), and how deep each must be copied. `branches` is two levels deep:
 * `addConditionalEdges` writes `branches[source][name]`. The values in them (node specs, channel
 * templates, `Branch`es, schema definitions) are only replaced, never mutated, so they are shared.
 */
const OWNED_COLLECTIONS = {
  nodes: "record",
  channels: "record",
  _nodeDefaults: "record",
  branches: "recordOfRecords",
  edges: "set",
  waitingEdges: "set",
  _schemaDefinitions: "map",
} as const;

function copyCollection(value: unknown, how: (typeof OWNED_COLLECTIONS)[keyof typeof OWNED_COLLECTIONS]): unknown {
  switch (how) {
    case "set":
      return value instanceof Set ? new Set(value) : value;
    case "map":
      return value instanceof Map ? new Map(value) : value;
    case "record":
      return typeof value === "object" && value !== null ? { ...value } : value;
    case "recordOfRecords":
      if (typeof value !== "object" || value === null) return value;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "object" && v !== null ? { ...v } : v]));
  }
}

/**
 * A copy of `builder` in which each node of `nodes` runs `makeRunnable(name)`. The builder's own
 * fields are copied; its mutable collections are copied too (see `OWNED_COLLECTIONS`), so later
 * edits of the copy or of the original stay in that builder.
 *
 * The spec keeps its `subgraphs`, so the caller's compiled graph still knows the subgraph: its state
 * (`getState(config, { subgraphs: true })`, `updateState` on its namespace) is read and written from
 * the runner, in the checkpoints the replica wrote.
 *
 * @throws UnknownNodeError for a name the builder does not have.
 */
export function distributeBuilder<B extends GraphBuilderLike>(
  builder: B,
  nodes: readonly string[],
  makeRunnable: (name: string) => Runnable,
): B {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(builder) as object) as B, builder);
  const fields = copy as unknown as Record<string, unknown>;
  for (const [field, how] of Object.entries(OWNED_COLLECTIONS)) {
    if (Object.hasOwn(fields, field)) fields[field] = copyCollection(fields[field], how);
  }
  const specs = resolveNodes(builder, nodes, "distribute");
  for (const [i, spec] of specs.entries()) {
    const name = nodes[i] ?? "";
    copy.nodes[name] = { ...spec, runnable: makeRunnable(name) };
  }
  // A fresh copy has not been compiled, whatever the original was.
  (copy as unknown as { compiled?: boolean }).compiled = false;
  trackDurabilityOnCompile(copy);
  return copy;
}

/** A checkpointer object (not `true`/`false`/undefined, which inherit or disable). */
function isSaver(value: unknown): value is BaseCheckpointSaver {
  return typeof value === "object" && value !== null && typeof (value as { put?: unknown }).put === "function";
}

/**
 * Makes `compile({ checkpointer })` of the copy track its checkpointer's writes, so remote node
 * calls are sent only once their task's checkpoint is stored (see `durableCheckpoints`).
 */
function trackDurabilityOnCompile(copy: object): void {
  const compile = (copy as { compile?: unknown }).compile;
  if (typeof compile !== "function") return;
  Object.defineProperty(copy, "compile", {
    configurable: true,
    writable: true,
    value(this: unknown, options?: { checkpointer?: unknown } & Record<string, unknown>) {
      const tracked =
        options && isSaver(options.checkpointer) ? { ...options, checkpointer: trackCheckpointDurability(options.checkpointer) } : options;
      return (compile as (o: unknown) => unknown).call(this, tracked);
    },
  });
}
