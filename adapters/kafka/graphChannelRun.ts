/**
 * One input message of a `GraphChannel`, from its thread's latest checkpoint to its final output
 * record: decide (run, resume, republish or skip), stream the run, publish its events in order,
 * and publish the result or the error last.
 *
 * @module
 */
import type { StateSnapshot, StreamMode } from "@langchain/langgraph";
import type { IHeaders } from "kafkajs";
import { PayloadTooLargeError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";
import type { FabricSerializer } from "../../src/transport/payloadCodec.js";
import { CHANNEL_INPUT_METADATA_KEY, formatInputStamp, planRun } from "./channelInputStamp.js";
import type { ChannelGraph, ChannelRunConfig } from "./graphChannelOptions.js";
import {
  encodeGraphChannelOutput,
  toGraphInput,
  type GraphChannelEvent,
  type GraphChannelInput,
  type GraphChannelOutput,
  type GraphChannelResultPath,
} from "./graphChannelMessages.js";

export { GraphRunTimeoutError } from "../../src/errors.js";

/** One accepted input message. */
export interface ChannelJob {
  readonly threadId: string;
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset, decimal. */
  readonly offset: string;
  readonly message: GraphChannelInput;
  readonly headers: IHeaders | undefined;
}

/** What a run needs from its channel. */
export interface ChannelRunContext {
  /** The graph whose checkpointer stamps (see `withInputStamps`). */
  readonly graph: ChannelGraph;
  readonly serde: FabricSerializer;
  readonly streamMode: StreamMode[];
  readonly maxMessageBytes: number;
  readonly logger: Logger;
  /** Hands an encoded record to the producer now; resolves when the broker has it. */
  send(job: ChannelJob, value: Buffer, type: GraphChannelOutput["type"]): Promise<void>;
}

/** How a job ended. */
export type ChannelRunOutcome =
  /** A result was produced (after a run, a resume or for a finished run); commit. */
  | { kind: "done"; path: GraphChannelResultPath; events: number; lostEvents: number }
  /** The message had finished before (a later one ran on the thread); nothing produced; commit. */
  | { kind: "skipped" }
  /** The run failed and an error record was produced; commit. */
  | { kind: "failed"; error: { name: string; message: string }; lostEvents: number }
  /** The value could not be revived into graph input; dead-letter it. */
  | { kind: "rejected"; reason: "malformed"; error: string }
  /** Stopped by the channel (stop, partition revoked): nothing produced; leave uncommitted. */
  | { kind: "aborted" }
  /** The final record could not be produced; leave uncommitted (redelivered later). */
  | { kind: "unpublished"; error: unknown };

/**
 * Runs one job. `abandoned()` tells whether the channel aborted `signal` to give the message back
 * (stop, revoke) rather than to fail it (run timeout).
 */
export async function runChannelJob(
  ctx: ChannelRunContext,
  job: ChannelJob,
  signal: AbortSignal,
  abandoned: () => boolean,
): Promise<ChannelRunOutcome> {
  let input: unknown;
  try {
    input = await toGraphInput(job.message, ctx.serde);
  } catch (error) {
    return { kind: "rejected", reason: "malformed", error: errorInfo(error).message };
  }
  const base = { threadId: job.threadId, inputPartition: job.partition, inputOffset: job.offset };
  const config = {
    configurable: { thread_id: job.threadId },
    metadata: { [CHANNEL_INPUT_METADATA_KEY]: formatInputStamp(job.topic, job.partition, job.offset) },
  };
  const events = new EventPublisher(ctx, job);
  let final: GraphChannelOutput;
  let path: GraphChannelResultPath = "run";
  try {
    const before = await ctx.graph.getState(config);
    const plan = planRun({ topic: job.topic, partition: job.partition, offset: BigInt(job.offset) }, before);
    if (plan.kind === "skip") return { kind: "skipped" };
    let after: StateSnapshot = before;
    if (plan.kind === "republish") path = "republish";
    else {
      path = plan.kind;
      const runConfig: ChannelRunConfig = { ...config, streamMode: ctx.streamMode, signal };
      // A resumed attempt gets no input: LangGraph continues from the last checkpoint and skips the
      // tasks whose writes were saved, instead of starting over with the input appended again.
      const stream = await ctx.graph.stream(plan.kind === "resume" ? null : input, runConfig);
      for await (const chunk of stream) {
        const [mode, payload] = chunk as [StreamMode, unknown];
        events.emit({ type: "event", ...base, seq: events.count, mode, chunk: payload });
      }
      after = await ctx.graph.getState(config);
    }
    final = {
      type: "result",
      ...base,
      seq: events.count,
      path,
      values: after.values as unknown,
      interrupts: after.tasks.flatMap((t) => t.interrupts.map((i) => ({ id: i.id, value: i.value as unknown }))),
      next: [...after.next],
    };
  } catch (error) {
    if (abandoned()) {
      await events.settled();
      return { kind: "aborted" };
    }
    final = { type: "error", ...base, seq: events.count, error: errorInfo(signal.aborted ? signal.reason : error) };
  }
  const lostEvents = await events.settled();
  try {
    await ctx.send(job, await encodeFinal(ctx, final), final.type);
  } catch (error) {
    return { kind: "unpublished", error };
  }
  if (final.type === "error") return { kind: "failed", error: final.error, lostEvents };
  return { kind: "done", path, events: events.count, lostEvents };
}

/**
 * Publishes a run's events in stream order without waiting for the broker between them: each is
 * encoded and handed to the producer in turn (the producer keeps per-partition order), and the
 * acknowledgements are collected for the end of the run.
 */
class EventPublisher {
  count = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly acks: Promise<void>[] = [];

  constructor(
    private readonly ctx: ChannelRunContext,
    private readonly job: ChannelJob,
  ) {}

  emit(record: GraphChannelEvent): void {
    this.count++;
    this.chain = this.chain
      .then(async () => {
        const value = await encodeEvent(this.ctx, record);
        this.acks.push(this.ctx.send(this.job, value, "event"));
      })
      .catch((error: unknown) => {
        this.acks.push(Promise.reject(error instanceof Error ? error : new Error(String(error))));
      });
  }

  /** Waits for every event's acknowledgement; returns how many were lost (logged). */
  async settled(): Promise<number> {
    await this.chain;
    const results = await Promise.allSettled(this.acks);
    const lost = results.filter((r) => r.status === "rejected");
    if (lost.length > 0)
      this.ctx.logger.warn("some events of a run could not be produced", {
        threadId: this.job.threadId,
        offset: this.job.offset,
        lost: lost.length,
        error: (lost[0] as PromiseRejectedResult).reason as unknown,
      });
    return lost.length;
  }
}

/** An event, or the same event with `chunk: null` and why when the chunk cannot go out. */
async function encodeEvent(ctx: ChannelRunContext, record: GraphChannelEvent): Promise<Buffer> {
  try {
    return checkSize(ctx, "an event", await encodeGraphChannelOutput(record, ctx.serde));
  } catch (error) {
    return encodeGraphChannelOutput({ ...record, chunk: null, error: errorInfo(error) }, ctx.serde);
  }
}

/** The final record, or an error record when the result is too large or not serializable. */
async function encodeFinal(ctx: ChannelRunContext, record: GraphChannelOutput): Promise<Buffer> {
  try {
    return checkSize(ctx, `the ${record.type} record`, await encodeGraphChannelOutput(record, ctx.serde));
  } catch (error) {
    const { threadId, inputPartition, inputOffset, seq } = record;
    return encodeGraphChannelOutput({ type: "error", threadId, inputPartition, inputOffset, seq, error: errorInfo(error) }, ctx.serde);
  }
}

function checkSize(ctx: ChannelRunContext, what: string, value: Buffer): Buffer {
  if (value.length > ctx.maxMessageBytes) throw new PayloadTooLargeError(what, value.length, ctx.maxMessageBytes);
  return value;
}

/** The name and message of an error, for output records. */
export function errorInfo(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  if (typeof error === "object" && error !== null && "message" in error) {
    const { name, message } = error as { name?: unknown; message: unknown };
    return { name: typeof name === "string" ? name : "Error", message: typeof message === "string" ? message : JSON.stringify(message) };
  }
  return { name: "Error", message: String(error) };
}
