/**
 * The caller side of remote nodes: everything a remote node proxy does when LangGraph runs it.
 * It reads what the replica needs from the LangGraph config (thread, namespace, task id, resume
 * values, whether custom events are streamed, and for a subgraph node the parent run's context),
 * picks a replica, sends the call through the transport, relays the stream events the replica
 * sends (custom events, a subgraph's chunks: see `subgraphContext`), and turns the reply back into exactly
 * what the node would have done locally: return the value or `Command`, replay the writes
 * `interrupt()` made, throw the rebuilt `GraphInterrupt` or error. The node's W3C trace context
 * (see `observability/traceContext`) travels as a child span in the request header.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { FabricStoppedError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import {
  childTraceContext,
  traceContextOf,
  TRACEPARENT_CONFIG,
  TRACESTATE_CONFIG,
  type RandomFill,
} from "../observability/traceContext.js";
import type { FailoverCaller } from "../resilience/FailoverCaller.js";
import type { FabricSerializer } from "../transport/payloadCodec.js";
import { checkpointStored } from "./durableCheckpoints.js";
import { decodeError } from "./errorCodec.js";
import { idempotencyKeyOf, taskIdOf } from "./idempotencyKey.js";
import { nestedContextOf, StreamRelay } from "./subgraphContext.js";
import { decodeOutput, toGraphInterrupt, type CallOutcome, type CallPayload, type SendWrite } from "./wireFormat.js";

/** Options of {@link RemoteNodeClient}. */
export interface RemoteNodeClientOptions {
  /** Sends calls: picks replicas, applies breakers and bulkheads, fails over. */
  failover: FailoverCaller<CallOutcome>;
  serde: FabricSerializer;
  logger: Logger;
  /** Longest wait for a reply, in ms. Default 300 000 (5 min: LLM calls are slow). */
  callTimeoutMs?: number;
  /** Called after each call (for statistics). */
  onCallDone?: (node: string, replicaId: string | undefined, durationMs: number, outcome: CallOutcome["kind"] | "failed") => void;
  /** Random source of the span ids of child trace contexts. Default: `crypto.randomFillSync`. */
  randomFill?: RandomFill;
}

const DEFAULTS = {
  callTimeoutMs: 300_000, // ms
};

/** Keys of `configurable` that LangGraph uses internally and that never travel. */
function isInternalKey(key: string): boolean {
  return key.startsWith("__pregel_") || key.startsWith("__") || key === "checkpoint_map";
}

/**
 * Trace context keys: they travel in the request header as a child span instead, so the replica
 * never sees the caller's own span (nor a malformed value) as if it were the hop's.
 */
function isTraceKey(key: string): boolean {
  return key === TRACEPARENT_CONFIG || key === TRACESTATE_CONFIG;
}

/** Calls remote replicas of nodes on behalf of LangGraph tasks. */
export class RemoteNodeClient {
  private readonly callTimeoutMs: number;
  private draining = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  /** @throws RangeError when a timeout is not a positive integer. */
  constructor(private readonly options: RemoteNodeClientOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULTS.callTimeoutMs;
    if (!Number.isInteger(this.callTimeoutMs) || this.callTimeoutMs <= 0) {
      throw new RangeError(`callTimeoutMs must be a positive integer of milliseconds (got ${this.callTimeoutMs})`);
    }
  }

