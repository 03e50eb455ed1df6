/**
 * Sends messages a transport cannot accept to the dead-letter topic, with why and where from.
 *
 * @module
 */
import type { IHeaders, KafkaMessage } from "kafkajs";
import { isEnvelopeError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";
import type { Envelope, EnvelopeCodec, Frame } from "../../src/transport/envelope.js";
import type { ProduceBatcher } from "./ProduceBatcher.js";

/** Headers added to a dead letter (the original headers are kept beside them). */
export const DEAD_LETTER_HEADERS = {
  /** An `EnvelopeError` reason (`malformed`, `schema`, `version`, `signature`, `too_large`) or `wrong_node`, `reply_to`, `unexpected_kind`. */
  reason: "lgf-reason",
  /** The error message. */
  error: "lgf-error",
  /** `topic/partition/offset` of the original message. */
  source: "lgf-source",
  /** Present (`"1"`) on a reference: the original was too large to copy, the value is {@link DeadLetterReference} JSON. */
  reference: "lgf-reference",
} as const;

/**
 * The value of a dead letter whose original record could not be copied (over the size limit with
 * the `lgf-*` headers, or headers over {@link MAX_COPIED_HEADER_BYTES}): where to find it, and why.
 */
export interface DeadLetterReference {
  topic: string;
  partition: number;
  offset: string;
  /** Bytes of the original value, key and headers. */
  size: number;
  reason: string;
  error: string;
}

/** Most bytes of original headers copied into a dead letter; more and it becomes a reference. */
export const MAX_COPIED_HEADER_BYTES = 16_384;
/** Room kept for the `lgf-*` headers and the record's own overhead, in bytes. */
const DEAD_LETTER_OVERHEAD_BYTES = 4_096;

/** Where a rejected message came from. */
export interface MessageSource {
  topic: string;
  partition: number;
  offset: string;
}

/** How {@link DeadLetterSink.deliver} retries a dead letter the broker did not take. */
export interface DeadLetterRetryOptions {
  /** Wait before the first retry, in ms; doubled after each failure. Default 100. */
  initialDelayMs?: number;
  /** Longest wait between retries, in ms. Default 5 000. */
  maxDelayMs?: number;
  /**
   * Largest dead letter produced, in bytes (the transport's `maxMessageBytes`): a copy that would
   * be larger is replaced by a {@link DeadLetterReference}. Default 1,000,000.
   */
  maxRecordBytes?: number;
}

const RETRY_DEFAULTS: Required<DeadLetterRetryOptions> = {
  initialDelayMs: 100, // ms
  maxDelayMs: 5_000, // ms
  maxRecordBytes: 1_000_000, // bytes
};

/** Produces dead letters to `<prefix>.dlq` (one partition: they are rare and read in order by operators). */
export class DeadLetterSink {
  private readonly retry: Required<DeadLetterRetryOptions>;

  /** @throws RangeError when a retry delay is not a positive integer, or `maxDelayMs < initialDelayMs`. */
  constructor(
    private readonly batcher: ProduceBatcher,
    private readonly topic: string,
    private readonly logger: Logger,
    retry: DeadLetterRetryOptions = {},
  ) {
    this.retry = { ...RETRY_DEFAULTS, ...retry };
    for (const field of ["initialDelayMs", "maxDelayMs", "maxRecordBytes"] as const) {
      const v = this.retry[field];
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${field} must be a positive integer (got ${v})`);
    }
    if (this.retry.maxDelayMs < this.retry.initialDelayMs) {
      throw new RangeError(`maxDelayMs must be >= initialDelayMs (got ${this.retry.maxDelayMs} < ${this.retry.initialDelayMs})`);
    }
  }

  /**
   * Produces the dead letter and logs it; resolves once the broker has it (then the original may
   * be committed). A record too large to copy — or one the broker refuses as too large — is
   * dead-lettered as a {@link DeadLetterReference} instead, so it can never jam its partition.
   */
  async send(
    reason: string,
    error: string,
    source: MessageSource,
    message: Pick<KafkaMessage, "key" | "value" | "headers">,
  ): Promise<void> {
    const where = `${source.topic}/${source.partition}/${source.offset}`;
    const ours: IHeaders = {
      [DEAD_LETTER_HEADERS.reason]: reason,
      [DEAD_LETTER_HEADERS.error]: error.slice(0, 2000),
      [DEAD_LETTER_HEADERS.source]: where,
    };
    const headerBytes = sizeOfHeaders(message.headers);
    const size = (message.value?.length ?? 0) + (message.key?.length ?? 0) + headerBytes;
    const copyFits = headerBytes <= MAX_COPIED_HEADER_BYTES && size + DEAD_LETTER_OVERHEAD_BYTES <= this.retry.maxRecordBytes;
    let copied = false;
    if (copyFits) {
      try {
        const headers = { ...(message.headers ?? {}), ...ours };
        await this.batcher.send({ topic: this.topic, partition: 0, key: message.key, value: message.value, headers });
        copied = true;
      } catch (e) {
        if (!isTooLarge(e)) throw e; // the broker's limit is lower than ours: fall back to a reference
      }
    }
    if (!copied) {
      const reference: DeadLetterReference = { ...source, size, reason, error: error.slice(0, 2000) };
      await this.batcher.send({
        topic: this.topic,
        partition: 0,
        key: null,
        value: Buffer.from(JSON.stringify(reference)),
        headers: { ...ours, [DEAD_LETTER_HEADERS.reference]: "1" },
      });
    }
    this.logger.warn(copied ? "dead-lettered a message" : "dead-lettered a reference to a message too large to copy", {
      reason,
      error,
      source: where,
      ...(copied ? {} : { size }),
    });
  }

  /**
   * Like {@link send}, for readers that commit: a failed produce is retried with capped
   * exponential backoff for as long as `keepTrying()` holds (the reader still owns the partition),
   * so a dead letter is never dropped. Resolves true once the broker has it (commit the original),
   * false when `keepTrying()` turned false first (leave the original uncommitted: the partition's
   * next owner reads it again). Never rejects.
   */
  async deliver(
    reason: string,
    error: string,
    source: MessageSource,
    message: Pick<KafkaMessage, "key" | "value" | "headers">,
    keepTrying: () => boolean,
  ): Promise<boolean> {
    let delay = this.retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      if (!keepTrying()) return false;
      try {
        await this.send(reason, error, source, message);
        return true;
      } catch (e) {
        if (!keepTrying()) return false;
        this.logger.error("could not produce a dead letter; retrying", { source, attempt, retryInMs: delay, error: e });
      }
      // Unref'd: a replica that stops meanwhile must not be kept alive by this wait.
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      delay = Math.min(delay * 2, this.retry.maxDelayMs);
    }
  }

  /** Like {@link send}, for readers that do not commit: failures are logged, never thrown. */
  reject(reason: string, error: string, source: MessageSource, message: Pick<KafkaMessage, "key" | "value" | "headers">): void {
    this.send(reason, error, source, message).catch((e: unknown) => {
      this.logger.error("could not produce a dead letter", { reason, error: e });
    });
  }

  /** Decodes a message, or dead-letters it (see {@link reject}) and returns undefined. */
  decodeOrReject(codec: EnvelopeCodec, message: KafkaMessage, source: MessageSource): Envelope | undefined {
    try {
      return codec.decode(message.value, signatureOf(message));
    } catch (error) {
      this.reject(isEnvelopeError(error) ? error.reason : "malformed", (error as Error).message, source, message);
      return undefined;
    }
  }
}

/** Header carrying a frame's HMAC signature. */
export const SIGNATURE_HEADER = "lgf-sig";

/** The signature header of a message, if any. */
export function signatureOf(message: Pick<KafkaMessage, "headers">): string | undefined {
  const value = message.headers?.[SIGNATURE_HEADER];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.toString();
}

/** Kafka headers carrying a frame's signature, if it has one. */
export function signatureHeaders(frame: Frame): Record<string, string> | undefined {
  return frame.signature === undefined ? undefined : { [SIGNATURE_HEADER]: frame.signature };
}

function sizeOfHeaders(headers: IHeaders | undefined): number {
  let size = 0;
  for (const [k, v] of Object.entries(headers ?? {})) {
    size += k.length;
    for (const item of Array.isArray(v) ? v : [v]) size += item === undefined ? 0 : Buffer.byteLength(item);
  }
  return size;
}

/** A broker's refusal of a record for its size (kafkajs names the protocol error). */
function isTooLarge(error: unknown): boolean {
  const e = error as { type?: unknown; message?: unknown; cause?: unknown } | null;
  if (e === null || typeof e !== "object") return false;
  if (e.type === "MESSAGE_TOO_LARGE" || e.type === "RECORD_LIST_TOO_LARGE") return true;
  if (typeof e.message === "string" && /too large/i.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== error && isTooLarge(e.cause);
}
