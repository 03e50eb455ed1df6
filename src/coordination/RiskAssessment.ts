/**
 * `assessRisk`: a distributed value-at-risk calculation with consensus. The risk agents (served
 * with `fabric.serveParticipants`, found by role in the agent directory or named in the call) are
 * asked, in one negotiation session, to answer the request with their own VaR estimate (a
 * `counter` or `bid` whose value is the VaR, in the exposure's currency); a robust strategy (the
 * median by default, or a trimmed mean) turns their answers into the consensus, so one wild agent
 * cannot move it far.
 *
 * When no risk agent is available, or none answers by the deadline, the VaR is computed locally
 * from the price history (historical simulation and the normal method, `riskMath.ts`) and the
 * result says so in `method` and `source`.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { NoRiskEstimateError } from "../errors.js";
import type { JsonValue } from "../negotiation/NegotiationSession.js";
import { defaultContribution, type NegotiationTypeHandler } from "../negotiation/NegotiationType.js";
import type { ParticipantChannel } from "../negotiation/ParticipantChannel.js";
import type { ConflictReport, FusionStrategy, Stance } from "../negotiation/strategies/FusionStrategy.js";
import { median } from "../negotiation/strategies/median.js";
import type { AgentDirectory } from "./AgentDirectory.js";
import { negotiate, type NegotiationParts } from "./negotiate.js";
import { historicalVaR, normalShortfallRatio, parametricVaR, scenarioPnl, type VarEstimate } from "./riskMath.js";
import { definedOnly, finiteIn, isRecord, nonEmpty, positiveInt, show } from "./validation.js";

/** What to assess. Give `positions` or `exposure`. */
export interface RiskRequest {
  /** The instrument or book, for logs and the agents. */
  symbol?: string;
  /** Market value per symbol (currency; negative for shorts). With one price series, their net is the exposure. */
  positions?: Readonly<Record<string, number>>;
  /** Net market value exposed to `prices` (currency; negative for a short). */
  exposure?: number;
  /** Price history, oldest first, one price per day: one series, or one per symbol of `positions`. Needed for the local estimate. */
  prices?: readonly number[] | Readonly<Record<string, readonly number[]>>;
  /** Horizon, in days (> 0). Default 1. */
  horizonDays?: number;
  /** Confidence level of the VaR, in (0, 1). Default 0.95. */
  confidenceLevel?: number;
  /** Largest acceptable VaR (currency, ≥ 0). Default: none (every assessment is approved). */
  limit?: number;
}

/** Options of {@link RiskAssessment.assess}. */
export interface RiskOptions {
  /** The risk agents to ask (participant names served with `serveParticipants`). Default: the agents of `role` that are served. */
  participants?: readonly string[];
  /** Role of the risk agents in the agent directory. Default: the fabric's `coordination.riskRole` (`"risk"`). */
  role?: string;
  /** Consensus strategy. Default `median()`; `trimmedMean()` is the other robust choice. */
  strategy?: FusionStrategy;
  /** How long the agents have to answer, in ms. Default: the fabric's `coordination.riskDeadlineMs` (10 000). */
  deadlineMs?: number;
  /** Answers that end the negotiation early (1 … number of agents). Default: every agent. */
  quorum?: number;
  /** Session id; the same id resumes the session after a retry. Default: a new id per call. */
  sessionId?: string;
  /** Compute locally without asking any agent. Default false. */
  localOnly?: boolean;
  /** Aborts the wait for the agents. */
  signal?: AbortSignal;
}

/** One estimate that went into an assessment. */
export interface RiskContribution {
  /** The agent, or `"local:historical"` / `"local:parametric"`. */
  source: string;
  /** Its VaR estimate (currency). */
  var: number;
  /** Its confidence, in [0, 1]. */
  confidence: number;
  /** Its share of the result, in [0, 1] (0 for a value the strategy set aside). */
  share: number;
  /** How an agent answered (absent for local estimates). */
  stance?: Stance;
}

/** The result of {@link RiskAssessment.assess}. */
export interface RiskResult {
  symbol?: string;
  /** Value at risk over the horizon at the confidence level (currency, ≥ 0). */
  var: number;
  /** Expected shortfall beyond the VaR (currency, ≥ `var`). */
  expectedShortfall: number;
  /** Confidence in the figure, in [0, 1]: the consensus's (reduced for disagreement), or locally how close the two methods came. */
  confidence: number;
  confidenceLevel: number;
  horizonDays: number;
  limit?: number;
  /** `var <= limit`; true without a limit. */
  approved: boolean;
  /** Where the figure came from. */
  source: "agents" | "local";
  /** How it was computed, in words (e.g. `"consensus: median of 4 risk agents"`, `"local: historical and parametric VaR (no risk agent available)"`). */
  method: string;
  contributions: RiskContribution[];
  /** Disagreement among the agents (consensus only). */
  conflict?: ConflictReport;
  /** The negotiation session, when agents were asked. */
  sessionId?: string;
}

