/**
 * The wire envelope: a versioned, schema-validated header followed by an opaque payload.
 *
 * Frame: the header as one line of UTF-8 JSON, a `\n`, then the payload bytes (serialized by
 * `payloadCodec`). With shared keys the frame is signed with HMAC-SHA256 (see `signingKeys.ts`) and
 * the signature travels beside it (a Kafka header), so a forged request or reply is rejected before
 * it is parsed.
 *
 * @module
 */
import { z } from "zod";
import { EnvelopeError, PayloadTooLargeError } from "../errors.js";
import { SigningKeyRing, signingKeysOf, type SigningKey } from "./signingKeys.js";

/** Version of the envelope format written by this build. Readers reject other versions. */
export const ENVELOPE_VERSION = 1;

/** Default largest frame, in bytes: Kafka's default `message.max.bytes` is about 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000;

/**
 * Largest header line, in bytes: the longest header the schema allows is under 8 KiB, so a frame
 * whose first line is longer is refused before its JSON is parsed.
 */
export const MAX_HEADER_LINE_BYTES = 16_384;

const id = z.string().min(1).max(200);
const name = z.string().min(1).max(256);
const nonce = z.string().min(8).max(64);

/** W3C trace context carried with a call. */
export const traceContextSchema = z.object({ traceparent: z.string().max(256), tracestate: z.string().max(512).optional() }).strict();

/** A node call: caller to replica. */
export const requestHeaderSchema = z
  .object({
    v: z.literal(ENVELOPE_VERSION),
    kind: z.literal("request"),
    /** Correlation id: every event, reply and cancel of this call carries it. */
    id,
    node: name,
    /** The replica the caller chose; a different replica may serve it after a rebalance. */
    replica: id,
    /** Id of the calling process; replies are routed to it. */
    caller: id,
    /** Transport-specific return address (Kafka: `topic:partition`). */
    replyTo: z.string().min(1).max(300),
    /** LangGraph thread, or null when the graph runs without a checkpointer. */
    threadId: z.string().max(1000).nullable(),
    checkpointNs: z.string().max(4000),
    taskId: z.string().max(200),
    /** (thread, namespace, task): the same across retries and resumes of one task. */
    idempotencyKey: z.string().min(1).max(200),
    /** Epoch milliseconds after which the caller no longer waits. */
    deadline: z.number().int().nonnegative(),
    /** 1 for the first attempt of a task, +1 per retry. */
    attempt: z.number().int().positive(),
    /** Random per request, kept by the caller: its reply and events must repeat it (binds them to this request). */
    nonce,
    trace: traceContextSchema.optional(),
    /** Serializer type of the payload (`"json"` or `"bytes"`). */
    payloadType: z.string().min(1).max(40),
  })
  .strict();

/** Final answer of a call: replica to caller. */
export const replyHeaderSchema = z
  .object({
    v: z.literal(ENVELOPE_VERSION),
    kind: z.literal("reply"),
    id,
    node: name,
    replica: id,
    caller: id,
    /** The request's `attempt` and `nonce`: a reply answers one request, never another. */
    attempt: z.number().int().positive(),
    nonce,
    /** `ok`: the payload is the node's result; `error`: a serialized error. */
    status: z.enum(["ok", "error"]),
    payloadType: z.string().min(1).max(40),
  })
  .strict();

/** Something a running call streams back before its reply (custom stream events). */
export const eventHeaderSchema = z
  .object({
    v: z.literal(ENVELOPE_VERSION),
    kind: z.literal("event"),
    id,
    node: name,
    replica: id,
    caller: id,
    /** 0, 1, 2… per call, so the caller can drop duplicates and keep order. */
    seq: z.number().int().nonnegative(),
    /** The request's nonce. */
    nonce,
    payloadType: z.string().min(1).max(40),
  })
  .strict();

/** The caller gave up on a call (its AbortSignal fired): the replica aborts the node's signal. */
export const cancelHeaderSchema = z
  .object({
    v: z.literal(ENVELOPE_VERSION),
    kind: z.literal("cancel"),
    id,
    node: name,
    caller: id,
    replica: id,
    payloadType: z.string().min(1).max(40),
  })
  .strict();

/** A fabric-wide notification (registry changes, broadcasts). */
export const noticeHeaderSchema = z
  .object({
    v: z.literal(ENVELOPE_VERSION),
    kind: z.literal("notice"),
    channel: name,
    sender: id,
    payloadType: z.string().min(1).max(40),
  })
  .strict();

export const envelopeHeaderSchema = z.discriminatedUnion("kind", [
  requestHeaderSchema,
  replyHeaderSchema,
  eventHeaderSchema,
  cancelHeaderSchema,
  noticeHeaderSchema,
]);

