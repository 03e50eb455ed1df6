import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  getCheckpointId,
  maxChannelVersion,
  writesSortKey,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Cluster } from "ioredis";
import { ConfigurationError, MissingThreadIdError, StateStoreError } from "../../src/errors.js";
import { createConsoleLogger, type Logger } from "../../src/observability/logger.js";
import { FastJsonPlusSerializer } from "../../src/serde/FastJsonPlusSerializer.js";
import { createRedisClient, validateKeyPrefix, watchConnection, type RedisClient, type RedisConnection } from "./createRedisClient.js";
import { redisConnectionFromEnv } from "./redisConnectionFromEnv.js";
import { LIST_SEP, SEP, blobField, checkpointField, threadIndexKey, threadKeys, writeField, type ThreadKeys } from "./checkpointKeys.js";
import { defineCheckpointScripts, type CheckpointScripts } from "./defineCheckpointScripts.js";
import { redisAddress, redisSecurityError, redisSecurityFromEnv, type RedisSecurityOptions } from "./redisSecurity.js";
import { pruneThreadIndex } from "./lua/checkpointScripts.js";

/** Options of {@link RedisSaver}; `tls`, `username` and `password` apply to a client the saver creates. */
export interface RedisSaverOptions extends RedisSecurityOptions {
  /** Prefix of every key. Must not contain `{` or `}`. Default `"lgf:cp"`. */
  keyPrefix?: string;
  /**
   * Time to live of a thread, in milliseconds, counted from its last write (and its last read when
   * {@link refreshOnRead} is set). A thread's keys expire together. Default: none (kept forever).
   */
  ttlMs?: number;
  /** Whether reading a thread pushes its expiry back by {@link ttlMs}. Default `true`. */
  refreshOnRead?: boolean;
  /**
   * Serializer for checkpoints, metadata and writes. Default: {@link FastJsonPlusSerializer},
   * LangGraph's `JsonPlusSerializer` format with a fast path for plain JSON data.
   */
  serde?: SerializerProtocol;
  /** Source of randomness for channel versions, in [0, 1). Default `Math.random`; inject for tests. */
  random?: () => number;
  /** Where connection problems are logged. Default: stderr at `warn` (see `FABRIC_LOG_LEVEL`). */
  logger?: Logger;
}

const DEFAULTS = {
  keyPrefix: "lgf:cp",
  ttlMs: 0, // ms; 0 = no expiry
  refreshOnRead: true,
  random: Math.random,
};

/** A checkpoint as read back by the `getCheckpoint` script. */
type RawCheckpoint = [
  id: Buffer,
  checkpoint: Buffer,
  metadata: Buffer,
  parent: Buffer,
  blobFields: Buffer,
  blobs: Buffer[],
  writeFields: Buffer,
  writes: Buffer[],
];

/** Blob of a channel that has a version but no value (it was cleared). */
const EMPTY_BLOB = `empty${SEP}`;

const END_WAIT_MS = 2000; // longest end() waits for the client's "end" event after QUIT
const THREAD_INDEX_CACHE_LIMIT = 10_000; // thread ids known to be in the thread index
// ms; longest a Cluster saver trusts its memory that a thread is indexed. Another process may
// delete the thread (and unindex it) meanwhile; re-adding once a minute bounds how long a thread
// written again afterwards stays out of the index.
const THREAD_INDEX_CACHE_MAX_MS = 60_000;

/** The prune script as an ioredis command (registered here: it is needed by `list()` only). */
interface PruneCommand {
  lgfPruneThreadIndex(...args: string[]): Promise<number>;
}

/**
 * A LangGraph checkpointer on plain Redis (no modules): standalone, Sentinel or Cluster.
 *
 * Layout: one blob per (thread, namespace, channel, version), as the Postgres saver does; every key
 * of a thread shares a hash tag, so a thread lives in one Cluster slot; every write is one Lua
 * script (one round trip); reads never use `KEYS` or `SCAN`.
 *
 * ```ts
 * const checkpointer = await RedisSaver.fromUrl("redis://127.0.0.1:6379");
 * const graph = builder.compile({ checkpointer });
 * ```
 */