/** Defaults of {@link RiskRequest}. */
export const RISK_DEFAULTS = { horizonDays: 1, confidenceLevel: 0.95 } as const;

/** What a {@link RiskAssessment} works with. */
export interface RiskAssessmentParts extends NegotiationParts {
  remote: () => ParticipantChannel;
  directory: AgentDirectory;
  /** Whether a participant is served right now. */
  served: (participant: string) => boolean;
  role: string;
  deadlineMs: number;
}

/** The negotiation type of risk sessions. */
export const RISK_TYPE = "risk-consensus";

/** Runs risk assessments; see the module comment. */
export class RiskAssessment {
  constructor(private readonly p: RiskAssessmentParts) {}

  /**
   * Assesses `request`; see the module comment.
   *
   * @throws RangeError for an invalid request or option; NoRiskEstimateError when no agent answered and there is no price history.
   */
  async assess(request: RiskRequest, options: RiskOptions = {}): Promise<RiskResult> {
    const r = checkRequest(request);
    const local = r.pnl === undefined ? undefined : localEstimate(r.pnl, r);
    const agents = options.localOnly === true ? [] : this.agentsFor(options);
    let why = options.localOnly === true ? "asked for a local estimate" : "no risk agent available";
    if (agents.length > 0) {
      const consensus = await this.consensus(r, agents, local, options);
      if (consensus !== undefined) return consensus;
      why = "no risk agent answered";
    }
    if (local === undefined) throw new NoRiskEstimateError(`${why}, and no price history was given`);
    this.p.logger.info("risk: computed locally", { symbol: r.symbol, why });
    return finish(r, { ...local, source: "local", method: `local: ${local.methods} (${why})` });
  }

  private agentsFor(options: RiskOptions): string[] {
    if (options.participants !== undefined) {
      if (!Array.isArray(options.participants))
        throw new RangeError(`participants must be an array of names (got ${show(options.participants)})`);
      return options.participants.map((p, i) => nonEmpty(`participants[${i}]`, p));
    }
    const role = nonEmpty("role", options.role ?? this.p.role);
    return this.p.directory
      .agents({ role })
      .map((a) => a.agentId)
      .filter((id) => this.p.served(id));
  }

  private async consensus(
    r: CheckedRequest,
    agents: string[],
    local: LocalEstimate | undefined,
    options: RiskOptions,
  ): Promise<RiskResult | undefined> {
    const strategy = options.strategy ?? median();
    const placeholder = local === undefined;
    const handler: NegotiationTypeHandler = {
      strategy,
      // Accepting the placeholder proposal (no local estimate) says nothing about the risk.
      toContribution: (participant, answer, context) =>
        placeholder && answer.kind === "accept" ? undefined : defaultContribution(participant, answer, context),
    };
    const sessionId = options.sessionId === undefined ? `risk-${randomUUID()}` : nonEmpty("sessionId", options.sessionId);
    const outcome = await negotiate(
      this.p,
      this.p.remote(),
      RISK_TYPE,
      handler,
      {
        id: sessionId,
        topic: r.symbol ?? "portfolio",
        participants: agents,
        proposal: local
          ? { value: local.var, confidence: local.confidence, rationale: `local estimate: ${local.methods}` }
          : { value: 0, confidence: 0, rationale: "no local estimate: answer with your own VaR" },
        context: {
          kind: "var-request",
          request: r.json,
          ...(local ? { local: { var: local.var, expectedShortfall: local.expectedShortfall } } : {}),
        },
        deadlineMs: positiveInt("deadlineMs", options.deadlineMs ?? this.p.deadlineMs, "milliseconds"),
        ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
      },
      options.signal,
    );
    if (typeof outcome.value !== "number") return undefined;
    const v = Math.max(0, outcome.value);
    // Agents answer with a VaR only; the tail beyond it is scaled as in the local estimate (or a normal tail).
    const ratio =
      local !== undefined && local.var > 0
        ? local.expectedShortfall / local.var
        : r.confidenceLevel > 0.5
          ? normalShortfallRatio(r.confidenceLevel)
          : 1;
    const answered = outcome.contributions.filter((c) => c.stance !== "reject").length;
    return finish(r, {
      var: v,
      expectedShortfall: v * ratio,
      confidence: outcome.confidence,
      source: "agents",
      method: `consensus: ${strategy.name} of ${answered} risk agent${answered === 1 ? "" : "s"}`,
      contributions: outcome.contributions.map((c) => ({
        source: c.participant,
        var: c.value as number,
        confidence: c.confidence,
        share: c.share,
        stance: c.stance,
      })),
      conflict: outcome.conflict,
      sessionId: outcome.sessionId,
    });
  }
}

