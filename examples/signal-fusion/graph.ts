/**
 * The signal-fusion trading graph — the module that the runner (which runs the graph) and the
 * workers (which serve its agent nodes as replicas) both import:
 *
 * ```
 * START → market → momentum ─┐
 *                → meanReversion ─┼→ fuse (negotiation) → risk → decide → END
 *                → sentiment ─┘
 * ```
 *
 * `market` loads a symbol's prices and headlines; the three agents are plain node functions that
 * each add their {@link AgentSignal} to `state.signals`; `fuse` is a `negotiationNode` that fuses
 * them (confidence-weighted average, with conflict detection); `risk` sizes the position from
 * volatility and the fused confidence, or rejects the trade; `decide` turns it into buy, sell or
 * hold. Nothing here knows about Kafka or Redis: `fabric.distribute(builder, …)` moves the agents
 * to replicas without a change to this file.
 *
 * @module
 */
import { hostname } from "node:os";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { negotiationNode, weightedAverage, type NegotiationOutcome } from "../../src/index.js";
import { headlinesFor } from "./headlines.js";
import { annualizedVolatility } from "./indicators.js";
import { DEFAULT_SEED, generatePrices } from "./prices.js";
import { meanReversionSignal, momentumSignal, round4, sentimentSignal, type AgentSignal } from "./signals.js";

export type { AgentSignal } from "./signals.js";

/** The agent nodes, which are also the negotiation's participants. */
export const AGENTS = ["momentum", "meanReversion", "sentiment"] as const;

/** An agent's name. */
export type AgentName = (typeof AGENTS)[number];

/** Each agent's standing in the fusion: sentiment from five headlines counts for less than price action. */
export const AGENT_WEIGHTS: Readonly<Record<AgentName, number>> = { momentum: 1, meanReversion: 0.8, sentiment: 0.5 };

/**
 * Conflict rule of the fusion. Signals live in [-1, 1], so the spread is measured on that absolute
 * scale (`scale: 1`) rather than relative to the largest value, which would call two weak signals
 * of opposite sign (+0.05, −0.05) a conflict. A spread above 1.2 (e.g. +0.7 against −0.6) is one.
 */
export const FUSION = { scale: 1, conflictThreshold: 1.2 } as const;

/** Risk limits of the `risk` node. */
export const RISK = {
  /** Window of the volatility estimate, in trading days. */
  volWindow: 20,
  /** Annualized volatility above which no position is taken (0.6 = 60 % a year). */
  maxVolatility: 0.6,
  /** Volatility a full-size position is scaled to: above it, positions shrink proportionally. */
  targetVolatility: 0.25,
  /** Largest position, in percent of capital. */
  maxPositionPct: 10,
  /** Fused confidence below which the signal is not traded. */
  minConfidence: 0.2,
} as const;

/** Smallest |fused value| that `decide` trades on; below it the agents have no edge worth paying costs for. */
export const DECISION_THRESHOLD = 0.1;

/** The fused signal, as the `fuse` node writes it (from the negotiation's outcome). */
export interface FusedSignal {
  /** Fused value in [-1, 1] (0 when nothing could be fused). */
  value: number;
  /** Fused confidence, already reduced for conflict. */
  confidence: number;
  /** True when the agents agreed (no conflict, nobody rejected). */
  agreed: boolean;
  /** True when their spread exceeded the threshold. */
  conflict: boolean;
  /** Their spread (max − min of the values). */
  spread: number;
  /** Each agent's share of the fused value. */
  shares: Record<string, number>;
  /** How the negotiation ended (`"finalized"`, …) and why (`"all-answered"`, …). */
  outcome: `${NegotiationOutcome["state"]}/${NegotiationOutcome["reason"]}`;
}

/** The `risk` node's verdict. */
export interface RiskVerdict {
  approved: boolean;
  /** Position size in percent of capital (0 when rejected). */
  sizePct: number;
  /** Annualized volatility of the last `RISK.volWindow` days. */
  volatility: number;
  /** Why, in words. */
  reason: string;
}

/** The final decision. */
export interface Decision {
  action: "buy" | "sell" | "hold";
  /** Position size in percent of capital (0 for hold). */
  sizePct: number;
  reason: string;
}

const merge = <T>(a: Record<string, T>, b: Record<string, T>): Record<string, T> => ({ ...a, ...b });

/** The graph state. Input: `{ symbol }` (and optionally `seed`). */
export const SignalFusionState = Annotation.Root({
  symbol: Annotation<string>,
  /** Seed of the price generator. Default {@link DEFAULT_SEED}. */
  seed: Annotation<number | undefined>,
  /** Daily closes, oldest first (set by `market`). */
  prices: Annotation<number[]>,
  /** Recent headlines, oldest first (set by `market`). */
  headlines: Annotation<string[]>,
  /** Each agent's signal, by agent name (merged: the agents run in parallel). */
  signals: Annotation<Record<string, AgentSignal>>({ reducer: merge, default: () => ({}) }),
  /** Which process computed each agent's signal (`host:pid`), to show where the fabric ran it. */
  servedBy: Annotation<Record<string, string>>({ reducer: merge, default: () => ({}) }),
  fused: Annotation<FusedSignal | undefined>,
  /** The `risk` node's verdict (a channel cannot share the node's name). */
  verdict: Annotation<RiskVerdict | undefined>,
  decision: Annotation<Decision | undefined>,
});

