/**
 * The runnables `fabric.serveParticipants` serves: per participant, one node answering proposals
 * (`negotiation.<name>`) and one receiving notices (`negotiation.<name>.notices`), the names
 * `RemoteParticipants` calls.
 *
 * @module
 */
import { RunnableLambda, type Runnable, type RunnableConfig } from "@langchain/core/runnables";
import type { NoticeHandler, ParticipantHandler } from "../negotiation/LocalParticipants.js";
import type { ParticipantMessage, ParticipantNotice } from "../negotiation/ParticipantChannel.js";
import { participantNode, participantNoticeNode } from "../negotiation/RemoteParticipants.js";

/** The node runnables of `handlers`, by node name; `onNotice` receives contract-net awards and rejections. */
export function participantRunnables(
  handlers: Readonly<Record<string, ParticipantHandler>>,
  onNotice?: NoticeHandler,
): Record<string, Runnable> {
  const nodes: Record<string, Runnable> = {};
  for (const [participant, handler] of Object.entries(handlers)) {
    nodes[participantNode(participant)] = RunnableLambda.from((message: ParticipantMessage, config?: RunnableConfig) =>
      handler({ ...message, participant }, config?.signal ?? new AbortController().signal),
    );
    nodes[participantNoticeNode(participant)] = RunnableLambda.from(async (notice: ParticipantNotice) => {
      await onNotice?.(participant, notice);
      return null;
    });
  }
  return nodes;
}
