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

/** Produces dead letters to `<prefix>.dlq` (one partition: they are rare and read in order by operators). */
export class DeadLetterSink {
  constructor(
    private readonly batcher: ProduceBatcher,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  /** Logs and produces the dead letter; resolves once the broker has it (then the original may be committed). */
  send(reason: string, error: string, source: MessageSource, message: Pick<KafkaMessage, "key" | "value" | "headers">): Promise<void> {
    const where = `${source.topic}/${source.partition}/${source.offset}`;
    this.logger.warn("dead-lettered a message", { reason, error, source: where });
    const headers: IHeaders = {
      ...(message.headers ?? {}),
      [DEAD_LETTER_HEADERS.reason]: reason,
      [DEAD_LETTER_HEADERS.error]: error.slice(0, 2000),
      [DEAD_LETTER_HEADERS.source]: where,
    };
    return this.batcher.send({ topic: this.topic, partition: 0, key: message.key, value: message.value, headers });
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
