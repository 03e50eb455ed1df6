/**
 * The runnables `fabric.serveParticipants` serves: per participant, one node answering proposals
 * (`negotiation.<name>`) and one receiving notices (`negotiation.<name>.notices`), the names
 * `RemoteParticipants` calls.
 *
 * @module
 */
import { IDEMPOTENCY_INPUT } from "../nodes/NodeWorker.js";
import { Runnable, type RunnableConfig } from "@langchain/core/runnables";
import type { NoticeHandler, ParticipantHandler } from "../negotiation/LocalParticipants.js";
import type { ParticipantMessage, ParticipantNotice } from "../negotiation/ParticipantChannel.js";
import { participantNode, participantNoticeNode } from "../negotiation/RemoteParticipants.js";

/**
 * A runnable that only calls its function. Participant handlers are the fabric's own plumbing,
 * not user graph nodes: they need no callbacks, tracing or context of LangChain, and
 * `RunnableLambda` costs about 0.1 ms of CPU per call setting those up.
 */
class HandlerRunnable<I, O> extends Runnable<I, O> {
  lc_namespace = ["langgraph_fabric", "negotiation"];

  constructor(private readonly fn: (input: I, config?: RunnableConfig) => O | Promise<O>) {
    super();
  }

  override async invoke(input: I, config?: RunnableConfig): Promise<O> {
    return await this.fn(input, config);
  }
}

/** The node runnables of `handlers`, by node name; `onNotice` receives contract-net awards and rejections. */
export function participantRunnables(
  handlers: Readonly<Record<string, ParticipantHandler>>,
  onNotice?: NoticeHandler,
): Record<string, Runnable> {
  const nodes: Record<string, Runnable> = {};
  for (const [participant, handler] of Object.entries(handlers)) {
    const ask = new HandlerRunnable((message: ParticipantMessage, config?: RunnableConfig) =>
      handler({ ...message, participant }, config?.signal ?? new AbortController().signal),
    );
    // A resumed initiator asks the same question with a fresh deadline (and its own view of who
    // takes part): the record is bound to the question itself, the proposal of a session's round.
    Object.defineProperty(ask, IDEMPOTENCY_INPUT, {
      value: (m: ParticipantMessage) => ({ sessionId: m.sessionId, type: m.type, topic: m.topic, round: m.round, proposal: m.proposal }),
    });
    nodes[participantNode(participant)] = ask;
    nodes[participantNoticeNode(participant)] = new HandlerRunnable(async (notice: ParticipantNotice) => {
      await onNotice?.(participant, notice);
      return null;
    });
  }
  return nodes;
}
