/**
 * The caller side of a compiled subgraph (or prebuilt agent) run as a remote node. Locally,
 * LangGraph runs a subgraph node by invoking the subgraph with its task's config, and the subgraph
 * reads from it what ties its run to the parent's: the checkpoint map (which parent checkpoint each
 * namespace belongs to), whether the parent is resuming, the durability, resume values by interrupt
 * id, the time-travel cursor, and the parent's stream (`__pregel_stream`, present when the run
 * streams with `subgraphs: true`). None of those objects can travel, so {@link nestedContextOf} turns
 * them into data for the replica, and {@link StreamRelay} puts the stream chunks the replica sends
 * back where the local subgraph would have put them: the parent's stream (and the `seen` set of its
 * messages handler, which otherwise re-emits the subgraph's messages when the node ends), or the
 * custom-event writer.
 *
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Logger } from "../observability/logger.js";
import type { FabricSerializer } from "../transport/payloadCodec.js";

/** What a subgraph run on a replica needs of its parent's run. */
export interface NestedContext {
  /** `checkpoint_map`: parent checkpoint id per namespace (a subgraph resumes its own checkpoint through it). */
  checkpointMap?: Record<string, string>;
  /** `__pregel_resuming`: the parent is resuming (the subgraph continues from its checkpoint). */
  resuming?: boolean;
  /** `__pregel_durability` of the parent run. */
  durability?: string;
  /** `__pregel_resume_map`: resume values by interrupt id. */
  resumeMap?: Record<string, unknown>;
  /** `__pregel_strict_resume`. */
  strictResume?: boolean;
  /**
   * The parent replays from an older checkpoint: the subgraph loads its checkpoint from before
   * `checkpointId` on its first visit in the run, as LangGraph's `ReplayState` decides.
   */
  replay?: { checkpointId: string; firstVisit: boolean };
  /** Present when the parent streams subgraphs (`subgraphs: true`): the parent's stream modes. */
  stream?: { modes: string[] };
}

/** A stream chunk of a subgraph run on a replica, as it travels: LangGraph's `[namespace, mode, payload]`. */
export interface StreamChunkEvent {
  __lgf: "chunk";
  ns: string[];
  mode: string;
  data: unknown;
}

/** Whether an event payload is a {@link StreamChunkEvent} (anything else is a custom event). */
export function isStreamChunkEvent(value: unknown): value is StreamChunkEvent {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { __lgf?: unknown }).__lgf === "chunk" &&
    Array.isArray((value as { ns?: unknown }).ns) &&
    typeof (value as { mode?: unknown }).mode === "string"
  );
}

/** LangGraph's stream protocol as the parent exposes it in `__pregel_stream`. */
interface ParentStream {
  modes: Set<string>;
  push(chunk: [string[], string, unknown]): void;
}

