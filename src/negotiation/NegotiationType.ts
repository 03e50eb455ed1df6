/**
 * Negotiation types: what a coordinator needs to know to run a kind of negotiation — its fusion
 * strategy and optional hooks that replace the protocol's defaults. Types are registered by name
 * on a coordinator; a session stores only the name, so every process that runs or resumes a
 * session must register the same type.
 *
 * @module
 */
import type { Contribution, FuseOptions, FusionResult, FusionStrategy } from "./strategies/FusionStrategy.js";
import type { NegotiationSession, RecordedAnswer, Signal } from "./NegotiationSession.js";

/** What {@link NegotiationTypeHandler.toContribution} gets besides the answer. */
export interface ContributionContext {
  /** The proposal the answer was given to (its round's). */
  proposal: Signal;
  /** The participant's weight from the session (default 1). */
  weight: number;
  /** The session (read only). */
  session: NegotiationSession;
}

/** The strategy and hooks of one negotiation type. Hooks must be pure: they run inside compare-and-set retries. */
export interface NegotiationTypeHandler {
  /** Fuses the answers of a round. */
  strategy: FusionStrategy;
  /** Options for every fusion of this type (`conflictThreshold`, `scale`); the protocol sets `reference` to the round's proposal value. */
  fuseOptions?: Omit<FuseOptions, "reference">;
  /** Turns an answer into the strategy's input; `undefined` leaves it out. Default: {@link defaultContribution}. */
  toContribution?: (participant: string, answer: RecordedAnswer, context: ContributionContext) => Contribution | undefined;
  /** Whether a closed round's result ends the negotiation. Default: `result.agreed`. */
  converged?: (result: FusionResult, session: NegotiationSession) => boolean;
  /**
   * The proposal of the next round after a round that did not converge, or `undefined` to
   * finalize now. Default: {@link defaultNextProposal}.
   */
  nextProposal?: (result: FusionResult, session: NegotiationSession) => Signal | undefined;
}

/**
 * The default mapping of answers to contributions:
 *
 * - `accept` → the proposal's value, with the answer's confidence or else the proposal's;
 * - `counter` → its value and confidence;
 * - `reject` → stance `"reject"` (the proposal's value, ignored), confidence default 1;
 * - `bid` → stance `"bid"` with `cost`/`score`, value: the bid's value, else its cost (lowest-cost)
 *   or score, else the proposal's; confidence default 1.
 */
export function defaultContribution(participant: string, answer: RecordedAnswer, context: ContributionContext): Contribution {
  const { proposal, weight } = context;
  switch (answer.kind) {
    case "accept":
      return { participant, value: proposal.value, confidence: answer.confidence ?? proposal.confidence, weight, stance: "accept" };
    case "counter":
      return { participant, value: answer.value, confidence: answer.confidence, weight, stance: "counter" };
    case "reject":
      return { participant, value: proposal.value, confidence: answer.confidence ?? 1, weight, stance: "reject" };
    case "bid": {
      const c: Contribution = {
        participant,
        value: answer.value ?? answer.cost ?? answer.score ?? proposal.value,
        confidence: answer.confidence ?? 1,
        weight,
        stance: "bid",
      };
      if (answer.cost !== undefined) c.cost = answer.cost;
      if (answer.score !== undefined) c.score = answer.score;
      return c;
    }
  }
}

/**
 * The default next proposal: the round's fused value and confidence, or `undefined` (finalize)
 * when the round fused nothing.
 */
export function defaultNextProposal(result: FusionResult, session: NegotiationSession): Signal | undefined {
  if (result.value === null) return undefined;
  return { value: result.value, confidence: result.confidence, rationale: `fused from the answers to round ${session.rounds.length}` };
}
