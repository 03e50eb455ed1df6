/**
 * The finalization rules of the negotiation protocol, as one pure function from (session, now) to
 * the next session document. Pure so that any process can apply it inside a compare-and-set: the
 * first write wins and every other process sees the same result.
 *
 * @module
 */
import type { Contribution, FusionResult } from "./strategies/FusionStrategy.js";
import type { NegotiationOutcome, NegotiationRound, NegotiationSession, OutcomeReason, RecordedAnswer } from "./NegotiationSession.js";
import { defaultContribution, defaultNextProposal, type NegotiationTypeHandler } from "./NegotiationType.js";

/** The current (last) round of a session. */
export function currentRound(session: NegotiationSession): NegotiationRound {
  // The schema guarantees at least one round.
  return session.rounds[session.rounds.length - 1] as NegotiationRound;
}

/** Participants without an answer in the current round. */
export function missingParticipants(session: NegotiationSession): string[] {
  const answers = currentRound(session).answers;
  return session.participants.filter((p) => !Object.prototype.hasOwnProperty.call(answers, p));
}

/**
 * Applies the protocol's rules to an open session at time `now` (epoch ms). Returns the new
 * document, or `undefined` when nothing changes (still waiting, or not open).
 *
 * The current round closes when every participant has answered it, or `quorum` have, or `now`
 * has reached `deadline`. Closing fuses the answers with the type's strategy and then:
 *
 * 1. at the deadline, fewer than `minAnswers` participants with any answer → `expired`
 *    (reason `"insufficient-answers"`);
 * 2. before the deadline, a result that has not converged (default: not `agreed`) with rounds left
 *    (`n < maxRounds`) → a new round with the next proposal (default: the fused value) — unless the
 *    next proposal is `undefined`, then 3;
 * 3. otherwise → `finalized`, reason `"all-answered"`, `"quorum"` or `"deadline"`.
 *
 * What is fused: the current round's answers; when the deadline closes a round short of its
 * quorum, a participant who has not answered it counts with its answer to an earlier round, if it
 * gave one (its last word).
 */
export function advanceSession(session: NegotiationSession, now: number, handler: NegotiationTypeHandler): NegotiationSession | undefined {
  if (session.state !== "open") return undefined;
  const round = currentRound(session);
  const answeredNow = session.participants.filter((p) => Object.prototype.hasOwnProperty.call(round.answers, p));
  const all = answeredNow.length === session.participants.length;
  const quorum = answeredNow.length >= session.quorum;
  const deadline = now >= session.deadline;
  if (!all && !quorum && !deadline) return undefined;

  const reason: OutcomeReason = all ? "all-answered" : quorum ? "quorum" : "deadline";
  const inputs =
    reason === "deadline"
      ? lastWords(session)
      : answeredNow.map((p) => ({ participant: p, answer: round.answers[p] as RecordedAnswer, round }));
  const toContribution = handler.toContribution ?? defaultContribution;
  const contributions: Contribution[] = [];
  for (const { participant, answer, round: from } of inputs) {
    const c = toContribution(participant, answer, { proposal: from.proposal, weight: session.weights[participant] ?? 1, session });
    if (c !== undefined) contributions.push(c);
  }
  const result = handler.strategy.fuse(contributions, { ...handler.fuseOptions, reference: round.proposal.value });
  const closed: NegotiationRound = { ...round, result: toStored(result) };
  const rounds = [...session.rounds.slice(0, -1), closed];
  const answered = inputs.map((i) => i.participant);

  if (reason === "deadline" && answered.length < session.minAnswers) {
    const expired = { ...result, value: null, confidence: 0, agreed: false };
    return {
      ...session,
      rounds,
      state: "expired",
      outcome: outcomeOf(session, expired, "expired", "insufficient-answers", answered, rounds.length, now),
    };
  }
  if (!deadline && round.n < session.maxRounds) {
    const converged = handler.converged ? handler.converged(result, session) : result.agreed;
    const proposal = converged ? undefined : (handler.nextProposal ?? defaultNextProposal)(result, { ...session, rounds });
    if (proposal !== undefined) {
      return { ...session, rounds: [...rounds, { n: round.n + 1, proposal, openedAt: now, answers: {} }] };
    }
  }
  return { ...session, rounds, state: "finalized", outcome: outcomeOf(session, result, "finalized", reason, answered, rounds.length, now) };
}

/** Each participant's answer in the latest round it answered (current round first). */
function lastWords(session: NegotiationSession): { participant: string; answer: RecordedAnswer; round: NegotiationRound }[] {
  const out: { participant: string; answer: RecordedAnswer; round: NegotiationRound }[] = [];
  for (const participant of session.participants) {
    for (let i = session.rounds.length - 1; i >= 0; i -= 1) {
      const round = session.rounds[i] as NegotiationRound;
      const answer = round.answers[participant];
      if (answer !== undefined && Object.prototype.hasOwnProperty.call(round.answers, participant)) {
        out.push({ participant, answer, round });
        break;
      }
    }
  }
  return out;
}

/** The JSON form of a result (drops `undefined` fields, which the stored document cannot hold). */
function toStored(result: FusionResult): FusionResult {
  return JSON.parse(JSON.stringify(result)) as FusionResult;
}

/** The outcome of an ended session. */
export function outcomeOf(
  session: NegotiationSession,
  result: FusionResult,
  state: NegotiationOutcome["state"],
  reason: OutcomeReason,
  answered: string[],
  rounds: number,
  now: number,
): NegotiationOutcome {
  const fused = toStored(result);
  return {
    ...fused,
    sessionId: session.id,
    type: session.type,
    topic: session.topic,
    state,
    reason,
    rounds,
    answered,
    missing: session.participants.filter((p) => !answered.includes(p)),
    finalizedAt: now,
  };
}
