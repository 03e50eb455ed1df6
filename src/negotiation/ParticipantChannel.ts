/**
 * How a proposal reaches a participant and its answer comes back. The protocol engine
 * (`NegotiationCoordinator`) only talks to participants through this interface, so a participant
 * can be an in-process handler ({@link LocalParticipants}) or a replica on the fabric (a remote
 * adapter over the transport) without the protocol knowing which.
 *
 * @module
 */
import type { FusionValue } from "./strategies/FusionStrategy.js";
import type { Answer, JsonValue, Signal } from "./NegotiationSession.js";

/** What a participant is asked. JSON, so it can cross the wire unchanged. */
export interface ParticipantMessage {
  /** The session. */
  sessionId: string;
  /** Its negotiation type (a remote adapter may route on it). */
  type: string;
  /** Its topic. */
  topic: string;
  /** The round being asked about (from 1). */
  round: number;
  /** What to answer: accept, reject, counter it, or bid. */
  proposal: Signal;
  /** What else the participant should see (prices, the task…). */
  context: JsonValue;
  /** Answers recorded at or after this time (epoch ms, the initiator's clock) are ignored. */
  deadline: number;
  /** Everyone asked in this session. */
  participants: string[];
}

/** What a participant is told once the session has ended (contract net: whether its bid won). */
export interface ParticipantNotice {
  /** `"award"`: its bid won; `"reject"`: it did not. */
  kind: "award" | "reject";
  /** The session. */
  sessionId: string;
  /** Its negotiation type. */
  type: string;
  /** Its topic. */
  topic: string;
  /** The round the decision came from. */
  round: number;
  /** The winning participant, if any. */
  winner?: string;
  /** The decided value (the winning bid's), or null. */
  value: FusionValue | null;
}

/**
 * The channel between the protocol and its participants.
 *
 * Idempotency contract: the protocol may ask the same (sessionId, round, participant) more than
 * once — a replacement initiator re-asks the participants whose answers were not recorded when
 * its predecessor died, and two coordinators may run one session at once. An implementation should
 * answer such repeats with the first answer instead of running the participant again; a remote
 * adapter uses that triple as the idempotency key of the call. The protocol itself records only
 * the first answer per triple, so a repeat never counts twice either way. Notices are likewise
 * keyed by (sessionId, `"notice"`, participant) and may be repeated after a crash.
 */
export interface ParticipantChannel {
  /**
   * Asks `participant` about `message` and resolves with its answer. Should reject promptly when
   * `signal` aborts (the round closed, the deadline passed, or the initiator gave up). A rejection
   * counts as "no answer": the participant stays missing and the session goes on without it.
   */
  ask(participant: string, message: ParticipantMessage, signal: AbortSignal): Promise<Answer>;
  /**
   * Tells `participant` the result that concerns it (contract net awards and rejections). Optional:
   * without it no notices are sent. A rejection is logged and the notice is retried by the next
   * `run`/`resume` of the session.
   */
  notify?(participant: string, notice: ParticipantNotice): Promise<void>;
}
