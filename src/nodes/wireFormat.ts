/**
 * What a node call carries, above the envelope: the request (the node's input and the parts of its
 * LangGraph config that matter remotely) and the outcome (a value, a `Command`, interrupts or an
 * error, plus the writes the node made through `__pregel_send`, which `interrupt()` uses to record
 * consumed resume values). `Command`, `Send` and `GraphInterrupt` are turned into plain data here
 * and rebuilt as class instances on the caller, since LangGraph checks them by class.
 *
 * @module
 */
import { Command, GraphInterrupt, Send, isCommand, type TimeoutPolicy } from "@langchain/langgraph";
import type { ErrorData } from "./errorCodec.js";
import type { NestedContext } from "./subgraphContext.js";

/** The request payload of a node call. */
export interface CallPayload {
  /** The node's input (the state, or a `Send`'s argument). */
  input: unknown;
  /** User keys of `configurable`, plus `thread_id`, `checkpoint_ns`, `checkpoint_id`. */
  configurable: Record<string, unknown>;
  /** LangGraph runtime context (`config.context`), if any. */
  context?: unknown;
  metadata?: Record<string, unknown>;
  tags?: string[];
  executionInfo?: Record<string, unknown>;
  runName?: string;
  /** The task's resume values (`scratchpad.resume`), for `interrupt()` on the replica. */
  resume: unknown[];
  /** The run's pending null-resume value, when there is one. */
  nullResume?: { value: unknown };
  /** Whether the caller's graph has a checkpointer (`interrupt()` requires one). */
  hasCheckpointer: boolean;
  /** Whether the caller streams custom events (`config.writer` exists). */
  streamCustom: boolean;
  /**
   * What a compiled subgraph run as this node needs of its parent's run (checkpoint map, resuming,
   * durability, time travel, stream modes); see `subgraphContext`. Absent from older callers.
   */
  nested?: NestedContext;
}

/** A `Send` as data. */
interface SendData {
  lg_name: "Send";
  node: string;
  args: unknown;
  /** The per-task timeout policy (already coerced by `Send`'s constructor: `{ runTimeout, idleTimeout, refreshOn }`). */
  timeout?: TimeoutPolicy;
}

/** A `Command` as data; `graph` is kept (LangGraph's own JSON form drops it). */
export interface CommandData {
  __lgf: "command";
  update?: unknown;
  resume?: unknown;
  goto: (string | SendData)[];
  graph?: string;
}

/** One interrupt raised on the replica. */
export interface InterruptData {
  id?: string;
  value: unknown;
  [extra: string]: unknown;
}

/** Writes the node made through `__pregel_send` (channel, value). */
export type SendWrite = [string, unknown];

/** What a replica answers. */
export type CallOutcome =
  | { kind: "value"; value: unknown; writes: SendWrite[]; consumedNullResume: boolean }
  | { kind: "interrupt"; interrupts: InterruptData[]; writes: SendWrite[]; consumedNullResume: boolean }
  | { kind: "error"; error: ErrorData; writes: SendWrite[]; consumedNullResume: boolean };

/** Node output → data: `Command`s (alone or in a top-level array) become {@link CommandData}. */
export function encodeOutput(value: unknown): unknown {
  if (isCommand(value)) return encodeCommand(value);
  if (Array.isArray(value) && value.some(isCommand)) return (value as unknown[]).map((v) => (isCommand(v) ? encodeCommand(v) : v));
  return value;
}

/** Data → node output, rebuilding `Command` and `Send` instances. */
export function decodeOutput(value: unknown): unknown {
  if (isCommandData(value)) return decodeCommand(value);
  if (Array.isArray(value) && value.some(isCommandData)) return (value as unknown[]).map((v) => (isCommandData(v) ? decodeCommand(v) : v));
  return value;
}

function encodeCommand(command: Command): CommandData {
  const raw: unknown = command.goto;
  const gotos = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) as (string | Send)[];
  const data: CommandData = {
    __lgf: "command",
    goto: gotos.map((g: string | Send) =>
      typeof g === "string"
        ? g
        : { lg_name: "Send", node: g.node, args: g.args as unknown, ...(g.timeout !== undefined ? { timeout: g.timeout } : {}) },
    ),
  };
  if (command.update !== undefined) data.update = command.update;
  if (command.resume !== undefined) data.resume = command.resume;
  if (command.graph !== undefined) data.graph = command.graph;
  return data;
}

function decodeCommand(data: CommandData): Command {
  return new Command({
    ...(data.update !== undefined ? { update: data.update as Record<string, unknown> } : {}),
    ...(data.resume !== undefined ? { resume: data.resume } : {}),
    ...(data.graph !== undefined ? { graph: data.graph } : {}),
    // The timeout overrides the target node's for that one pushed task, so it must survive the hop.
    goto: data.goto.map((g) =>
      typeof g === "string" ? g : new Send(g.node, g.args, g.timeout !== undefined ? { timeout: g.timeout } : undefined),
    ),
  });
}

function isCommandData(value: unknown): value is CommandData {
  return typeof value === "object" && value !== null && (value as { __lgf?: unknown }).__lgf === "command";
}

/** Rebuilds the caller-side `GraphInterrupt` for interrupts raised on a replica. */
export function toGraphInterrupt(interrupts: InterruptData[]): GraphInterrupt {
  return new GraphInterrupt(interrupts);
}
