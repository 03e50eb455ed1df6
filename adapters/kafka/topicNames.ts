/**
 * Names of the topics and consumer groups of one fabric (one topic prefix).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Kafka's longest topic name. */
const MAX_TOPIC_LENGTH = 249;

/**
 * Encodes a node name into `[a-zA-Z0-9.]` plus `-xx` escapes (one per UTF-8 byte of every other
 * character, `-` and `_` included). Reversible, and never emits `_`: Kafka refuses a topic whose
 * name differs from an existing one only by `.` versus `_` (their metric names collide).
 */
export function encodeTopicPart(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[a-zA-Z0-9.]/.test(c) ? c : `-${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** The inverse of {@link encodeTopicPart}. */
export function decodeTopicPart(part: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    if (part[i] === "-") {
      bytes.push(Number.parseInt(part.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(part.charCodeAt(i));
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Topic and group names under one prefix. */
export class TopicNames {
  /** Where callers read replies and events: `<prefix>.replies`. */
  readonly replies: string;
  /** Fabric-wide notices: `<prefix>.events`. */
  readonly events: string;
  /** Dead letters: `<prefix>.dlq`. */
  readonly dlq: string;

  constructor(readonly prefix: string) {
    this.replies = `${prefix}.replies`;
    this.events = `${prefix}.events`;
    this.dlq = `${prefix}.dlq`;
  }

  /**
   * Request topic of a node: `<prefix>.node.<encoded node>`; a name too long for Kafka keeps a
   * readable start and ends with a hash of the whole node name.
   */
  requests(node: string): string {
    const name = `${this.prefix}.node.${encodeTopicPart(node)}`;
    if (name.length <= MAX_TOPIC_LENGTH) return name;
    const hash = createHash("sha256").update(node).digest("hex").slice(0, 16);
    return `${name.slice(0, MAX_TOPIC_LENGTH - 18)}.h${hash}`;
  }

  /**
   * The consumer group of every replica of the fabric, `<prefix>.replicas`: one member per process
   * (see `ReplicaMember`), each fetching the request topics of the nodes it serves. Commits offsets.
   */
  get replicaGroup(): string {
    return `${this.prefix}.replicas`;
  }

  /** Prefix of every caller's private reply group. */
  get callerGroupPrefix(): string {
    return `${this.prefix}.caller.`;
  }

  /** A caller's private group on the replies topic (never commits). */
  callerGroup(callerId: string): string {
    return `${this.callerGroupPrefix}${callerId}`;
  }

  /** Prefix of every process's private notice group. */
  get noticeGroupPrefix(): string {
    return `${this.prefix}.notices.`;
  }

  /** A process's private group on the events topic (never commits). */
  noticeGroup(callerId: string): string {
    return `${this.noticeGroupPrefix}${callerId}`;
  }
}

/** The reply partition of a caller: a stable hash of its id, so it stays put across restarts. */
export function replyPartitionFor(callerId: string, partitions: number): number {
  return createHash("sha256").update(callerId).digest().readUInt32BE(0) % partitions;
}

/** A return address `topic:partition`. */
export function formatReplyTo(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** Parses `topic:partition`; undefined when malformed. */
export function parseReplyTo(replyTo: string): { topic: string; partition: number } | undefined {
  const i = replyTo.lastIndexOf(":");
  if (i <= 0) return undefined;
  const partition = Number(replyTo.slice(i + 1));
  if (!Number.isInteger(partition) || partition < 0) return undefined;
  return { topic: replyTo.slice(0, i), partition };
}
