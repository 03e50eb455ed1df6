/**
 * What an emergency broadcast is made of: the emergency as agents receive it, the notices that
 * carry it and its acknowledgements across processes (transport notices, so they cross Kafka),
 * the records kept in the state store, and their JSON codecs.
 *
 * @module
 */
import { z } from "zod";
import { jsonValueSchema, type JsonValue } from "../negotiation/NegotiationSession.js";
import type { AgentInfo } from "./AgentDirectory.js";

/** An emergency as an agent receives it. */
export interface Emergency {
  /** The broadcast's id (the same for every re-broadcast of one emergency). */
  readonly id: string;
  /** What the broadcaster said. */
  readonly message: JsonValue;
  /** Caller id of the broadcasting process. */
  readonly from: string;
  /** When it was first broadcast (epoch ms, the broadcaster's clock). */
  readonly at: number;
}

/**
 * Handles an emergency for one agent. The agent's acknowledgement is recorded once every handler
 * of the agent has resolved; a handler that throws makes it a failure (reported to the
 * broadcaster with the error's message, and run again by a re-broadcast of the same id).
 */
export type EmergencyHandler = (emergency: Emergency, agent: AgentInfo) => void | Promise<void>;

/** The broadcast notice, and the broadcast's record in the store. */
export interface BroadcastRecord extends Emergency {
  /** The agents asked to acknowledge (fixed when the id was first broadcast). */
  readonly targets: readonly string[];
  /**
   * Notices only: which broadcast of the id this is. A failed acknowledgement counts only for the
   * attempt it answers, so a re-broadcast waits for the retried handler instead of the old failure.
   */
  readonly attempt?: string;
}

/** One agent's acknowledgement, as recorded and announced. */
export interface AckRecord {
  /** The broadcast. */
  readonly id: string;
  /** The agent. */
  readonly agentId: string;
  /** True when every handler of the agent resolved. */
  readonly ok: boolean;
  /** The first handler error's message, when not ok. */
  readonly error?: string;
  /** When it was recorded (epoch ms, the agent's process's clock). */
  readonly at: number;
  /** Caller id of the agent's process. */
  readonly by: string;
  /** The broadcast attempt it answers (see {@link BroadcastRecord.attempt}). */
  readonly attempt?: string;
}

/** Transport channels of emergencies and acknowledgements. */
export const EMERGENCY_CHANNELS = { broadcast: "fabric.emergency", ack: "fabric.emergency.ack" } as const;

/** Where a broadcast's records live in the state store: `namespace(...EMERGENCY_NAMESPACE, id)`. */
export const EMERGENCY_NAMESPACE = ["coordination", "emergency"] as const;

/** Key of the broadcast record in its namespace. */
export const BROADCAST_KEY = "broadcast";

/** Key of an agent's acknowledgement in the broadcast's namespace. */
export function ackKey(agentId: string): string {
  return `ack:${agentId}`;
}

const broadcastSchema: z.ZodType<BroadcastRecord> = z.object({
  id: z.string().min(1),
  message: jsonValueSchema,
  from: z.string(),
  at: z.number(),
  targets: z.array(z.string()),
  attempt: z.string().optional(),
});

const ackSchema: z.ZodType<AckRecord> = z.object({
  id: z.string().min(1),
  agentId: z.string().min(1),
  ok: z.boolean(),
  error: z.string().optional(),
  at: z.number(),
  by: z.string(),
  attempt: z.string().optional(),
});

/** A broadcast record read from the store or a notice, or `undefined` when malformed. */
export function parseBroadcast(value: unknown): BroadcastRecord | undefined {
  return broadcastSchema.safeParse(value).data;
}

/** An acknowledgement read from the store or a notice, or `undefined` when malformed. */
export function parseAck(value: unknown): AckRecord | undefined {
  return ackSchema.safeParse(value).data;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON bytes of a notice payload. */
export function encodeNotice(value: BroadcastRecord | AckRecord): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** The JSON value of a notice payload, or `undefined` when it is not JSON. */
export function decodeNotice(payload: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(payload)) as unknown;
  } catch {
    return undefined;
  }
}