export type RequestHeader = z.infer<typeof requestHeaderSchema>;
export type ReplyHeader = z.infer<typeof replyHeaderSchema>;
export type EventHeader = z.infer<typeof eventHeaderSchema>;
export type CancelHeader = z.infer<typeof cancelHeaderSchema>;
export type NoticeHeader = z.infer<typeof noticeHeaderSchema>;
export type EnvelopeHeader = z.infer<typeof envelopeHeaderSchema>;
export type TraceContext = z.infer<typeof traceContextSchema>;

type Check = (value: unknown) => boolean;
const str =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === "string" && v.length >= min && v.length <= max;
const int =
  (min: number): Check =>
  (v) =>
    Number.isSafeInteger(v) && (v as number) >= min;
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v);
const idCheck = str(1, 200);
const nameCheck = str(1, 256);
const payloadTypeCheck = str(1, 40);
const nonceCheck = str(8, 64);
const traceCheck: Check = (v) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const t = v as Record<string, unknown>;
  const keys = Object.keys(t).length;
  if (!str(0, 256)(t.traceparent)) return false;
  if (t.tracestate === undefined) return keys === 1;
  return str(0, 512)(t.tracestate) && keys === 2;
};

/** Per kind: every field with its check, and whether it may be absent (the zod schemas above, by hand). */
const FAST_SHAPES: Record<string, readonly (readonly [string, Check, boolean?])[]> = {
  request: [
    ["v", oneOf(ENVELOPE_VERSION)],
    ["kind", oneOf("request")],
    ["id", idCheck],
    ["node", nameCheck],
    ["replica", idCheck],
    ["caller", idCheck],
    ["replyTo", str(1, 300)],
    ["threadId", (v) => v === null || str(0, 1000)(v)],
    ["checkpointNs", str(0, 4000)],
    ["taskId", str(0, 200)],
    ["idempotencyKey", str(1, 200)],
    ["deadline", int(0)],
    ["attempt", int(1)],
    ["nonce", nonceCheck],
    ["trace", traceCheck, true],
    ["payloadType", payloadTypeCheck],
  ],
  reply: [
    ["v", oneOf(ENVELOPE_VERSION)],
    ["kind", oneOf("reply")],
    ["id", idCheck],
    ["node", nameCheck],
    ["replica", idCheck],
    ["caller", idCheck],
    ["attempt", int(1)],
    ["nonce", nonceCheck],
    ["status", oneOf("ok", "error")],
    ["payloadType", payloadTypeCheck],
  ],
  event: [
    ["v", oneOf(ENVELOPE_VERSION)],
    ["kind", oneOf("event")],
    ["id", idCheck],
    ["node", nameCheck],
    ["replica", idCheck],
    ["caller", idCheck],
    ["seq", int(0)],
    ["nonce", nonceCheck],
    ["payloadType", payloadTypeCheck],
  ],
  cancel: [
    ["v", oneOf(ENVELOPE_VERSION)],
    ["kind", oneOf("cancel")],
    ["id", idCheck],
    ["node", nameCheck],
    ["caller", idCheck],
    ["replica", idCheck],
    ["payloadType", payloadTypeCheck],
  ],
  notice: [
    ["v", oneOf(ENVELOPE_VERSION)],
    ["kind", oneOf("notice")],
    ["channel", nameCheck],
    ["sender", idCheck],
    ["payloadType", payloadTypeCheck],
  ],
};

/**
 * The header when `raw` is one that {@link envelopeHeaderSchema} certainly accepts, else
 * `undefined` (then the schema decides, and words the error). Every frame is checked, so this runs
 * per message on both sides of every call: zod's general machinery cost about as much as the rest
 * of decoding. It accepts nothing the schema refuses (a property test holds it to that) and
 * returns `raw` itself, a fresh object from `JSON.parse`, as the schema's copy would be.
 *
 * @internal
 */
export function fastHeader(raw: object): EnvelopeHeader | undefined {
  const r = raw as Record<string, unknown>;
  const kind = r.kind;
  const shape = typeof kind === "string" && Object.hasOwn(FAST_SHAPES, kind) ? FAST_SHAPES[kind] : undefined;
  if (shape === undefined || Array.isArray(raw)) return undefined;
  let present = 0;
  for (const [key, check, optional] of shape) {
    const value = r[key];
    if (value === undefined && optional === true) continue;
    if (!check(value)) return undefined;
    present += 1;
  }
  // Strict objects: any other key (`__proto__` included) goes to the schema, which refuses it.
  return Object.keys(r).length === present ? (raw as EnvelopeHeader) : undefined;
}

/** A decoded message: its header and its still-serialized payload. */
export interface Envelope<H extends EnvelopeHeader = EnvelopeHeader> {
  header: H;
  payload: Uint8Array;
}

