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
} as const;

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
}

const RETRY_DEFAULTS: Required<DeadLetterRetryOptions> = {
  initialDelayMs: 100, // ms
  maxDelayMs: 5_000, // ms
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
    for (const field of ["initialDelayMs", "maxDelayMs"] as const) {
      const v = this.retry[field];
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${field} must be a positive integer of milliseconds (got ${v})`);
    }
    if (this.retry.maxDelayMs < this.retry.initialDelayMs) {
      throw new RangeError(`maxDelayMs must be >= initialDelayMs (got ${this.retry.maxDelayMs} < ${this.retry.initialDelayMs})`);
    }
  }

  /** Produces the dead letter and logs it; resolves once the broker has it (then the original may be committed). */
  async send(
    reason: string,
    error: string,
    source: MessageSource,
    message: Pick<KafkaMessage, "key" | "value" | "headers">,
  ): Promise<void> {
    const where = `${source.topic}/${source.partition}/${source.offset}`;
    const headers: IHeaders = {
      ...(message.headers ?? {}),
      [DEAD_LETTER_HEADERS.reason]: reason,
      [DEAD_LETTER_HEADERS.error]: error.slice(0, 2000),
      [DEAD_LETTER_HEADERS.source]: where,
    };
    await this.batcher.send({ topic: this.topic, partition: 0, key: message.key, value: message.value, headers });
    this.logger.warn("dead-lettered a message", { reason, error, source: where });
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
