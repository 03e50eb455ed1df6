/**
 * Message formats of `GraphChannel`: what producers put on the input topic, and the records it
 * publishes on the output topic.
 *
 * Input: key = thread id (required); value = JSON, one of `{ "input": … }`, `{ "resume": … }` or
 * `{ "command": { "update"?, "goto"?, "resume"? } }`. LangChain objects may appear in LangChain's
 * serialized form (`{ "lc": 1, "type": "constructor", … }`): they are revived as the checkpointer
 * would, so a JS producer can use {@link encodeGraphChannelInput}, others plain JSON.
 *
 * Output: the value of every record is the JSON text `FabricSerializer` (LangGraph's serializer)
 * makes of the whole record, so the envelope fields read as plain JSON in any language, LangChain
 * messages appear in their serialized form, and JS consumers get the original objects back with
 * {@link decodeGraphChannelOutput}. Chosen over an opaque payload field: one parse, readable
 * by tools such as `kafka-console-consumer`, and the same revival the checkpointer uses.
 *
 * @module
 */
import { Command, Send, type StreamMode } from "@langchain/langgraph";
import { z } from "zod";
import { SerializationError } from "../../src/errors.js";
import { FabricSerializer } from "../../src/transport/payloadCodec.js";

/** Headers of output records (the input message's own headers are copied beside them). */
export const GRAPH_CHANNEL_HEADERS = {
  /** `event`, `result` or `error`. */
  type: "lgf-type",
  /** `topic/partition/offset` of the input message. */
  source: "lgf-source",
} as const;

const SendSchema = z.object({ node: z.string().min(1), args: z.unknown().optional() }).strict();
const GotoSchema = z.union([z.string().min(1), SendSchema, z.array(z.union([z.string().min(1), SendSchema]))]);
const CommandSchema = z
  .object({
    update: z.union([z.record(z.string(), z.unknown()), z.array(z.tuple([z.string(), z.unknown()]))]).optional(),
    goto: GotoSchema.optional(),
    resume: z.unknown().optional(),
  })
  .strict()
  .refine((c) => c.update !== undefined || c.goto !== undefined || c.resume !== undefined, {
    message: "a command needs at least one of update, goto, resume",
  });

/** Schema of an input message's value: exactly one of `input`, `resume`, `command`. */
export const GraphChannelInputSchema = z.union([
  z.object({ input: z.unknown() }).strict(),
  z.object({ resume: z.unknown() }).strict(),
  z.object({ command: CommandSchema }).strict(),
]);

/** An input message's value. */
export type GraphChannelInput = z.infer<typeof GraphChannelInputSchema>;

/** Why an input message was dead-lettered (the `lgf-reason` header). */
export type GraphChannelRejectReason = "missing_thread_id" | "malformed" | "schema";

/** Outcome of {@link parseGraphChannelInput}. */
export type ParsedInput = { ok: true; value: GraphChannelInput } | { ok: false; reason: GraphChannelRejectReason; error: string };

/** Parses and validates an input value (synchronous: the consume loop rejects bad input at once). */
export function parseGraphChannelInput(value: Buffer | null): ParsedInput {
  if (value === null || value.length === 0) return { ok: false, reason: "malformed", error: "the message has no value" };
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"));
  } catch (error) {
    return { ok: false, reason: "malformed", error: `the value is not JSON: ${(error as Error).message}` };
  }
  const parsed = GraphChannelInputSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: "schema", error: JSON.stringify(parsed.error.issues) };
  return { ok: true, value: parsed.data };
}

/**
 * The graph input of a parsed message: the `input` value, or a `Command`. LangChain objects in
 * serialized form are revived.
 *
 * @throws SerializationError when a serialized object cannot be revived.
 */
