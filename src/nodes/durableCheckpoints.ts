/**
 * Dispatch after durability: a remote node call leaves the caller only once the checkpoint its
 * task was prepared from is stored.
 *
 * Why: a node call's idempotency key is built from LangGraph's task id, and a task id derives from
 * the id of the checkpoint the step starts from. With LangGraph's default `durability: "async"`
 * the step's tasks start while that checkpoint's `put` is still in flight; if the graph's process
 * dies before the put lands, the resumed run re-runs the step from an older checkpoint, gets a new
 * checkpoint id, new task ids, new keys — and the node's effect runs a second time under a second
 * key. Waiting for the put (already in flight, so usually one round trip) before sending makes the
 * resumed run reproduce the same checkpoint, hence the same task id and the same key. Time travel
 * and `updateState` forks still get new keys, because LangGraph writes a new checkpoint for them,
 * exactly as when the nodes run locally.
 *
 * `fabric.distribute(builder, …).compile({ checkpointer })` wraps the checkpointer with
 * {@link trackCheckpointDurability} by itself; a graph built by hand with `remoteNode` should pass
 * its checkpointer through it. With `durability: "exit"` LangGraph stores nothing until the run
 * ends, so there is nothing to wait for and a crashed run restarts with new keys (see
 * docs/operations.md).
 *
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

/** The property under which a tracked checkpointer exposes its {@link CheckpointDurability}. */
export const CHECKPOINT_DURABILITY = Symbol.for("langgraph-fabric.checkpointDurability");

/** Where a tracked checkpointer's writes stand. */
export interface CheckpointDurability {
  /**
   * Resolves once checkpoint `checkpointId` of `threadId` is stored, or once it is clear that no
   * write of it is coming (nothing of the thread is being written: the checkpoint was loaded, or
   * the run does not write checkpoints as it goes). Rejects with the write's error when the put
   * of that checkpoint failed.
   */
  whenStored(threadId: string, checkpointId: string): Promise<void>;
}

/** How long a failed put is remembered for calls about to wait on it, in ms. */
const FAILED_PUT_MEMORY_MS = 60_000;

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks the puts and writes in flight of one checkpointer, by checkpoint id and by thread. */
class DurabilityTracker implements CheckpointDurability {
  private readonly puts = new Map<string, Promise<unknown>>();
  private readonly byThread = new Map<string, Set<Promise<unknown>>>();
  /**
   * Threads whose last put failed, with the error. LangGraph chains a run's puts, so after a
   * failure none of that run's later checkpoints is written: their calls must fail, not send. A
   * run starts by reading its thread (`getTuple`), which clears the mark for the next run.
   */
  private readonly failed = new Map<string, unknown>();

  /** A run is starting on `threadId` (it reads its latest checkpoint). */
  runStarting(threadId: string): void {
    this.failed.delete(threadId);
  }

  track<T>(threadId: string, checkpointId: string | undefined, work: Promise<T>): Promise<T> {
    let pending = this.byThread.get(threadId);
    if (pending === undefined) this.byThread.set(threadId, (pending = new Set()));
    pending.add(work);
    if (checkpointId !== undefined) this.puts.set(checkpointId, work);
    const settle = (failed: boolean, error?: unknown) => {
      pending.delete(work);
      if (checkpointId !== undefined) {
        if (failed) this.failed.set(threadId, error);
        else this.failed.delete(threadId);
      }
      if (pending.size === 0 && this.byThread.get(threadId) === pending) this.byThread.delete(threadId);
      if (checkpointId === undefined || this.puts.get(checkpointId) !== work) return;
      // A failed put stays known a while, so a call waiting for it fails rather than sends.
      if (!failed) this.puts.delete(checkpointId);
      else setTimeout(() => this.puts.get(checkpointId) === work && this.puts.delete(checkpointId), FAILED_PUT_MEMORY_MS).unref();
    };
    work.then(
      () => settle(false),
      (e: unknown) => settle(true, e),
    );
    return work;
  }

  async whenStored(threadId: string, checkpointId: string): Promise<void> {
    // LangGraph chains a loop's puts (each after the previous one and after the step's delta
    // writes), so the put of this checkpoint may not have been called yet: while anything of the
    // thread is in flight, wait for it and look again.
    for (let idle = 0; idle < 2;) {
      const put = this.puts.get(checkpointId);
      if (put !== undefined) {
        await put;
        return;
      }
      const pending = this.byThread.get(threadId);
      if (pending !== undefined && pending.size > 0) {
        idle = 0;
        await Promise.allSettled([...pending]);
      } else idle += 1;
      await yieldToIo();
    }
    if (this.failed.has(threadId)) throw this.failed.get(threadId);
  }
}

function threadOf(config: RunnableConfig): string {
  const t = config.configurable?.thread_id as unknown;
  return typeof t === "string" || typeof t === "number" ? String(t) : "";
}

/**
 * A view of `saver` that records its `put`s and `putWrites` in flight, so remote node calls can
 * wait until their task's checkpoint is stored. Every other method goes to `saver` unchanged and
 * `instanceof` still holds; wrapping twice returns the first wrapper.
 */
export function trackCheckpointDurability<S extends BaseCheckpointSaver>(saver: S): S {
  if (checkpointDurabilityOf(saver) !== undefined) return saver;
  const tracker = new DurabilityTracker();
  return new Proxy(saver, {
    get(target, property) {
      if (property === CHECKPOINT_DURABILITY) return tracker;
      if (property === "put") {
        const put: BaseCheckpointSaver["put"] = (config, checkpoint, metadata, newVersions) =>
          tracker.track(threadOf(config), checkpoint.id, target.put(config, checkpoint, metadata, newVersions));
        return put;
      }
      if (property === "getTuple") {
        const getTuple: BaseCheckpointSaver["getTuple"] = (config) => {
          tracker.runStarting(threadOf(config));
          return target.getTuple(config);
        };
        return getTuple;
      }
      if (property === "putWrites") {
        const putWrites = (...args: Parameters<BaseCheckpointSaver["putWrites"]>) =>
          tracker.track(threadOf(args[0]), undefined, target.putWrites(...args));
        return putWrites;
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The durability view of a checkpointer wrapped by {@link trackCheckpointDurability}; undefined otherwise. */
export function checkpointDurabilityOf(saver: unknown): CheckpointDurability | undefined {
  if (typeof saver !== "object" || saver === null) return undefined;
  const view = (saver as Record<symbol, unknown>)[CHECKPOINT_DURABILITY];
  return view instanceof DurabilityTracker ? view : undefined;
}

/**
 * Resolves once the checkpoint the task of `config` was prepared from is stored (immediately when
 * the graph's checkpointer is not tracked or the task has no checkpoint). Remote node calls do
 * this before sending; a node that runs locally can do it before an external effect keyed with
 * `getIdempotencyKey(config)`, for the same guarantee.
 */
export async function checkpointStored(config: RunnableConfig): Promise<void> {
  const durability = checkpointDurabilityOf(config.configurable?.__pregel_checkpointer);
  const info = (config as { executionInfo?: { checkpointId?: unknown } }).executionInfo;
  const checkpointId = info?.checkpointId;
  if (durability === undefined || typeof checkpointId !== "string" || checkpointId === "") return;
  await durability.whenStored(threadOf(config), checkpointId);
}