interface CheckedRequest {
  symbol: string | undefined;
  /** P&L of each historical scenario, when a price history was given. */
  pnl: number[] | undefined;
  horizonDays: number;
  confidenceLevel: number;
  limit: number | undefined;
  /** The request as the agents see it. */
  json: JsonValue;
}

interface LocalEstimate extends VarEstimate {
  confidence: number;
  methods: string;
  contributions: RiskContribution[];
}

type Figures = VarEstimate & Pick<RiskResult, "confidence" | "source" | "method" | "contributions" | "conflict" | "sessionId">;

function finish(r: CheckedRequest, f: Figures): RiskResult {
  return {
    ...(r.symbol === undefined ? {} : { symbol: r.symbol }),
    var: f.var,
    expectedShortfall: Math.max(f.var, f.expectedShortfall),
    confidence: f.confidence,
    confidenceLevel: r.confidenceLevel,
    horizonDays: r.horizonDays,
    ...(r.limit === undefined ? {} : { limit: r.limit }),
    approved: r.limit === undefined || f.var <= r.limit,
    source: f.source,
    method: f.method,
    contributions: f.contributions,
    ...(f.conflict === undefined ? {} : { conflict: f.conflict }),
    ...(f.sessionId === undefined ? {} : { sessionId: f.sessionId }),
  };
}

/**
 * Both local methods, the more conservative (larger) VaR reported; the confidence is how close the
 * two came (1 when equal; 0.5 with only one method, for a history of two prices).
 */
function localEstimate(pnl: readonly number[], r: CheckedRequest): LocalEstimate {
  const historical = historicalVaR(pnl, r.confidenceLevel, r.horizonDays);
  const parametric = pnl.length >= 2 ? parametricVaR(pnl, r.confidenceLevel, r.horizonDays) : undefined;
  const estimates = [["local:historical", historical] as const, ...(parametric ? [["local:parametric", parametric] as const] : [])];
  const top = estimates.reduce((a, b) => (b[1].var > a[1].var ? b : a));
  const high = top[1].var;
  const low = Math.min(...estimates.map(([, e]) => e.var));
  const confidence = parametric === undefined ? 0.5 : high > 0 ? 1 - (high - low) / high : 1;
  return {
    var: high,
    expectedShortfall: Math.max(...estimates.map(([, e]) => e.expectedShortfall)),
    confidence,
    methods: parametric === undefined ? "historical VaR" : "historical and parametric VaR",
    contributions: estimates.map(([source, e]) => ({ source, var: e.var, confidence, share: source === top[0] ? 1 : 0 })),
  };
}

function checkRequest(request: RiskRequest): CheckedRequest {
  if (!isRecord(request))
    throw new RangeError(
      `request must be { positions | exposure, prices?, horizonDays?, confidenceLevel?, limit? } (got ${show(request)})`,
    );
  const r: RiskRequest = { ...RISK_DEFAULTS, ...definedOnly<RiskRequest>(request) };
  if ((r.positions === undefined) === (r.exposure === undefined)) {
    throw new RangeError(
      `request must give exactly one of positions and exposure (got ${show({ positions: r.positions, exposure: r.exposure })})`,
    );
  }
  let exposure: number | Readonly<Record<string, number>>;
  if (r.positions !== undefined) {
    if (!isRecord(r.positions)) throw new RangeError(`positions must be an object of market values by symbol (got ${show(r.positions)})`);
    for (const [symbol, value] of Object.entries(r.positions)) finiteIn(`positions.${symbol}`, value);
    exposure = r.positions;
  } else exposure = finiteIn("exposure", r.exposure);
  if (r.prices !== undefined && !Array.isArray(r.prices) && !isRecord(r.prices)) {
    throw new RangeError(`prices must be a price history or an object of histories by symbol (got ${show(r.prices)})`);
  }
  const confidenceLevel = r.confidenceLevel;
  if (typeof confidenceLevel !== "number" || !(confidenceLevel > 0 && confidenceLevel < 1))
    throw new RangeError(`confidenceLevel must be in (0, 1) (got ${show(confidenceLevel)})`);
  const horizonDays = r.horizonDays;
  if (typeof horizonDays !== "number" || !(horizonDays > 0 && Number.isFinite(horizonDays)))
    throw new RangeError(`horizonDays must be a finite number > 0 (got ${show(horizonDays)})`);
  const limit = r.limit === undefined ? undefined : finiteIn("limit", r.limit, 0);
  const symbol = r.symbol === undefined ? undefined : nonEmpty("symbol", r.symbol);
  // Computed (and so validated) now: a bad price history must fail the call, not only the local fallback.
  const pnl = r.prices === undefined ? undefined : scenarioPnl(exposure, r.prices);
  const json = JSON.parse(
    JSON.stringify({ symbol, positions: r.positions, exposure: r.exposure, prices: r.prices, horizonDays, confidenceLevel, limit }),
  ) as JsonValue;
  return { symbol, pnl, horizonDays, confidenceLevel, limit, json };
}