export async function toGraphInput(message: GraphChannelInput, serde: FabricSerializer): Promise<unknown> {
  const revive = (v: unknown): Promise<unknown> =>
    v === undefined ? Promise.resolve(undefined) : serde.loadsTyped("json", JSON.stringify(v));
  if ("input" in message) return revive(message.input);
  if ("resume" in message) return new Command({ resume: await revive(message.resume) });
  const { update, goto, resume } = message.command;
  const toGoto = (g: string | { node: string; args?: unknown }): Promise<string | Send> =>
    typeof g === "string" ? Promise.resolve(g) : revive(g.args).then((args) => new Send(g.node, args));
  return new Command({
    ...(update === undefined ? {} : { update: (await revive(update)) as Record<string, unknown> | [string, unknown][] }),
    ...(goto === undefined ? {} : { goto: Array.isArray(goto) ? await Promise.all(goto.map(toGoto)) : await toGoto(goto) }),
    ...(resume === undefined ? {} : { resume: await revive(resume) }),
  });
}

/** Fields every output record has. */
interface OutputBase {
  /** The thread the run belongs to (the input message's key). */
  threadId: string;
  /** Partition of the input message. */
  inputPartition: number;
  /** Offset of the input message (a decimal string, as Kafka offsets are 64-bit). */
  inputOffset: string;
  /** Position in this attempt's records: events count from 0, the final record comes last. */
  seq: number;
}

/** One stream chunk of a run. */
export interface GraphChannelEvent extends OutputBase {
  type: "event";
  /** The stream mode that produced the chunk. */
  mode: StreamMode;
  /** The chunk; `null` when it could not be published (see {@link error}). */
  chunk: unknown;
  /** Set when the chunk was replaced by `null`: too large or not serializable. */
  error?: { name: string; message: string };
}

/** A pending `interrupt()` of a thread. */
export interface GraphChannelInterrupt {
  id?: string;
  value?: unknown;
}

/** How a result came about: a run of the input, a resume after a crashed attempt, or a re-publication of a finished run. */
export type GraphChannelResultPath = "run" | "resume" | "republish";

/** The end of a run: the thread's state after it. */
export interface GraphChannelResult extends OutputBase {
  type: "result";
  path: GraphChannelResultPath;
  /** The thread's values after the run. */
  values: unknown;
  /** Pending interrupts when the run stopped at `interrupt()`; send `{ "resume": … }` to continue. */
  interrupts: GraphChannelInterrupt[];
  /** Nodes that would run next (non-empty after an interrupt). */
  next: string[];
}

/** A run that failed (a node threw, the run timed out, a checkpointer error…); the input is committed. */
export interface GraphChannelError extends OutputBase {
  type: "error";
  error: { name: string; message: string };
}

/** Any record of the output topic. */
export type GraphChannelOutput = GraphChannelEvent | GraphChannelResult | GraphChannelError;

const sharedSerde = new FabricSerializer();

/** Encodes an output record (LangGraph's serializer, JSON). */
export async function encodeGraphChannelOutput(record: GraphChannelOutput, serde: FabricSerializer = sharedSerde): Promise<Buffer> {
  const [type, bytes] = await serde.dumpsTyped(record);
  if (type !== "json") throw new SerializationError(`an output record serialized as ${type}, not json`);
  return Buffer.from(bytes);
}

/** Decodes an output record, reviving LangChain messages and the other types LangGraph's serializer tags. */
export async function decodeGraphChannelOutput(
  value: Uint8Array | string,
  serde: FabricSerializer = sharedSerde,
): Promise<GraphChannelOutput> {
  const record = (await serde.loadsTyped("json", value)) as Partial<GraphChannelOutput> | null;
  if (typeof record !== "object" || record === null || !["event", "result", "error"].includes(record.type ?? ""))
    throw new SerializationError("not a GraphChannel output record");
  return record as GraphChannelOutput;
}

/** Encodes an input value for producers in JavaScript (LangChain objects serialized as the channel revives them). */
export async function encodeGraphChannelInput(value: GraphChannelInput, serde: FabricSerializer = sharedSerde): Promise<Buffer> {
  const [type, bytes] = await serde.dumpsTyped(value);
  if (type !== "json") throw new SerializationError(`an input value serialized as ${type}, not json`);
  return Buffer.from(bytes);
}