  /** Calls in flight right now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Refuses new calls and waits for the ones in flight (at most `timeoutMs`). */
  async drain(timeoutMs = this.callTimeoutMs): Promise<void> {
    this.draining = true;
    const all = Promise.allSettled([...this.inFlight]);
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** Runs node `node` remotely as LangGraph's task would run it locally. */
  call(node: string, input: unknown, config: RunnableConfig): Promise<unknown> {
    if (this.draining) return Promise.reject(new FabricStoppedError(`call to node "${node}"`));
    const promise = this.callOnce(node, input, config);
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  private async callOnce(node: string, input: unknown, config: RunnableConfig): Promise<unknown> {
    const { serde } = this.options;
    const started = performance.now();
    const conf = (config.configurable ?? {}) as Record<string, unknown>;
    const scratchpad = conf.__pregel_scratchpad as
      { resume?: unknown[]; nullResume?: unknown; consumeNullResume?: () => unknown } | undefined;
    const rawThread = conf.thread_id;
    const threadId = typeof rawThread === "string" || typeof rawThread === "number" ? String(rawThread) : null;
    const checkpointNs = typeof conf.checkpoint_ns === "string" ? conf.checkpoint_ns : "";
    const taskId = taskIdOf(config);
    const writer = (config as { writer?: (chunk: unknown) => void }).writer;
    const relay = new StreamRelay(config, serde, this.options.logger, node);

    const configurable: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(conf)) if (!isInternalKey(k) && !isTraceKey(k) && typeof v !== "function") configurable[k] = v;
    const extra = config as RunnableConfig & { context?: unknown; executionInfo?: Record<string, unknown> };
    const payload: CallPayload = {
      input,
      configurable,
      resume: scratchpad?.resume ?? [],
      hasCheckpointer: Boolean(conf.__pregel_checkpointer),
      streamCustom: typeof writer === "function",
      ...(scratchpad?.nullResume !== undefined ? { nullResume: { value: scratchpad.nullResume } } : {}),
      ...(extra.context !== undefined ? { context: extra.context } : {}),
      ...(extra.metadata ? { metadata: plainMetadata(extra.metadata) } : {}),
      ...(extra.tags ? { tags: extra.tags } : {}),
      ...(extra.executionInfo ? { executionInfo: extra.executionInfo } : {}),
      ...(extra.runName ? { runName: extra.runName } : {}),
      // A compiled subgraph served as this node needs its parent's run context (see subgraphContext).
      nested: await nestedContextOf(config),
    };
    // Sent only once the task's checkpoint is stored: a resumed run then reproduces the task id,
    // hence the idempotency key (see durableCheckpoints). Usually the put is already in flight.
    const [[payloadType, bytes]] = await Promise.all([serde.dumpsTyped(payload), checkpointStored(config)]);
    const attempt = Number(extra.executionInfo?.nodeAttempt ?? 1);
    // Each call is a span of its own: a retry of the task gets a new span id in the same trace.
    const parentTrace = traceContextOf(config);
    const trace = parentTrace ? childTraceContext(parentTrace, this.options.randomFill) : undefined;
    let replicaId: string | undefined;
    try {
      const result = await this.options.failover.call(
        node,
        {
          id: randomUUID(),
          node,
          threadId,
          checkpointNs,
          taskId,
          idempotencyKey: idempotencyKeyOf(threadId, checkpointNs, taskId),
          deadline: Date.now() + this.callTimeoutMs,
          attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
          payloadType,
          ...(trace ? { trace } : {}),
        },
        bytes,
        {
          ...(config.signal ? { signal: config.signal } : {}),
          ...(relay.wanted ? { onEvent: (event) => relay.relay(event.header.payloadType, event.payload) } : {}),
        },
      );
      replicaId = result.replicaId;
      // Every stream event of the call reaches the graph's stream before the node's own result.
      await relay.flush();
      this.options.onCallDone?.(node, replicaId, performance.now() - started, result.outcome.kind);
      return this.settle(result.outcome, conf, scratchpad, { node, replica: replicaId });
    } catch (e) {
      if (replicaId === undefined) this.options.onCallDone?.(node, undefined, performance.now() - started, "failed");
      throw e;
    }
  }

  /** Applies the replica's side effects on the caller's task and returns or throws its outcome. */
  private settle(
    outcome: CallOutcome,
    conf: Record<string, unknown>,
    scratchpad: { consumeNullResume?: () => unknown } | undefined,
    origin: { node: string; replica: string },
  ): unknown {
    // interrupt() on the replica recorded consumed resume values through send; record them here.
    const send = conf.__pregel_send as ((writes: SendWrite[]) => void) | undefined;
    if (outcome.writes.length > 0) send?.(outcome.writes);
    if (outcome.consumedNullResume) scratchpad?.consumeNullResume?.();
    switch (outcome.kind) {
      case "value":
        return decodeOutput(outcome.value);
      case "interrupt":
        throw toGraphInterrupt(outcome.interrupts);
      case "error":
        throw decodeError(outcome.error, origin);
    }
  }
}

/** Metadata keys LangGraph adds that do not travel (they may hold non-JSON values). */
function plainMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (k.startsWith("__") || isTraceKey(k)) continue;
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) out[k] = v;
  }
  return out;
}
