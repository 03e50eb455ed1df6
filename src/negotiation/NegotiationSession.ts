/**
 * The negotiation session document and its parts (signals, answers, rounds, outcomes), as types
 * and as zod schemas. A session is one JSON document in the state store; it is validated with
 * these schemas whenever it is read back, because other processes (and other versions of this
 * package) write it too.
 *
 * @module
 */
import { z } from "zod";
import type { ConflictReport, ContributionShare, FusionDecision, FusionValue } from "./strategies/FusionStrategy.js";

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Schema of {@link JsonValue}. */
export const jsonValueSchema: z.ZodType<JsonValue> = z.json();

const confidence = z.number().min(0).max(1);
const fusionValue = z.union([z.number(), z.string()]);

/** A position one agent holds: a value with a confidence. */
export interface Signal {
  /** A number (price, size, score) or a category (`"buy"`). */
  value: FusionValue;
  /** How sure the agent is, in [0, 1]. */
  confidence: number;
  /** Why, in words (shown to the other participants). */
  rationale?: string;
  /** Anything else the agent wants to attach. */
  data?: JsonValue;
}

/** Schema of {@link Signal}. */
export const signalSchema: z.ZodType<Signal> = z.object({
  value: fusionValue,
  confidence,
  rationale: z.string().optional(),
  data: jsonValueSchema.optional(),
});

/**
 * A participant's answer to a proposal.
 *
 * - `accept`: the proposal as is (confidence default: the proposal's);
 * - `reject`: no (confidence default 1);
 * - `counter`: another value with a confidence;
 * - `bid` (contract net): an offer with a `cost` and/or a `score` (confidence default 1).
 */
export type Answer =
  | { kind: "accept"; confidence?: number }
  | { kind: "reject"; reason?: string; confidence?: number }
  | { kind: "counter"; value: FusionValue; confidence: number; rationale?: string }
  | { kind: "bid"; cost?: number; score?: number; value?: FusionValue; confidence?: number };

const acceptSchema = z.object({ kind: z.literal("accept"), confidence: confidence.optional() });
const rejectSchema = z.object({ kind: z.literal("reject"), reason: z.string().optional(), confidence: confidence.optional() });
const counterSchema = z.object({ kind: z.literal("counter"), value: fusionValue, confidence, rationale: z.string().optional() });
const bidSchema = z.object({
  kind: z.literal("bid"),
  cost: z.number().optional(),
  score: z.number().optional(),
  value: fusionValue.optional(),
  confidence: confidence.optional(),
});

/** Schema of {@link Answer}; unknown fields are dropped. */
export const answerSchema: z.ZodType<Answer> = z.discriminatedUnion("kind", [acceptSchema, rejectSchema, counterSchema, bidSchema]);

/** An answer as recorded in a round: with the time it was recorded (epoch ms, the recording coordinator's clock). */
export type RecordedAnswer = Answer & { at: number };

const recordedAt = { at: z.number() };

/** Schema of {@link RecordedAnswer}. */
export const recordedAnswerSchema: z.ZodType<RecordedAnswer> = z.discriminatedUnion("kind", [
  acceptSchema.extend(recordedAt),
  rejectSchema.extend(recordedAt),
  counterSchema.extend(recordedAt),
  bidSchema.extend(recordedAt),
]);

/** A fused result as stored (the JSON form of a strategy's `FusionResult`). */
export interface StoredFusion {
  value: FusionValue | null;
  confidence: number;
  agreed: boolean;
  conflict: ConflictReport;
  contributions: ContributionShare[];
  decision?: FusionDecision;
}

const fusionSchema: z.ZodType<StoredFusion> = z.object({
  value: fusionValue.nullable(),
  confidence,
  agreed: z.boolean(),
  conflict: z.object({ detected: z.boolean(), spread: z.number().min(0), threshold: z.number().min(0) }),
  contributions: z.array(
    z.object({
      participant: z.string(),
      value: fusionValue,
      confidence,
      weight: z.number().min(0),
      stance: z.enum(["accept", "counter", "reject", "bid"]),
      share: z.number().min(0).max(1),
    }),
  ),
  decision: z
    .object({
      winner: z.string().optional(),
      awards: z.record(z.string(), z.enum(["award", "reject"])).optional(),
      dissenters: z.array(z.string()).optional(),
      tally: z.record(z.string(), z.number()).optional(),
      tie: z.boolean().optional(),
      trimmed: z.array(z.string()).optional(),
    })
    .optional(),
});

/** One round: a proposal and the answers to it. */
export interface NegotiationRound {
  /** Round number, from 1. */
  n: number;
  /** What the participants were asked about. */
  proposal: Signal;
  /** When the round opened (epoch ms). */
  openedAt: number;
  /** The answers, by participant: at most one each, the first recorded wins. */
  answers: Record<string, RecordedAnswer>;
  /** The fused result when the round closed (absent while it is open). */
  result?: StoredFusion;
}