export class RedisSaver extends BaseCheckpointSaver {
  /** The ioredis client in use. */
  readonly client: RedisClient;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly refreshOnRead: boolean;
  private readonly scripts: CheckpointScripts;
  /** Cluster only: thread id -> time (performance.now(), ms) until which it is known to be indexed. */
  private readonly indexedThreads = new Map<string, number>();
  private readonly random: () => number;
  private readonly isCluster: boolean;

  /**
   * @param connection a URL, an ioredis client (left open by {@link end}), or Sentinel/Cluster options.
   * @param options see {@link RedisSaverOptions}.
   * @throws RangeError when an option is out of range.
   */
  constructor(connection: RedisConnection, options: RedisSaverOptions = {}) {
    super(options.serde ?? new FastJsonPlusSerializer());
    const merged = { ...DEFAULTS, ...stripUndefined(options) };
    this.prefix = validateKeyPrefix("keyPrefix", merged.keyPrefix);
    if (!Number.isInteger(merged.ttlMs) || merged.ttlMs < 0) {
      throw new RangeError(`ttlMs must be a non-negative integer of milliseconds (got ${String(merged.ttlMs)})`);
    }
    this.ttlMs = merged.ttlMs;
    this.refreshOnRead = merged.refreshOnRead;
    this.random = merged.random;
    // LangGraph before 1.7 calls getNextVersion unbound (subgraphs pass it around as a function).
    this.getNextVersion = this.getNextVersion.bind(this);
    const { client, owned } = createRedisClient(connection, options);
    this.client = client;
    this.owned = owned;
    this.isCluster = client instanceof Cluster;
    if (owned) watchConnection(client, merged.logger ?? createConsoleLogger({ name: "RedisSaver" }), "RedisSaver");
    this.scripts = defineCheckpointScripts(client);
    if (!("lgfPruneThreadIndex" in client)) client.defineCommand("lgfPruneThreadIndex", { numberOfKeys: 6, lua: pruneThreadIndex });
  }

  /**
   * Creates a saver for a Redis URL (`rediss://user:password@host:port` for TLS and an ACL user;
   * `options.tls` for a private CA) and checks that Redis answers.
   *
   * @throws ConnectionSecurityError when Redis refuses the credentials or its certificate is not trusted.
   */
  static async fromUrl(url: string, options?: RedisSaverOptions): Promise<RedisSaver> {
    const saver = new RedisSaver(url, options);
    try {
      await saver.setup();
    } catch (e) {
      saver.client.disconnect(); // it would keep reconnecting for nobody
      throw e;
    }
    return saver;
  }

  /**
   * Creates a saver for the Redis named by the environment (`REDIS_URL`, or `REDIS_SENTINELS` with
   * `REDIS_SENTINEL_NAME`; see `redisConnectionFromEnv`), with the TLS and credential settings of
   * `REDIS_TLS_*`, `REDIS_USERNAME` and `REDIS_PASSWORD(_FILE)` (those in `options` win), and checks
   * that Redis answers.
   *
   * @throws ConfigurationError when neither is set, or a value is malformed.
   */
  static async fromEnv(options?: RedisSaverOptions, env: NodeJS.ProcessEnv = process.env): Promise<RedisSaver> {
    const redis = redisConnectionFromEnv(env);
    if (redis === undefined)
      throw new ConfigurationError("REDIS_URL is not set", {
        hint: "set REDIS_URL=redis://host:6379, or REDIS_SENTINELS and REDIS_SENTINEL_NAME (or pass a URL to RedisSaver.fromUrl)",
      });
    const saver = new RedisSaver(redis.connection, { ...redisSecurityFromEnv(env), ...options });
    await saver.setup();
    return saver;
  }

  /** Connects and checks that Redis answers. Needs no schema: keys are created on first write. */
  async setup(): Promise<void> {
    await this.run("setup", this.client.ping());
  }