/** The state's type. */
export type SignalFusionStateType = typeof SignalFusionState.State;
type Update = Partial<SignalFusionStateType>;

const WHERE = `${hostname()}:${process.pid}`;

/** Loads the symbol's market data. */
export function market(state: SignalFusionStateType): Update {
  return { prices: generatePrices(state.symbol, state.seed ?? DEFAULT_SEED).closes, headlines: [...headlinesFor(state.symbol)] };
}

/** The momentum agent. */
export function momentum(state: SignalFusionStateType): Update {
  return { signals: { momentum: momentumSignal(state.prices) }, servedBy: { momentum: WHERE } };
}

/** The mean-reversion agent. */
export function meanReversion(state: SignalFusionStateType): Update {
  return { signals: { meanReversion: meanReversionSignal(state.prices) }, servedBy: { meanReversion: WHERE } };
}

/** The sentiment agent. */
export function sentiment(state: SignalFusionStateType): Update {
  return { signals: { sentiment: sentimentSignal(state.headlines) }, servedBy: { sentiment: WHERE } };
}

/** The fused signal of a negotiation outcome. */
export function fusedFrom(outcome: NegotiationOutcome): FusedSignal {
  return {
    value: typeof outcome.value === "number" ? round4(outcome.value) : 0,
    confidence: round4(outcome.confidence),
    agreed: outcome.agreed,
    conflict: outcome.conflict.detected,
    spread: round4(outcome.conflict.spread),
    shares: Object.fromEntries(outcome.contributions.map((c) => [c.participant, round4(c.share)])),
    outcome: `${outcome.state}/${outcome.reason}`,
  };
}

/** The negotiation among the agents: each holds its signal from the state; the strategy fuses them. */
export const fuse = negotiationNode<SignalFusionStateType, Update>({
  participants: AGENTS,
  strategy: weightedAverage(),
  weights: AGENT_WEIGHTS,
  hooks: { fuseOptions: FUSION },
  topic: (state) => `${state.symbol} position`,
  output: (outcome) => ({ fused: fusedFrom(outcome) }),
});

/** Risk: reject on conflict, excess volatility or low confidence; otherwise size by conviction and volatility. */
export function risk(state: SignalFusionStateType): Update {
  const fused = state.fused;
  const volatility = round4(annualizedVolatility(state.prices, RISK.volWindow));
  const reject = (reason: string): Update => ({ verdict: { approved: false, sizePct: 0, volatility, reason } });
  if (fused === undefined) return reject("no fused signal");
  if (fused.conflict) return reject(`agents conflict (spread ${fused.spread.toFixed(2)} > ${FUSION.conflictThreshold})`);
  if (volatility > RISK.maxVolatility) return reject(`volatility ${pct(volatility)} above the ${pct(RISK.maxVolatility)} limit`);
  if (fused.confidence < RISK.minConfidence) return reject(`confidence ${fused.confidence.toFixed(2)} below ${RISK.minConfidence}`);
  const volScale = Math.min(1, RISK.targetVolatility / volatility);
  const sizePct = Math.round(RISK.maxPositionPct * Math.abs(fused.value) * fused.confidence * volScale * 10) / 10;
  return {
    verdict: {
      approved: true,
      sizePct,
      volatility,
      reason: `vol ${pct(volatility)}, conviction ${Math.abs(fused.value).toFixed(2)}×${fused.confidence.toFixed(2)}`,
    },
  };
}

/** The decision: trade in the fused direction at the approved size, or hold. */
export function decide(state: SignalFusionStateType): Update {
  const { fused, verdict } = state;
  if (fused === undefined || verdict === undefined) return { decision: { action: "hold", sizePct: 0, reason: "incomplete analysis" } };
  if (!verdict.approved) return { decision: { action: "hold", sizePct: 0, reason: `risk: ${verdict.reason}` } };
  if (Math.abs(fused.value) < DECISION_THRESHOLD || verdict.sizePct === 0) {
    return { decision: { action: "hold", sizePct: 0, reason: `no edge (|${fused.value.toFixed(2)}| < ${DECISION_THRESHOLD})` } };
  }
  const action = fused.value > 0 ? "buy" : "sell";
  return {
    decision: { action, sizePct: verdict.sizePct, reason: `fused ${fused.value.toFixed(2)} at confidence ${fused.confidence.toFixed(2)}` },
  };
}

/** The graph builder (export it, not the compiled graph: the fabric distributes builders). */
export const builder = new StateGraph(SignalFusionState)
  .addNode("market", market)
  .addNode("momentum", momentum)
  .addNode("meanReversion", meanReversion)
  .addNode("sentiment", sentiment)
  .addNode("fuse", fuse)
  .addNode("risk", risk)
  .addNode("decide", decide)
  .addEdge(START, "market")
  .addEdge("market", "momentum")
  .addEdge("market", "meanReversion")
  .addEdge("market", "sentiment")
  .addEdge(["momentum", "meanReversion", "sentiment"], "fuse")
  .addEdge("fuse", "risk")
  .addEdge("risk", "decide")
  .addEdge("decide", END);

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
