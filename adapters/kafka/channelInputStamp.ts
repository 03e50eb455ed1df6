/**
 * Stamps every checkpoint a channel run writes with the input message that caused it, and decides
 * from that stamp what a (re)delivered message must do.
 *
 * Why a wrapper: LangGraph.js 1.7 does not copy the run config's `metadata` into checkpoint
 * metadata (the loop stores only `source`, `step` and `parents`; Python's savers merge it, the JS
 * savers do not — checked against 1.7.3 with MemorySaver and RedisSaver). The checkpointer's
 * `put` does receive the run config, metadata included, so a checkpointer wrapped here adds
 * `metadata.channel_input` itself. The stamp then lives in the same atomic write as the
 * checkpoint, whatever the checkpointer.
 *
 * What this gives a redelivered message (at-least-once delivery; a runner that dies leaves its
 * offset uncommitted, and the partition's next owner gets the message again):
 * - no attempt stored a checkpoint → the input is run (nothing of it happened in the graph);
 * - an attempt stored checkpoints and stopped mid-run → `stream(null)` continues from the last
 *   checkpoint: saved tasks are not run again, the task that was running is (with the same
 *   task id, so its idempotency key holds), and the input is not appended a second time;
 * - an attempt finished or stopped at `interrupt()` → its result is published again, nothing runs;
 * - a later message of the same partition already ran on the thread → committed, nothing runs.
 * Events of a crashed attempt are not retracted: consumers may see a run's early events twice.
 *
 * @module
 */
import type { StateSnapshot } from "@langchain/langgraph";
import type { BaseCheckpointSaver, CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import type { ChannelGraph } from "./graphChannelOptions.js";

/** Checkpoint-metadata key (and run-config metadata key) of the stamp: `"<topic>:<partition>:<offset>"`. */
export const CHANNEL_INPUT_METADATA_KEY = "channel_input";

/** An input message's position. */
export interface InputPosition {
  topic: string;
  partition: number;
  offset: bigint;
}

/** The stamp of an input message. */
export function formatInputStamp(topic: string, partition: number, offset: string | bigint): string {
  return `${topic}:${partition}:${String(offset)}`;
}

/** Parses a stamp; undefined when it is not one. */
export function parseInputStamp(stamp: unknown): InputPosition | undefined {
  if (typeof stamp !== "string") return undefined;
  const m = /^(.+):(\d+):(\d+)$/.exec(stamp);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { topic: m[1], partition: Number(m[2]), offset: BigInt(m[3]) };
}

/** Wraps a checkpointer so `put` copies the run's `metadata.channel_input` into the checkpoint metadata. */
export function stampingCheckpointer(saver: BaseCheckpointSaver): BaseCheckpointSaver {
  // A Proxy rather than a subclass: every other method (present or added in later LangGraph
  // versions) goes to the wrapped saver unchanged, and `instanceof` still holds.
  return new Proxy(saver, {
    get(target, property) {
      if (property === "put") {
        const put: BaseCheckpointSaver["put"] = (config, checkpoint, metadata, newVersions) => {
          const stamp: unknown = config.metadata?.[CHANNEL_INPUT_METADATA_KEY];
          // CheckpointMetadata has no index signature, but checkpointers store whatever keys it holds.
          const stamped =
            typeof stamp === "string" ? ({ ...metadata, [CHANNEL_INPUT_METADATA_KEY]: stamp } as CheckpointMetadata) : metadata;
          return target.put(config, checkpoint, stamped, newVersions);
        };
        return put;
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * A copy of `graph` (through its public `withConfig`) whose checkpointer stamps; the caller's
 * graph object is left untouched, and both read and write the same checkpoints.
 */
export function withInputStamps(graph: ChannelGraph): ChannelGraph {
  const saver = graph.checkpointer;
  if (typeof saver !== "object") throw new RangeError("graph must be compiled with a checkpointer");
  const copy = graph.withConfig({});
  copy.checkpointer = stampingCheckpointer(saver);
  return copy;
}

/** What to do with an input message, given its thread's latest checkpoint. */
export type RunPlan =
  /** Run the input: no attempt of this message has saved a checkpoint. */
  | { kind: "run" }
  /** An attempt saved checkpoints and stopped mid-run (it crashed): continue it with `stream(null)`. */
  | { kind: "resume" }
  /** An attempt finished (or stopped at an interrupt): publish the thread's state again, run nothing. */
  | { kind: "republish" }
  /** A later message of this partition already ran on the thread, so this one finished earlier: commit only. */
  | { kind: "skip" };

/**
 * Decides from the latest checkpoint's stamp. A thread's messages run one after another in offset
 * order, so a stamp from the same topic-partition with a higher offset means this message
 * finished before that one started; an equal offset means an attempt of this very message got
 * at least one checkpoint stored. Stamps of another topic or partition say nothing about it.
 */
export function planRun(position: InputPosition, snapshot: Pick<StateSnapshot, "metadata" | "next" | "tasks">): RunPlan {
  const stamp = parseInputStamp((snapshot.metadata as Record<string, unknown> | undefined)?.[CHANNEL_INPUT_METADATA_KEY]);
  if (stamp?.topic !== position.topic || stamp.partition !== position.partition || stamp.offset < position.offset) return { kind: "run" };
  if (stamp.offset > position.offset) return { kind: "skip" };
  const interrupted = snapshot.tasks.some((t) => t.interrupts.length > 0);
  return snapshot.next.length === 0 || interrupted ? { kind: "republish" } : { kind: "resume" };
}