  /**
   * Closes the connection if this saver created it, and resolves once its sockets are closed
   * (QUIT alone resolves earlier, on the reply: a Cluster client is then still disconnecting); a
   * client passed in is left open.
   */
  async end(): Promise<void> {
    const client = this.client;
    if (!this.owned || client.status === "end") return;
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => {
      client.once("end", resolve);
      timer = setTimeout(resolve, END_WAIT_MS).unref();
    });
    await client.quit().catch(() => client.disconnect());
    await ended;
    clearTimeout(timer);
  }

  /**
   * Next version of a channel: the next integer plus a random fraction. Blobs are stored once per
   * (channel, version), so two branches of one thread (a fork by `updateState` or a replay from an
   * old checkpoint) must never produce the same version with different values; LangGraph's own
   * integer versions would (Python's savers add a random suffix for the same reason). Versions
   * stay numbers, so they compare as numbers and keep the base class's type.
   */
  override getNextVersion(current: number | undefined): number {
    const stored: unknown = current; // may be a string when another saver wrote the thread
    const base = stored === undefined ? 0 : Math.floor(Number(stored));
    // The fraction stays below 1, so the version stays below base + 2 and ordering is kept.
    return base + 1 + Math.min(this.random(), 0.999_999) * 0.999_999;
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = threadIdOf(config);
    if (threadId === undefined) return undefined;
    const ns = namespaceOf(config);
    return this.readTuple(threadId, ns, getCheckpointId(config) || "");
  }

  override async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { before, filter } = options;
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const threadId = threadIdOf(config);
    const ns = config.configurable?.checkpoint_ns as string | undefined;
    const onlyId = getCheckpointId(config) || undefined;
    const beforeId = before?.configurable?.checkpoint_id as string | undefined;
    const threads = threadId !== undefined ? [threadId] : this.allThreads();
    for await (const thread of threads) {
      const members = await this.listMembers(thread, ns, beforeId);
      // Threads expire (ttlMs) without telling the index; an empty one found here may be gone.
      if (members.length === 0 && threadId === undefined) await this.pruneThread(thread);
      for (const member of members) {
        const sep = member.indexOf(SEP);
        const memberNs = member.slice(0, sep);
        const id = member.slice(sep + 1);
        if (onlyId !== undefined && id !== onlyId) continue;
        const tuple = await this.readTuple(thread, memberNs, id);
        if (tuple === undefined) continue;
        if (
          filter &&
          !Object.entries(filter).every(([key, value]) => (tuple.metadata as Record<string, unknown> | undefined)?.[key] === value)
        )
          continue;
        yield tuple;
        remaining -= 1;
        if (remaining <= 0) return;
      }
    }
  }

  override async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const threadId = requireThreadId(config, "put");
    const ns = namespaceOf(config);
    const parentId = (config.configurable?.checkpoint_id as string | undefined) ?? "";
    // Versioned channel values go to their own blobs; the stored checkpoint keeps everything else,
    // including the values of channels that have no version (e.g. `__pregel_tasks: []`): no blob
    // field names them, so they would be lost. LangGraph hands us a copy it does not reuse, so
    // nothing is copied here.
    const values = checkpoint.channel_values;
    const stored: Checkpoint = { ...checkpoint, channel_values: unversionedValues(values, checkpoint.channel_versions) };
    const args: (string | Buffer)[] = [];
    const fields: string[] = [];
    for (const [channel, version] of Object.entries(checkpoint.channel_versions)) fields.push(blobField(ns, channel, version));
    const encodedCheckpoint = await this.encode(stored);
    const encodedMetadata = await this.encode(metadata);
    for (const [channel, version] of Object.entries(newVersions)) {
      args.push(blobField(ns, channel, version), channel in values ? await this.encode(values[channel]) : EMPTY_BLOB);
    }
    const keys = threadKeys(this.prefix, threadId);
    const head = [
      String(this.ttlMs),
      checkpointField(ns, checkpoint.id),
      encodedCheckpoint,
      encodedMetadata,
      parentId,
      fields.join(LIST_SEP),
      threadId,
    ];
    if (this.isCluster) {
      // The thread index lives in another slot, so it is a second command; it comes after the write
      // so that a concurrent prune (which re-checks the keys after SREM) cannot drop this thread.
      const sentAt = performance.now();
      await this.run("put", this.scripts.lgfPutCheckpoint(...keys, ...head, ...args));
      await this.indexThread(threadId, sentAt);
    } else {
      await this.run("put", this.scripts.lgfPutCheckpointIndexed(...keys, threadIndexKey(this.prefix), ...head, ...args));
    }
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    const threadId = requireThreadId(config, "putWrites");
    const ns = namespaceOf(config);
    const checkpointId = config.configurable?.checkpoint_id as string | undefined;
    if (!checkpointId) {
      throw new StateStoreError("putWrites needs config.configurable.checkpoint_id", {
        hint: "pass the config returned by put() for the checkpoint these writes belong to",
      });
    }
    const args: (string | Buffer)[] = [];
    for (const [i, [channel, value]] of writes.entries()) {
      const idx = WRITES_IDX_MAP[channel] ?? i;
      const [type, data] = await this.dump(value);
      const record = withPrefix(`${channel}${SEP}${type}${SEP}${taskPath}${SEP}`, data);
      args.push(writeField(ns, checkpointId, taskId, idx), record, idx < 0 ? "1" : "0");
    }
    if (args.length === 0) return;
    await this.run(
      "putWrites",
      this.scripts.lgfPutWrites(...threadKeys(this.prefix, threadId), String(this.ttlMs), checkpointField(ns, checkpointId), ...args),
    );
  }

  override async deleteThread(threadId: string): Promise<void> {
    await this.run(
      "deleteThread",
      Promise.all([
        this.scripts.lgfDeleteThread(...threadKeys(this.prefix, threadId)),
        this.client.srem(threadIndexKey(this.prefix), threadId),
      ]),
    );
    this.indexedThreads.delete(threadId);
  }

  /** Reads one checkpoint tuple (`id` "" = newest of the namespace) in one round trip. */
  private async readTuple(threadId: string, ns: string, id: string): Promise<CheckpointTuple | undefined> {
    const refresh = this.ttlMs > 0 && this.refreshOnRead ? "1" : "0";
    const raw = (await this.run(
      "getTuple",
      this.scripts.lgfGetCheckpointBuffer(...threadKeys(this.prefix, threadId), String(this.ttlMs), refresh, ns, id),
    )) as RawCheckpoint | null;
    if (raw === null) return undefined;
    const [idBuf, cpBuf, mdBuf, parentBuf, blobFieldsBuf, blobs, writeFieldsBuf, writes] = raw;
    const checkpointId = idBuf.toString();
    const parentId = parentBuf.toString();
    const [checkpoint, metadata, pendingWrites] = await Promise.all([
      this.decode(cpBuf) as Promise<Checkpoint>,
      this.decode(mdBuf) as Promise<CheckpointMetadata>,
      this.decodeWrites(writeFieldsBuf.toString(), writes),
    ]);
    const blobFields = splitList(blobFieldsBuf.toString());
    // Unversioned values were kept inline (see put); versioned ones come from their blobs.
    const values: Record<string, unknown> = { ...checkpoint.channel_values };
    await Promise.all(
      blobFields.map(async (field, i) => {
        const blob = blobs[i];
        if (blob === undefined || blob.length === 0) return;
        const [type, bytes] = splitTyped(blob);
        if (type === "empty") return;
        values[field.split(SEP)[1] ?? ""] = await this.serde.loadsTyped(type, bytes);
      }),
    );
    checkpoint.channel_values = values;
    if (checkpoint.v < 4 && parentId !== "") await this.migratePendingSends(checkpoint, threadId, ns, parentId);
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpointId } },
      checkpoint,
      metadata,
      pendingWrites,
    };
    if (parentId !== "") tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: parentId } };
    return tuple;
  }

  /** Pending writes in `writesSortKey` order (task path, task id, index), as the 1.2 contract asks. */
  private async decodeWrites(fieldList: string, values: Buffer[]): Promise<CheckpointPendingWrite[]> {
    const fields = splitList(fieldList);
    const decoded = await Promise.all(
      fields.map(async (field, i) => {
        const parts = field.split(SEP);
        const taskId = parts[2] ?? "";
        const idx = Number(parts[3]);
        const record = values[i] ?? Buffer.alloc(0);
        const [channel, type, taskPath, bytes] = splitFields(record, 3);
        const value: unknown = await this.serde.loadsTyped(type, bytes);
        return { key: writesSortKey(taskPath, taskId, idx), write: [taskId, channel, value] as CheckpointPendingWrite };
      }),
    );
    decoded.sort((a, b) => compareWritesSortKeys(a.key, b.key));
    return decoded.map((d) => d.write);
  }

  /** Checkpoints older than format 4 kept pending sends as writes of their parent. */
  private async migratePendingSends(checkpoint: Checkpoint, threadId: string, ns: string, parentId: string): Promise<void> {
    const parent = await this.readTuple(threadId, ns, parentId);
    const sends = (parent?.pendingWrites ?? []).filter(([, channel]) => channel === TASKS).map(([, , value]) => value);
    checkpoint.channel_values[TASKS] = sends;
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }

  /** Checkpoint members (`ns\0id`) of one thread, newest first within each namespace. */
  private async listMembers(threadId: string, ns: string | undefined, beforeId: string | undefined): Promise<string[]> {
    const idsKey = (threadKeys(this.prefix, threadId) satisfies ThreadKeys)[4];
    if (ns !== undefined) {
      const max = beforeId !== undefined ? `(${checkpointField(ns, beforeId)}` : `(${ns}\x01`;
      return this.run("list", this.client.zrevrangebylex(idsKey, max, `[${ns}${SEP}`));
    }
    const members = await this.run("list", this.client.zrevrange(idsKey, 0, -1));
    if (beforeId === undefined) return members;
    return members.filter((m) => m.slice(m.indexOf(SEP) + 1) < beforeId);
  }

  /** Every thread id, streamed with SSCAN (list without a thread id is an admin operation). */
  private async *allThreads(): AsyncGenerator<string> {
    let cursor = "0";
    const seen = new Set<string>();
    do {
      const [next, batch] = await this.run("list", this.client.sscan(threadIndexKey(this.prefix), cursor, "COUNT", 500));
      cursor = next;
      for (const thread of batch.sort()) {
        if (seen.has(thread)) continue;
        seen.add(thread);
        yield thread;
      }
    } while (cursor !== "0");
  }

  /**
   * Cluster only: adds a thread to the thread index (needed by cross-thread `list` only), skipping
   * the command while this process knows the thread is indexed. That knowledge holds while the keys
   * written by the put at `sentAt` cannot have expired (and so cannot have been pruned): for half
   * the TTL, capped at {@link THREAD_INDEX_CACHE_MAX_MS}.
   */
  private async indexThread(threadId: string, sentAt: number): Promise<void> {
    const knownUntil = this.indexedThreads.get(threadId);
    if (knownUntil !== undefined && performance.now() < knownUntil) return;
    await this.run("put", this.client.sadd(threadIndexKey(this.prefix), threadId));
    if (this.indexedThreads.size >= THREAD_INDEX_CACHE_LIMIT) this.indexedThreads.clear();
    const window = this.ttlMs > 0 ? Math.min(this.ttlMs / 2, THREAD_INDEX_CACHE_MAX_MS) : THREAD_INDEX_CACHE_MAX_MS;
    this.indexedThreads.set(threadId, sentAt + window);
  }

  /**
   * Removes a thread that has no key left from the thread index, so that the index of a saver
   * with a TTL converges. On standalone and Sentinel one script checks and removes atomically
   * (puts index in the same script). On Cluster the index lives in another slot: check, remove,
   * then check again and re-add if a put landed in between (puts index after writing, so the
   * second check sees its keys).
   */
  private async pruneThread(threadId: string): Promise<void> {
    const keys = threadKeys(this.prefix, threadId);
    const index = threadIndexKey(this.prefix);
    this.indexedThreads.delete(threadId);
    if (!this.isCluster) {
      await this.run("list", (this.client as unknown as PruneCommand).lgfPruneThreadIndex(...keys, index, threadId));
      return;
    }
    if ((await this.run("list", this.client.exists(...keys))) > 0) return;
    await this.run("list", this.client.srem(index, threadId));
    if ((await this.run("list", this.client.exists(...keys))) > 0) await this.run("list", this.client.sadd(index, threadId));
  }

  /**
   * The serializer's `[type, data]`, with plain JSON as a string: ioredis then writes the whole
   * command as one string, which costs measurably less per command than a list of buffers.
   */
  private async dump(value: unknown): Promise<[string, string | Uint8Array]> {
    const text = this.serde instanceof FastJsonPlusSerializer && !(value instanceof Uint8Array) ? this.serde.plainText(value) : undefined;
    return text !== undefined ? ["json", text] : await this.serde.dumpsTyped(value);
  }

  /** `type\0bytes`, as a string when the value is plain JSON. */
  private async encode(value: unknown): Promise<Buffer | string> {
    const [type, data] = await this.dump(value);
    return withPrefix(`${type}${SEP}`, data);
  }

  private async decode(buf: Buffer): Promise<unknown> {
    const [type, bytes] = splitTyped(buf);
    return this.serde.loadsTyped(type, bytes);
  }

  /** Awaits a Redis call, turning its failure into a {@link StateStoreError} that names the operation. */
  private run<T>(operation: string, pending: Promise<T>): Promise<T> {
    return pending.catch((e: unknown) => {
      const security = redisSecurityError(e, redisAddress(this.client));
      if (security) throw security;
      throw new StateStoreError(`RedisSaver.${operation} failed: ${(e as Error).message}`, {
        hint: "check that Redis is reachable; ioredis reconnects on its own and the call may be retried",
        cause: e,
      });
    });
  }
}