/** LangGraph's replay cursor (`__pregel_replay_state`): only its public surface is used. */
interface ReplayStateLike {
  checkpointId: string;
  getCheckpoint(ns: string, checkpointer: unknown, config: RunnableConfig): Promise<unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The {@link NestedContext} of a task's config. Asking the parent's replay cursor whether this is
 * the namespace's first visit also records the visit, as the local subgraph's load would.
 */
export async function nestedContextOf(config: RunnableConfig): Promise<NestedContext> {
  const conf = (config.configurable ?? {}) as Record<string, unknown>;
  const out: NestedContext = {};
  const map = conf.checkpoint_map;
  if (isRecord(map))
    out.checkpointMap = Object.fromEntries(Object.entries(map).filter((e): e is [string, string] => typeof e[1] === "string"));
  if (typeof conf.__pregel_resuming === "boolean") out.resuming = conf.__pregel_resuming;
  if (typeof conf.__pregel_durability === "string") out.durability = conf.__pregel_durability;
  if (isRecord(conf.__pregel_resume_map)) out.resumeMap = conf.__pregel_resume_map;
  if (conf.__pregel_strict_resume === true) out.strictResume = true;
  const replay = conf.__pregel_replay_state as ReplayStateLike | undefined;
  if (replay !== undefined && typeof replay.getCheckpoint === "function" && typeof replay.checkpointId === "string") {
    let firstVisit = false;
    // A probe for a checkpointer: the cursor lists (first visit) or gets (later visits).
    const probe = {
      list: async function* () {
        firstVisit = true;
        await Promise.resolve();
        yield* [];
      },
      getTuple: () => Promise.resolve(undefined),
    };
    const ns = typeof conf.checkpoint_ns === "string" ? conf.checkpoint_ns : "";
    await replay.getCheckpoint(ns, probe, config);
    out.replay = { checkpointId: replay.checkpointId, firstVisit };
  }
  const stream = conf.__pregel_stream as ParentStream | undefined;
  if (stream !== undefined && stream.modes instanceof Set) out.stream = { modes: [...stream.modes] };
  return out;
}

/** A LangChain callback handler as LangGraph's `StreamMessagesHandler` is shaped (name and `seen`). */
interface MessagesHandlerLike {
  name?: string;
  seen?: Record<string, unknown>;
}

function messagesHandlerOf(config: RunnableConfig): MessagesHandlerLike | undefined {
  const callbacks = config.callbacks as { handlers?: unknown[] } | unknown[] | undefined;
  const handlers = Array.isArray(callbacks) ? callbacks : callbacks?.handlers;
  if (!Array.isArray(handlers)) return undefined;
  return handlers.find(
    (h): h is MessagesHandlerLike => isRecord(h) && h.name === "StreamMessagesHandler" && isRecord((h as MessagesHandlerLike).seen),
  );
}

/**
 * Replays, on the caller, the events a replica sends while it runs a node: custom events go to
 * `config.writer`; stream chunks of a subgraph go to the parent's stream, in the order they were
 * produced (decoding is chained, so a slow decode does not let a later chunk overtake).
 */
export class StreamRelay {
  private chain: Promise<void> = Promise.resolve();
  private readonly stream: ParentStream | undefined;
  private readonly writer: ((chunk: unknown) => void) | undefined;
  private readonly messages: MessagesHandlerLike | undefined;

  constructor(
    config: RunnableConfig,
    private readonly serde: FabricSerializer,
    private readonly logger: Logger,
    private readonly node: string,
  ) {
    const conf = (config.configurable ?? {}) as Record<string, unknown>;
    const stream = conf.__pregel_stream as ParentStream | undefined;
    this.stream = stream !== undefined && typeof stream.push === "function" ? stream : undefined;
    const writer = (config as { writer?: unknown }).writer;
    this.writer = typeof writer === "function" ? (writer as (chunk: unknown) => void) : undefined;
    this.messages = this.stream ? messagesHandlerOf(config) : undefined;
  }

  /** Whether there is anywhere to relay events to. */
  get wanted(): boolean {
    return this.stream !== undefined || this.writer !== undefined;
  }

  /** Queues one event (its payload type and bytes) for decoding and delivery. */
  relay(payloadType: string, payload: Uint8Array): void {
    const decoding = this.serde.loadsTyped(payloadType, payload);
    this.chain = this.chain.then(async () => {
      try {
        this.deliver(await decoding);
      } catch (e) {
        this.logger.warn("a stream event could not be read", { node: this.node, error: e });
      }
    });
  }

  /** Resolves once every event queued so far has been delivered. */
  flush(): Promise<void> {
    return this.chain;
  }

  private deliver(value: unknown): void {
    if (!isStreamChunkEvent(value)) {
      this.writer?.(value);
      return;
    }
    if (this.stream !== undefined) {
      this.stream.push([value.ns, value.mode, value.data]);
      // The local subgraph's messages pass through this handler, which remembers them so that the
      // node's end does not emit them a second time; remember the relayed ones the same way.
      const message = value.mode === "messages" && Array.isArray(value.data) ? (value.data[0] as { id?: unknown }) : undefined;
      if (this.messages?.seen && typeof message?.id === "string") this.messages.seen[message.id] = message;
    } else if (value.mode === "custom") {
      this.writer?.(value.data);
    }
  }
}
