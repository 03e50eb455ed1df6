/**
 * Idempotency keys of node calls. A node call's key is (thread_id, checkpoint_ns, task id):
 * LangGraph keeps the task id across retries and resumes of one task and gives a new one when a
 * run replays from an older checkpoint, so the key names "this execution of this node in this
 * run" exactly.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";

/** The configurable key under which a remote node receives its idempotency key. */
export const IDEMPOTENCY_KEY_CONFIG = "idempotency_key";

/** The LangGraph task id of a node call: from `executionInfo`, else the end of `checkpoint_ns` (`node:<taskId>`). */
export function taskIdOf(config: RunnableConfig): string {
  const info = (config as { executionInfo?: { taskId?: string } }).executionInfo;
  if (info?.taskId) return info.taskId;
  const fromConfig = config.configurable?.__pregel_task_id as unknown;
  if (typeof fromConfig === "string" && fromConfig) return fromConfig;
  const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? "";
  const last = ns.split("|").pop() ?? "";
  const colon = last.lastIndexOf(":");
  return colon >= 0 ? last.slice(colon + 1) : "";
}

/** Derives the key from its parts (hex SHA-256, so it has a fixed length whatever the thread id). */
export function idempotencyKeyOf(threadId: string | null | undefined, checkpointNs: string, taskId: string): string {
  return createHash("sha256")
    .update(`${threadId ?? ""}\u0000${checkpointNs}\u0000${taskId}`)
    .digest("hex");
}

/**
 * The idempotency key of the node call `config` belongs to. Inside a node, use it to make external
 * effects idempotent (e.g. `SET effect:<key> NX` before charging a card): a call whose replica died
 * mid-run is run again on another replica with the same key. Works the same when the node runs
 * locally, so a node written this way behaves identically distributed or not.
 */
export function getIdempotencyKey(config: RunnableConfig): string {
  const given = config.configurable?.[IDEMPOTENCY_KEY_CONFIG] as unknown;
  if (typeof given === "string" && given) return given;
  const threadId = config.configurable?.thread_id as unknown;
  return idempotencyKeyOf(
    typeof threadId === "string" || typeof threadId === "number" ? String(threadId) : null,
    (config.configurable?.checkpoint_ns as string | undefined) ?? "",
    taskIdOf(config),
  );
}