function threadIdOf(config: RunnableConfig): string | undefined {
  const threadId = config.configurable?.thread_id as unknown;
  if ((typeof threadId !== "string" && typeof threadId !== "number") || threadId === "") return undefined;
  return String(threadId);
}

function requireThreadId(config: RunnableConfig, operation: string): string {
  const threadId = threadIdOf(config);
  if (threadId === undefined) throw new MissingThreadIdError(`RedisSaver.${operation}`);
  return threadId;
}

function namespaceOf(config: RunnableConfig): string {
  return (config.configurable?.checkpoint_ns as string | undefined) ?? "";
}

/** `prefix` then `data`: a string when `data` is text (UTF-8 on the wire either way). */
function withPrefix(prefix: string, data: string | Uint8Array): string | Buffer {
  return typeof data === "string" ? prefix + data : Buffer.concat([Buffer.from(prefix), data]);
}

function splitList(list: string): string[] {
  return list.length === 0 ? [] : list.split(LIST_SEP);
}

/** Splits `type\0bytes`. */
function splitTyped(buf: Buffer): [string, Uint8Array] {
  const [type, bytes] = splitFields(buf, 1);
  return [type, bytes];
}

/** Splits the first `count` NUL-terminated strings off a buffer; the rest is the payload. */
function splitFields(buf: Buffer, count: 1): [string, Uint8Array];
function splitFields(buf: Buffer, count: 3): [string, string, string, Uint8Array];
function splitFields(buf: Buffer, count: number): (string | Uint8Array)[] {
  const out: (string | Uint8Array)[] = [];
  let start = 0;
  for (let i = 0; i < count; i += 1) {
    const end = buf.indexOf(0, start);
    if (end < 0) throw new StateStoreError("RedisSaver: a stored record is malformed (missing a NUL separator)");
    out.push(buf.toString("utf8", start, end));
    start = end + 1;
  }
  out.push(buf.subarray(start));
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The values of channels that have no version: they have no blob, so they stay in the checkpoint. */
function unversionedValues(values: Record<string, unknown>, versions: ChannelVersions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [channel, value] of Object.entries(values)) if (!Object.hasOwn(versions, channel)) out[channel] = value;
  return out;
}
