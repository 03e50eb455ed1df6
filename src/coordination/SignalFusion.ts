/**
 * `coordinateSignalFusion`: fuses the trading signals of several agents into one decision (buy,
 * sell or hold) for a symbol, as a negotiation session on the fabric's state store.
 *
 * The fused signal (by the strategy, a confidence-weighted average by default) is proposed to the
 * agents, who accept it or counter with their own signal; their answers are fused into the
 * outcome. With `participants: "local"` (the default) each agent answers with the signal it gave,
 * in this process — one round, nothing remote, but the session is recorded like any other. With
 * `"remote"` the agents are asked where they are served (`fabric.serveParticipants`), in any
 * process, and may change their mind on seeing the proposal.
 *
 * A signal is a score in [-1, 1] (negative: sell, positive: buy) or one of `"buy"` (1), `"sell"`
 * (-1), `"hold"` (0), with a confidence in [0, 1]. A session id passed in `sessionId` makes a retry
 * resume the same session instead of negotiating again.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { NoProposalError } from "../errors.js";
import { LocalParticipants } from "../negotiation/LocalParticipants.js";
import type { NegotiationOutcome, Signal } from "../negotiation/NegotiationSession.js";
import type { ParticipantChannel } from "../negotiation/ParticipantChannel.js";
import type { ConflictReport, Contribution, ContributionShare, FusionStrategy } from "../negotiation/strategies/FusionStrategy.js";
import { weightedAverage } from "../negotiation/strategies/weightedAverage.js";
import { negotiate, type NegotiationParts } from "./negotiate.js";
import { definedOnly, finiteIn, isRecord, nonEmpty, positiveInt, show } from "./validation.js";

/** A trading decision. */
export type TradeDecision = "buy" | "sell" | "hold";

/** Options of {@link SignalFusion.coordinate}. */
export interface SignalFusionOptions {
  /** How signals and answers are fused. Default: `weightedAverage()` (confidence-weighted average). */
  strategy?: FusionStrategy;
  /** `"local"`: each agent answers with its own signal, in this process; `"remote"`: agents served with `serveParticipants` are asked. Default `"local"`. */
  participants?: "local" | "remote";
  /** The session id; pass the same id to resume a session after a retry or a crash. Default: a new id per call. */
  sessionId?: string;
  /** How long the agents have to answer, in ms. Default: the fabric's `coordination.fusionDeadlineMs` (10 000). */
  deadlineMs?: number;
  /** Answers that end the negotiation early (an integer in 1 … number of agents). Default: every agent. */
  quorum?: number;
  /** Spread of the scores (max − min, on the [-1, 1] scale) above which the agents are in conflict. Default 0.5. */
  conflictThreshold?: number;
  /** Fused score at or above which the decision is `"buy"`. Default 0.2. */
  buyThreshold?: number;
  /** Fused score at or below which the decision is `"sell"`. Default −0.2. */
  sellThreshold?: number;
  /** Decide `"hold"` whenever a conflict is detected, whatever the fused score. Default true. */
  holdOnConflict?: boolean;
  /** Weight per agent (a finite number ≥ 0). Default 1 each. */
  weights?: Readonly<Record<string, number>>;
  /** Aborts the wait (the session stays open for a retry with the same `sessionId`). */
  signal?: AbortSignal;
}

/** Defaults of {@link SignalFusionOptions}. */
export const SIGNAL_FUSION_DEFAULTS = {
  participants: "local",
  conflictThreshold: 0.5, // spread on the [-1, 1] score scale
  buyThreshold: 0.2, // score
  sellThreshold: -0.2, // score
  holdOnConflict: true,
} as const;

/** The result of a signal fusion. */
export interface SignalFusionResult {
  symbol: string;
  /** What to do. `"hold"` when nothing was fused, when the score is between the thresholds, or (by default) on conflict. */
  decision: TradeDecision;
  /** The fused score in [-1, 1], or `null` when no agent answered. */
  value: number | null;
  /** Confidence in the fused score, in [0, 1] (reduced by the strategy for conflict and rejections). */
  confidence: number;
  /** Whether the agents disagreed beyond `conflictThreshold`. */
  conflict: ConflictReport;
  /** Each answer with its share of the result. */
  contributions: ContributionShare[];
  /** The negotiation session (pass it as `sessionId` to resume). */
  sessionId: string;
  /** The session's full outcome. */
  outcome: NegotiationOutcome;
}

/** What a {@link SignalFusion} works with. */
export interface SignalFusionParts extends NegotiationParts {
  /** Agents served with `serveParticipants`, for `participants: "remote"`. */
  remote: () => ParticipantChannel;
  /** Default deadline, in ms. */
  deadlineMs: number;
}

/** The negotiation type of signal-fusion sessions. */
export const SIGNAL_FUSION_TYPE = "signal-fusion";

const CATEGORIES: Readonly<Record<string, number>> = { buy: 1, sell: -1, hold: 0 };

