/**
 * Negotiation: several agents propose, counter and agree on one signal. The protocol engine
 * ({@link NegotiationCoordinator}) keeps sessions in the state store and reaches participants
 * through a {@link ParticipantChannel}; {@link negotiationNode} puts a negotiation in a LangGraph
 * graph; the strategies fuse the answers.
 *
 * @module
 */
export * from "./strategies/index.js";
export { advanceSession, currentRound, missingParticipants } from "./advanceSession.js";
export { LocalParticipants } from "./LocalParticipants.js";
export { MixedParticipants } from "./MixedParticipants.js";
export type { LocalParticipantMessage, LocalParticipantsOptions, NoticeHandler, ParticipantHandler } from "./LocalParticipants.js";
export { NegotiationCoordinator } from "./NegotiationCoordinator.js";
export type { IgnoredAnswerReason, NegotiationCoordinatorOptions, RecordAnswerResult } from "./NegotiationCoordinator.js";
export { answerSchema, jsonValueSchema, outcomeSchema, recordedAnswerSchema, sessionSchema, signalSchema } from "./NegotiationSession.js";
export type {
  Answer,
  JsonValue,
  NegotiationOutcome,
  NegotiationRound,
  NegotiationSession,
  NoticeRecord,
  OutcomeReason,
  RecordedAnswer,
  SessionState,
  Signal,
  StoredFusion,
} from "./NegotiationSession.js";
export { NEGOTIATION_DEFAULTS } from "./NegotiationSpec.js";
export type { NegotiationSpec } from "./NegotiationSpec.js";
export { defaultContribution, defaultNextProposal } from "./NegotiationType.js";
export type { ContributionContext, NegotiationTypeHandler } from "./NegotiationType.js";
export { bindNegotiationNode, negotiationNode, negotiationSessionId } from "./negotiationNode.js";
export type { NegotiationNodeFabric, NegotiationNodeFunction, NegotiationNodeOptions, NegotiationUpdate } from "./negotiationNode.js";
export type { ParticipantChannel, ParticipantMessage, ParticipantNotice } from "./ParticipantChannel.js";
export { RemoteParticipants, participantNode, participantNoticeNode } from "./RemoteParticipants.js";
export { realNegotiationTimers } from "./SessionRun.js";
export type { NegotiationTimers } from "./SessionRun.js";