/** How a session ended. */
export type SessionState = "open" | "finalized" | "expired" | "cancelled";

/**
 * Why a session ended: every participant answered; a quorum did; the deadline came (with at
 * least `minAnswers` answers: finalized, else expired — `"insufficient-answers"`); or it was
 * cancelled.
 */
export type OutcomeReason = "all-answered" | "quorum" | "deadline" | "insufficient-answers" | "cancelled";

/** The result of a negotiation (what `negotiationNode` writes to the graph state). */
export interface NegotiationOutcome extends StoredFusion {
  /** The session. */
  sessionId: string;
  /** Its negotiation type. */
  type: string;
  /** Its topic. */
  topic: string;
  /** How it ended (never `"open"`). */
  state: Exclude<SessionState, "open">;
  /** Why it ended. */
  reason: OutcomeReason;
  /** How many rounds were opened. */
  rounds: number;
  /** Participants whose answers were fused. */
  answered: string[];
  /** Participants without an answer in the fusion. */
  missing: string[];
  /** When it ended (epoch ms). */
  finalizedAt: number;
}

/** Schema of {@link NegotiationOutcome}. */
export const outcomeSchema: z.ZodType<NegotiationOutcome> = z.intersection(
  fusionSchema,
  z.object({
    sessionId: z.string(),
    type: z.string(),
    topic: z.string(),
    state: z.enum(["finalized", "expired", "cancelled"]),
    reason: z.enum(["all-answered", "quorum", "deadline", "insufficient-answers", "cancelled"]),
    rounds: z.number().int().min(0),
    answered: z.array(z.string()),
    missing: z.array(z.string()),
    finalizedAt: z.number(),
  }),
);

/** A notice sent to a participant after the session ended (contract net), as recorded so it is sent once. */
export interface NoticeRecord {
  /** What it was told. */
  kind: "award" | "reject";
  /** When it was sent (epoch ms). */
  at: number;
}

/** A negotiation session: the one JSON document the protocol keeps per negotiation. */
export interface NegotiationSession {
  /** Unique id (the state store key). */
  id: string;
  /** Negotiation type: selects the registered handler (strategy and hooks). */
  type: string;
  /** What it is about, e.g. `"AAPL position"`. */
  topic: string;
  /** Who started it (a stable name: a replacement initiator finds its open sessions by it). */
  initiator: string;
  /** Who is asked, in order. */
  participants: string[];
  /** The opening proposal. */
  proposal: Signal;
  /** What the participants see besides the proposal (prices, the task description…). */
  context: JsonValue;
  /** Weight per participant (default 1), passed to the strategy. */
  weights: Record<string, number>;
  /** When it ends at the latest (epoch ms, the initiator's clock). */
  deadline: number;
  /** Most rounds (≥ 1). */
  maxRounds: number;
  /** Answers that close a round before the deadline (1 … participants). */
  quorum: number;
  /** Fewest answers for the deadline to finalize rather than expire (1 … participants). */
  minAnswers: number;
  /** The rounds so far; the last one is the current one. */
  rounds: NegotiationRound[];
  /** Lifecycle state. */
  state: SessionState;
  /** The result, once the state is not `"open"`. */
  outcome?: NegotiationOutcome;
  /** Notices sent after the end, by participant. */
  notices: Record<string, NoticeRecord>;
  /**
   * Change-notice channels of the processes driving the session (see `SessionChangeFeed`): every
   * write is announced on them. Absent in documents of earlier versions (their runs poll).
   */
  watchers?: string[];
  /** Created (epoch ms). */
  createdAt: number;
  /** Last written (epoch ms). */
  updatedAt: number;
  /** Incremented by every write. */
  version: number;
}

/** Schema of {@link NegotiationSession}. */
export const sessionSchema: z.ZodType<NegotiationSession> = z.object({
  id: z.string().min(1),
  type: z.string(),
  topic: z.string(),
  initiator: z.string(),
  participants: z.array(z.string().min(1)).min(1),
  proposal: signalSchema,
  context: jsonValueSchema,
  weights: z.record(z.string(), z.number().min(0)),
  deadline: z.number(),
  maxRounds: z.number().int().min(1),
  quorum: z.number().int().min(1),
  minAnswers: z.number().int().min(1),
  rounds: z
    .array(
      z.object({
        n: z.number().int().min(1),
        proposal: signalSchema,
        openedAt: z.number(),
        answers: z.record(z.string(), recordedAnswerSchema),
        result: fusionSchema.optional(),
      }),
    )
    .min(1),
  state: z.enum(["open", "finalized", "expired", "cancelled"]),
  outcome: outcomeSchema.optional(),
  notices: z.record(z.string(), z.object({ kind: z.enum(["award", "reject"]), at: z.number() })),
  watchers: z.array(z.string()).optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  version: z.number().int().min(0),
});
