/**
 * Participants served as replicas: each participant is a remote node named
 * `negotiation.<participant>` whose input is a {@link ParticipantMessage} and whose output is an
 * {@link Answer}. Asking goes through the fabric's call path — balancer, breakers, failover —
 * with an idempotency key derived from (session, round, participant), so a repeated question
 * (a resumed initiator, a retry) gets the first answer instead of asking the agent again.
 *
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { NodeCaller } from "../nodes/RemoteNodeRunnable.js";
import type { Answer } from "./NegotiationSession.js";
import type { ParticipantChannel, ParticipantMessage, ParticipantNotice } from "./ParticipantChannel.js";

/** The remote node name under which `participant` answers. */
export function participantNode(participant: string): string {
  return `negotiation.${participant}`;
}

/** The remote node name under which `participant` receives notices. */
export function participantNoticeNode(participant: string): string {
  return `negotiation.${participant}.notices`;
}

/**
 * A LangGraph-like config that gives a participant call a deterministic idempotency key:
 * thread = session, namespace = round and participant, task = the kind of call.
 */
function callConfig(sessionId: string, scope: string, participant: string, signal?: AbortSignal): RunnableConfig {
  return {
    configurable: { thread_id: sessionId, checkpoint_ns: `negotiation:${scope}:${participant}` },
    executionInfo: { taskId: `${scope}:${participant}` },
    ...(signal ? { signal } : {}),
  } as RunnableConfig;
}

/** A {@link ParticipantChannel} whose participants are replicas reached through the fabric. */
export class RemoteParticipants implements ParticipantChannel {
  /** @param caller the fabric (anything with `callNode`). */
  constructor(private readonly caller: NodeCaller) {}

  async ask(participant: string, message: ParticipantMessage, signal: AbortSignal): Promise<Answer> {
    const config = callConfig(message.sessionId, `round-${message.round}`, participant, signal);
    return (await this.caller.callNode(participantNode(participant), message, config)) as Answer;
  }

  async notify(participant: string, notice: ParticipantNotice): Promise<void> {
    const config = callConfig(notice.sessionId, `notice-${notice.round}`, participant);
    await this.caller.callNode(participantNoticeNode(participant), notice, config);
  }
}
