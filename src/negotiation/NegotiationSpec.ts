/**
 * What to negotiate ({@link NegotiationSpec}), the protocol's defaults in one place, and the
 * validation that turns a spec into a new session document.
 *
 * @module
 */
import { NoParticipantsError } from "../errors.js";
import { jsonValueSchema, signalSchema, type JsonValue, type NegotiationSession, type Signal } from "./NegotiationSession.js";
import type { NegotiationTypeHandler } from "./NegotiationType.js";

/** Defaults of the coordinator and of specs. */
export const NEGOTIATION_DEFAULTS = {
  /** Negotiation type of a spec without one. */
  type: "default",
  /** Initiator name of a coordinator without one. */
  initiator: "coordinator",
  deadlineMs: 30_000, // ms from start to deadline
  maxRounds: 1, // rounds: further rounds cost every participant another answer, so they are opt-in
  minAnswers: 1, // answers needed at the deadline to finalize rather than expire
  pollMs: 1_000, // ms between re-reads of a running session (backs up pub/sub)
  retentionMs: 24 * 3600_000, // ms an ended session is kept
  maxUpdateAttempts: 100, // compare-and-set attempts per session write
} as const;

/** What to negotiate: the input of `NegotiationCoordinator.start`. */
export interface NegotiationSpec {
  /** Session id. Default: a new random id. A deterministic id makes `start` idempotent (how `negotiationNode` survives crashes). */
  id?: string;
  /** Negotiation type (must be registered). Default `"default"`. */
  type?: string;
  /** What it is about. */
  topic: string;
  /** Who is asked (non-empty, unique names). */
  participants: readonly string[];
  /** The opening proposal. */
  proposal: Signal;
  /** JSON the participants see with the proposal. Default `null`. */
  context?: JsonValue;
  /** Weight per participant for the strategy (finite, ≥ 0). Default 1 each. */
  weights?: Readonly<Record<string, number>>;
  /** Time from now to the deadline, in ms (positive integer). Default 30 000. */
  deadlineMs?: number;
  /** Most rounds (integer ≥ 1). Default 1. */
  maxRounds?: number;
  /** Answers that close a round early (integer in 1 … participants). Default: all participants. */
  quorum?: number;
  /** Fewest answers for the deadline to finalize rather than expire (integer in 1 … participants). Default 1. */
  minAnswers?: number;
  /** Initiator name. Default: the coordinator's `initiator`. */
  initiator?: string;
}

/** What {@link buildSession} needs besides the spec. */
export interface BuildContext {
  /** The handler of the spec's type (already resolved). */
  handler: NegotiationTypeHandler;
  /** The clock, epoch ms. */
  now: number;
  /** Id for a spec without one. */
  newId: () => string;
  /** Initiator for a spec without one. */
  initiator: string;
}

/**
 * Validates `spec` and returns the document of a new session: round 1 open on the proposal, the
 * deadline `deadlineMs` from `now`, version 0.
 *
 * @throws NoParticipantsError for an empty participant list; RangeError naming any other invalid field and its value.
 */
export function buildSession(
  spec: NegotiationSpec,
  { handler, now, newId, initiator: defaultInitiator }: BuildContext,
): NegotiationSession {
  const type = spec.type ?? NEGOTIATION_DEFAULTS.type;
  nonEmptyString("topic", spec.topic, true);
  const given: unknown = spec.participants;
  const participants: unknown[] = Array.isArray(given) ? (given as unknown[]).slice() : [];
  if (participants.length === 0) throw new NoParticipantsError(spec.topic);
  participants.forEach((p, i) => {
    nonEmptyString(`participants[${i}]`, p);
    // Answers, weights and notices are keyed by participant in plain JSON objects.
    if (p === "__proto__") throw new RangeError(`participants[${i}] must not be "__proto__" (got "__proto__")`);
  });
  const names = participants as string[];
  if (new Set(names).size !== names.length) throw new RangeError(`participants must be unique (got ${JSON.stringify(names)})`);
  const proposal = signalSchema.safeParse(spec.proposal);
  if (!proposal.success) {
    throw new RangeError(
      `proposal must be a signal { value, confidence in [0, 1] } (got ${JSON.stringify(spec.proposal)}): ${proposal.error.message}`,
    );
  }
  if (handler.strategy.valueKind === "number" && typeof proposal.data.value !== "number") {
    throw new RangeError(
      `proposal.value must be a number for strategy ${handler.strategy.name} (got ${JSON.stringify(proposal.data.value)})`,
    );
  }
  const context = jsonValueSchema.safeParse(spec.context ?? null);
  if (!context.success) throw new RangeError(`context must be JSON (got ${typeof spec.context})`);
  const n = names.length;
  const quorum = integerIn("quorum", spec.quorum ?? n, 1, n);
  const minAnswers = integerIn("minAnswers", spec.minAnswers ?? NEGOTIATION_DEFAULTS.minAnswers, 1, n);
  const maxRounds = integerIn("maxRounds", spec.maxRounds ?? NEGOTIATION_DEFAULTS.maxRounds, 1, Number.MAX_SAFE_INTEGER);
  const deadlineMs = positiveInteger("deadlineMs", spec.deadlineMs ?? NEGOTIATION_DEFAULTS.deadlineMs);
  const weights: Record<string, number> = {};
  for (const [p, w] of Object.entries(spec.weights ?? {})) {
    if (!names.includes(p)) throw new RangeError(`weights must name participants only (got "${p}")`);
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0)
      throw new RangeError(`weights.${p} must be a finite number >= 0 (got ${JSON.stringify(w)})`);
    weights[p] = w;
  }
  const id = spec.id ?? newId();
  nonEmptyString("id", id);
  const initiator = spec.initiator ?? defaultInitiator;
  nonEmptyString("initiator", initiator);
  return {
    id,
    type,
    topic: spec.topic,
    initiator,
    participants: names,
    proposal: proposal.data,
    context: context.data,
    weights,
    deadline: now + deadlineMs,
    maxRounds,
    quorum,
    minAnswers,
    rounds: [{ n: 1, proposal: proposal.data, openedAt: now, answers: {} }],
    state: "open",
    notices: {},
    createdAt: now,
    updatedAt: now,
    version: 0,
  };
}

/** @throws RangeError unless `value` is a (non-empty, unless `allowEmpty`) string. */
export function nonEmptyString(field: string, value: unknown, allowEmpty = false): asserts value is string {
  if (typeof value !== "string" || (!allowEmpty && value === "")) {
    throw new RangeError(`${field} must be a ${allowEmpty ? "" : "non-empty "}string (got ${JSON.stringify(value)})`);
  }
}

/** @throws RangeError unless `value` is a positive integer. */
export function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0)
    throw new RangeError(`${field} must be a positive integer (got ${JSON.stringify(value)})`);
  return value;
}

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${field} must be an integer in [${min}, ${max}] (got ${JSON.stringify(value)})`);
  }
  return value;
}
