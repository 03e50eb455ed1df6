/**
 * The replica side of a remote node: turns a request into a LangGraph-style node call on the
 * node's own runnable (taken from the same graph module the caller compiled), and its outcome
 * into a reply. It rebuilds what a node expects to find in its config: `thread_id`,
 * `checkpoint_ns`, the scratchpad `interrupt()` reads (resume values, null resume), a `send` that
 * captures the writes `interrupt()` makes, `config.writer` for custom stream events, the caller's
 * abort signal, `executionInfo`, the call's idempotency key, and the hop's W3C trace context
 * (`configurable.traceparent`/`tracestate`, also in `metadata`). A node that is a compiled graph
 * (a subgraph or prebuilt agent) runs nested in the caller's run instead: see `SubgraphRunner`.
 *
 * @module
 */
import type { Runnable } from "@langchain/core/runnables";
import { MemorySaver, isGraphInterrupt, type BaseCheckpointSaver } from "@langchain/langgraph";
import { createHash } from "node:crypto";
import { isIdempotencyConflictError, isRevivalRefusedError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { checkedTraceContext, TRACEPARENT_CONFIG, TRACESTATE_CONFIG } from "../observability/traceContext.js";
import type { HandlerResult, IncomingRequest, RequestContext, RequestHandler } from "../transport/Transport.js";
import type { FabricSerializer } from "../transport/payloadCodec.js";
import { ConfigurationError } from "../errors.js";
import { encodeError } from "./errorCodec.js";
import { runSubgraph, type CompiledGraphLike } from "./SubgraphRunner.js";
import { IDEMPOTENCY_KEY_CONFIG } from "./idempotencyKey.js";
import type { BeginResult, CallBinding, IdempotencyStore } from "./IdempotencyStore.js";
import { encodeOutput, type CallOutcome, type CallPayload, type InterruptData, type SendWrite } from "./wireFormat.js";

/**
 * A runnable may carry, under this symbol, a function giving the part of its input that names the
 * call (what its idempotency record is bound to), when the rest may differ between two asks of
 * the same call — e.g. a negotiation question re-asked with a fresh deadline. Default: the whole input.
 */
export const IDEMPOTENCY_INPUT = Symbol.for("langgraph-fabric.idempotencyInput");

/** What a {@link NodeWorker} needs. */
export interface NodeWorkerOptions {
  /** The node's name. */
  node: string;
  /** The node's runnable (`builder.nodes[node].runnable`). */
  runnable: Runnable;
  replicaId: string;
  serde: FabricSerializer;
  idempotency: IdempotencyStore;
  logger: Logger;
  /**
   * Checkpointer handed to the node in `__pregel_checkpointer` when the caller's graph has one
   * (`interrupt()` checks that one exists; a subgraph invoked inside the node uses it). Default: a
   * process-local `MemorySaver`. A compiled subgraph node needs the store the caller's graph uses
   * (its checkpoints are the caller's thread's): without one, its calls fail with a `ConfigurationError`.
   */
  checkpointer?: BaseCheckpointSaver;
  /** The compiled graph `runnable` is, when the node is a subgraph or prebuilt agent (run nested: see `SubgraphRunner`). */
  subgraph?: CompiledGraphLike;
  /** Called after each call with its duration and whether it failed (for load figures). */
  onCallDone?: (durationMs: number, failed: boolean) => void;
}

/** Serves one node: `handler` is given to `Transport.serve`. */
export class NodeWorker {
  private readonly checkpointer: BaseCheckpointSaver;

  constructor(private readonly options: NodeWorkerOptions) {
    this.checkpointer = options.checkpointer ?? new MemorySaver();
  }

  /** The transport-facing request handler. */
  readonly handler: RequestHandler = async (request, context) => {
    const started = performance.now();
    let failed = false;
    try {
      const result = await this.handle(request, context);
      failed = result.status === "error";
      return result;
    } finally {
      this.options.onCallDone?.(performance.now() - started, failed);
    }
  };

  private async handle(request: IncomingRequest, context: RequestContext): Promise<HandlerResult> {
    const { serde, idempotency, replicaId } = this.options;
    // Parsed before the claim: the claim is bound to a hash of the input, and a payload that may
    // not be parsed (a refused class) must claim nothing.
    let payload: CallPayload;
    let binding: CallBinding;
    try {
      payload = (await serde.loadsTyped(request.header.payloadType, request.payload)) as CallPayload;
      const identity = (this.options.runnable as { [IDEMPOTENCY_INPUT]?: (input: unknown) => unknown })[IDEMPOTENCY_INPUT];
      binding = { node: this.options.node, input: await inputHash(serde, identity ? identity(payload.input) : payload.input) };
    } catch (e) {
      return this.refusal(e, isRevivalRefusedError(e) ? "revival_refused" : undefined);
    }
    let begin: BeginResult;
    try {
      begin = await idempotency.begin(request.header.idempotencyKey, replicaId, binding, context.signal);
    } catch (e) {
      if (isIdempotencyConflictError(e)) return this.refusal(e, "idempotency_conflict");
      throw e;
    }
    if (begin.kind === "done") return { status: "ok", payloadType: begin.payloadType, payload: begin.payload };
    let outcome: CallOutcome;
    try {
      outcome = await this.run(payload, request, context);
    } catch (e) {
      outcome = { kind: "error", error: encodeError(e), writes: [], consumedNullResume: false };
    }
    let encoded: [string, Uint8Array];
    try {
      encoded = await serde.dumpsTyped(outcome);
    } catch (e) {
      // The node returned something that cannot travel: say so instead of losing the call.
      outcome = { kind: "error", error: encodeError(e), writes: [], consumedNullResume: false };
      encoded = await serde.dumpsTyped(outcome);
    }
    const [payloadType, bytes] = encoded;
    if (outcome.kind === "value") await begin.lease.complete(payloadType, bytes);
    else await begin.lease.abandon();
    return { status: outcome.kind === "error" ? "error" : "ok", payloadType, payload: bytes };
  }

  /** The error reply to a request that is not run; with `reason`, the transport also dead-letters the request. */
  private async refusal(error: unknown, reason: string | undefined): Promise<HandlerResult> {
    const outcome: CallOutcome = { kind: "error", error: encodeError(error), writes: [], consumedNullResume: false };
    const [payloadType, payload] = await this.options.serde.dumpsTyped(outcome);
    return {
      status: "error",
      payloadType,
      payload,
      ...(reason === undefined ? {} : { refused: { reason, message: (error as Error).message } }),
    };
  }

  private async run(payload: CallPayload, request: IncomingRequest, context: RequestContext): Promise<CallOutcome> {
    const writes: SendWrite[] = [];
    let consumedNullResume = false;
    const scratchpad: Record<string, unknown> = {
      callCounter: 0,
      interruptCounter: -1,
      resume: payload.resume,
      subgraphCounter: 0,
      currentTaskInput: payload.input,
      consumeNullResume: () => {
        if (scratchpad.nullResume === undefined) return undefined;
        const value = scratchpad.nullResume;
        delete scratchpad.nullResume;
        consumedNullResume = true;
        return value;
      },
    };
    if (payload.nullResume !== undefined) scratchpad.nullResume = payload.nullResume.value;

    // Stream events go out in order, and all of them before the reply.
    let events = Promise.resolve();
    const emit = (chunk: unknown) => {
      events = events
        .then(async () => {
          const [type, bytes] = await this.options.serde.dumpsTyped(chunk);
          await context.emit(type, bytes);
        })
        .catch((e: unknown) => this.options.logger.warn("a stream event could not be sent", { node: this.options.node, error: e }));
    };
    const { subgraph } = this.options;
    if (subgraph !== undefined && payload.hasCheckpointer && this.options.checkpointer === undefined) {
      const error = new ConfigurationError(`node "${this.options.node}" is a compiled subgraph served without a checkpointer`, {
        hint: "serve it with the checkpointer the caller's graph compiles with: fabric.serve(builder, { nodes, checkpointer })",
      });
      return { kind: "error", error: encodeError(error), writes, consumedNullResume };
    }
    // A subgraph's stream (custom events included) comes from its own run: see SubgraphRunner.
    const writer = payload.streamCustom && subgraph === undefined ? emit : undefined;

    // Checked again here: the header's schema bounds the strings but not their W3C format.
    const trace = checkedTraceContext(request.header.trace);
    const traceKeys = trace
      ? { [TRACEPARENT_CONFIG]: trace.traceparent, ...(trace.tracestate !== undefined ? { [TRACESTATE_CONFIG]: trace.tracestate } : {}) }
      : undefined;
    const metadata = traceKeys ? { ...payload.metadata, ...traceKeys } : payload.metadata;
    const config = {
      configurable: {
        ...payload.configurable,
        ...traceKeys,
        [IDEMPOTENCY_KEY_CONFIG]: request.header.idempotencyKey,
        __pregel_scratchpad: scratchpad,
        __pregel_send: (w: SendWrite[]) => writes.push(...w),
        ...(payload.hasCheckpointer ? { __pregel_checkpointer: this.checkpointer } : {}),
      },
      signal: context.signal,
      ...(writer ? { writer } : {}),
      ...(payload.executionInfo ? { executionInfo: payload.executionInfo } : {}),
      ...(metadata ? { metadata } : {}),
      ...(payload.tags ? { tags: payload.tags } : {}),
      ...(payload.context !== undefined ? { context: payload.context } : {}),
      ...(payload.runName ? { runName: payload.runName } : {}),
    };

    try {
      const value: unknown = subgraph
        ? await runSubgraph(subgraph, payload.input, config, payload.nested ?? {}, emit)
        : await this.options.runnable.invoke(payload.input, config);
      await events;
      return { kind: "value", value: encodeOutput(value), writes, consumedNullResume };
    } catch (e) {
      await events;
      if (isGraphInterrupt(e)) {
        return { kind: "interrupt", interrupts: (e as { interrupts: InterruptData[] }).interrupts, writes, consumedNullResume };
      }
      return { kind: "error", error: encodeError(e), writes, consumedNullResume };
    }
  }
}

/** Hex SHA-256 of the call's input as the serializer writes it (what an idempotency record is bound to). */
async function inputHash(serde: FabricSerializer, input: unknown): Promise<string> {
  const [, bytes] = await serde.dumpsTyped(input);
  return createHash("sha256").update(bytes).digest("hex");
}
