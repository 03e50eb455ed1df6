/**
 * Key layout of the Redis checkpointer. A thread owns exactly five keys, all carrying the thread id
 * as their Cluster hash tag, so every script on a thread runs in one slot and a thread expires as a
 * whole. Namespaces, checkpoint ids, channels and versions live in hash fields and sorted-set
 * members, not in key names, so the number of keys does not grow with a thread's history.
 *
 * @module
 */

/** The five keys of one thread, in the order the Lua scripts expect them. */
export type ThreadKeys = [checkpoints: string, blobs: string, writes: string, writeIndex: string, ids: string];

/** Escapes the characters that would break the key grammar or move the Cluster hash tag. */
export function escapeKeyPart(part: string): string {
  return part.replace(/[%:{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The five keys of `threadId` under `prefix`. */
export function threadKeys(prefix: string, threadId: string): ThreadKeys {
  const base = `${prefix}:{${escapeKeyPart(threadId)}}`;
  return [`${base}:cp`, `${base}:blobs`, `${base}:writes`, `${base}:windex`, `${base}:ids`];
}

/** The set listing every thread id, used only by `list()` without a thread id. */
export function threadIndexKey(prefix: string): string {
  return `${prefix}:threads`;
}

/** NUL joins the parts of a field name; no namespace, channel, task id or version contains it. */
export const SEP = "\0";
/** Byte 30 (record separator) joins field names stored inside one value. */
export const LIST_SEP = "\x1e";

/** Field of a checkpoint within its thread, and its member in the id sorted set. */
export const checkpointField = (ns: string, id: string): string => `${ns}${SEP}${id}`;
/** Field of one channel version's blob. */
export const blobField = (ns: string, channel: string, version: string | number): string => `${ns}${SEP}${channel}${SEP}${String(version)}`;
/** Field of one pending write. */
export const writeField = (ns: string, id: string, taskId: string, idx: number): string => `${ns}${SEP}${id}${SEP}${taskId}${SEP}${idx}`;