/** Coordinates signal fusions; see the module comment. */
export class SignalFusion {
  constructor(private readonly p: SignalFusionParts) {}

  /**
   * Fuses `signals` (by agent id) for `symbol`; see the module comment.
   *
   * @throws RangeError for an invalid signal or option; NoProposalError when no signal was given;
   *   the negotiation's errors (`NegotiationCancelledError`, the abort reason of `signal`).
   */
  async coordinate(
    symbol: string,
    signals: Readonly<Record<string, Signal>>,
    options: SignalFusionOptions = {},
  ): Promise<SignalFusionResult> {
    nonEmpty("symbol", symbol);
    const o = { ...SIGNAL_FUSION_DEFAULTS, ...definedOnly(options) };
    // Options come from untyped callers (JSON configs) as often as from typed code.
    const participants: unknown = o.participants;
    if (participants !== "local" && participants !== "remote")
      throw new RangeError(`participants must be "local" or "remote" (got ${show(participants)})`);
    const conflictThreshold = finiteIn("conflictThreshold", o.conflictThreshold, 0);
    const buy = finiteIn("buyThreshold", o.buyThreshold, -1, 1);
    const sell = finiteIn("sellThreshold", o.sellThreshold, -1, 1);
    if (sell >= buy) throw new RangeError(`sellThreshold must be below buyThreshold (${buy}) (got ${sell})`);
    const strategy = o.strategy ?? weightedAverage();
    if (typeof (strategy as Partial<FusionStrategy> | undefined)?.fuse !== "function")
      throw new RangeError(`strategy must be a FusionStrategy (got ${show(strategy)})`);
    const scores = toScores(signals);
    const agents = Object.keys(scores);
    if (agents.length === 0) throw new NoProposalError(symbol);
    const fuseOptions = { conflictThreshold, scale: 1 };
    const contributions: Contribution[] = agents.map((participant) => ({
      participant,
      value: scores[participant]?.value as number,
      confidence: scores[participant]?.confidence as number,
      weight: o.weights?.[participant] ?? 1,
    }));
    const opening = strategy.fuse(contributions, fuseOptions);
    if (opening.value === null) throw new NoProposalError(symbol);
    const proposal: Signal = { value: opening.value, confidence: opening.confidence, rationale: `fused from ${agents.length} signal(s)` };
    const channel = o.participants === "remote" ? this.p.remote() : LocalParticipants.fromSignals(scores);
    const sessionId = o.sessionId === undefined ? `fusion-${randomUUID()}` : nonEmpty("sessionId", o.sessionId);
    const deadlineMs = positiveInt("deadlineMs", o.deadlineMs ?? this.p.deadlineMs, "milliseconds");
    const outcome = await negotiate(
      this.p,
      channel,
      SIGNAL_FUSION_TYPE,
      { strategy, fuseOptions },
      {
        id: sessionId,
        topic: symbol,
        participants: agents,
        proposal,
        context: {
          symbol,
          signals: Object.fromEntries(contributions.map((c) => [c.participant, { value: c.value, confidence: c.confidence }])),
        },
        deadlineMs,
        ...(o.quorum === undefined ? {} : { quorum: o.quorum }),
        ...(o.weights === undefined ? {} : { weights: o.weights }),
      },
      o.signal,
    );
    const value = typeof outcome.value === "number" ? outcome.value : null;
    let decision: TradeDecision = "hold";
    if (value !== null && !(outcome.conflict.detected && o.holdOnConflict))
      decision = value >= buy ? "buy" : value <= sell ? "sell" : "hold";
    return {
      symbol,
      decision,
      value,
      confidence: value === null ? 0 : outcome.confidence,
      conflict: outcome.conflict,
      contributions: outcome.contributions,
      sessionId: outcome.sessionId,
      outcome,
    };
  }
}

/** The signals as numeric scores. @throws RangeError naming the offending signal. */
function toScores(signals: Readonly<Record<string, Signal>>): Record<string, Signal> {
  if (!isRecord(signals)) throw new RangeError(`signals must be an object of { value, confidence } by agent id (got ${show(signals)})`);
  const out: Record<string, Signal> = {};
  for (const [agent, signal] of Object.entries(signals)) {
    nonEmpty("signals key", agent);
    if (!isRecord(signal)) throw new RangeError(`signals.${agent} must be { value, confidence } (got ${show(signal)})`);
    const raw = signal.value;
    const value = typeof raw === "string" && Object.prototype.hasOwnProperty.call(CATEGORIES, raw) ? (CATEGORIES[raw] as number) : raw;
    if (typeof value !== "number" || !Number.isFinite(value) || value < -1 || value > 1) {
      throw new RangeError(`signals.${agent}.value must be a score in [-1, 1] or "buy", "sell", "hold" (got ${show(raw)})`);
    }
    const confidence = finiteIn(`signals.${agent}.confidence`, signal.confidence, 0, 1);
    out[agent] = { ...signal, value, confidence };
  }
  return out;
}