/** How frames are checked and signed. */
export interface EnvelopeCodecOptions {
  /** Largest frame accepted or produced, in bytes. Default {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number;
  /**
   * Shared HMAC-SHA256 keys with ids, oldest first: frames are signed with the last one and
   * accepted when signed by any of them; unsigned frames are rejected. Default: none (no signing).
   */
  signingKeys?: readonly SigningKey[];
  /** One shared key (id `"default"`); the same as `signingKeys: [{ id: "default", secret }]`. Not with `signingKeys`. */
  signingKey?: string | Uint8Array;
}

/** A frame ready for the wire. */
export interface Frame {
  value: Buffer;
  /** `<keyId>.<hex HMAC-SHA256 of value>`, present when signing keys are configured. */
  signature?: string;
}

const NEWLINE = 0x0a;

/**
 * Encodes and decodes frames. Stateless apart from its options; share one per transport.
 */
export class EnvelopeCodec {
  readonly maxMessageBytes: number;
  private readonly keys: SigningKeyRing | undefined;

  /** @throws RangeError when `maxMessageBytes` is not a positive integer, or a signing key is malformed or short. */
  constructor(options: EnvelopeCodecOptions = {}) {
    const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(max) || max < 256) throw new RangeError(`maxMessageBytes must be an integer >= 256 (got ${max})`);
    this.maxMessageBytes = max;
    const keys = signingKeysOf(options);
    this.keys = keys === undefined ? undefined : new SigningKeyRing(keys, options.signingKey !== undefined ? "signingKey" : "signingKeys");
  }

  /** True when frames are signed and signatures required. */
  get signing(): boolean {
    return this.keys !== undefined;
  }

  /** Id of the key frames are signed with, when signing. */
  get signingKeyId(): string | undefined {
    return this.keys?.signingKeyId;
  }

  /**
   * Frames a header and payload.
   *
   * @throws PayloadTooLargeError when the frame would exceed `maxMessageBytes`.
   */
  encode(header: EnvelopeHeader, payload: Uint8Array): Frame {
    const json = JSON.stringify(header);
    const headLength = Buffer.byteLength(json);
    const size = headLength + 1 + payload.length;
    if (size > this.maxMessageBytes) {
      const what =
        header.kind === "request" || header.kind === "reply" || header.kind === "event"
          ? `the ${header.kind} for node "${header.node}"`
          : `a ${header.kind}`;
      throw new PayloadTooLargeError(what, size, this.maxMessageBytes);
    }
    // One buffer written in place (from the shared pool when small) rather than three concatenated.
    const value = Buffer.allocUnsafe(size);
    value.write(json, 0, "utf8");
    value[headLength] = NEWLINE;
    value.set(payload, headLength + 1);
    return this.keys === undefined ? { value } : { value, signature: this.keys.sign(value) };
  }

  /**
   * Checks and parses a frame.
   *
   * @throws EnvelopeError naming the reason (`too_large`, `signature`, `malformed`, `version`, `schema`).
   */
  decode(value: Uint8Array | null | undefined, signature?: string | Buffer | null): Envelope {
    if (value === null || value === undefined || value.length === 0) throw new EnvelopeError("malformed", "empty message");
    if (value.length > this.maxMessageBytes) {
      throw new EnvelopeError("too_large", `message is ${value.length} bytes, over the ${this.maxMessageBytes}-byte limit`);
    }
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
    if (this.keys !== undefined) {
      const given = signature === undefined || signature === null ? "" : signature.toString();
      if (!this.keys.verify(buf, given))
        throw new EnvelopeError("signature", given ? "bad signature" : "unsigned message while signing is required");
    }
    const nl = buf.subarray(0, MAX_HEADER_LINE_BYTES + 1).indexOf(NEWLINE);
    if (nl < 0)
      throw buf.length > MAX_HEADER_LINE_BYTES
        ? new EnvelopeError("too_large", `the header line is over the ${MAX_HEADER_LINE_BYTES}-byte limit`)
        : new EnvelopeError("malformed", "no header line");
    let raw: unknown;
    try {
      raw = JSON.parse(buf.toString("utf8", 0, nl));
    } catch (e) {
      throw new EnvelopeError("malformed", `header is not JSON: ${(e as Error).message}`);
    }
    if (typeof raw !== "object" || raw === null) throw new EnvelopeError("malformed", "header is not an object");
    const v = (raw as { v?: unknown }).v;
    if (v !== ENVELOPE_VERSION)
      throw new EnvelopeError("version", `envelope version ${JSON.stringify(v)} is not supported (this build speaks ${ENVELOPE_VERSION})`);
    const fast = fastHeader(raw);
    if (fast !== undefined) return { header: fast, payload: buf.subarray(nl + 1) };
    const parsed = envelopeHeaderSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(header)"}: ${i.message}`).join("; ");
      throw new EnvelopeError("schema", `invalid header: ${issues}`);
    }
    return { header: parsed.data, payload: buf.subarray(nl + 1) };
  }
}
