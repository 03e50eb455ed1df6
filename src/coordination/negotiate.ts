/**
 * Runs one negotiation session for a coordination API (signal fusion, risk consensus) on the
 * fabric's state store, so the session is durable and resumable like any other.
 *
 * @module
 */
import { NegotiationCoordinator } from "../negotiation/NegotiationCoordinator.js";
import type { NegotiationOutcome } from "../negotiation/NegotiationSession.js";
import type { NegotiationSpec } from "../negotiation/NegotiationSpec.js";
import type { NegotiationTypeHandler } from "../negotiation/NegotiationType.js";
import type { ParticipantChannel } from "../negotiation/ParticipantChannel.js";
import type { Logger } from "../observability/logger.js";
import type { StateStore } from "../state/StateStore.js";
import type { CoordinationTimers } from "./validation.js";

/** What a coordination negotiation runs on. */
export interface NegotiationParts {
  store: StateStore;
  logger: Logger;
  now: () => number;
  /** Injected timers; `undefined` keeps the negotiation's own real timers. */
  timers: CoordinationTimers | undefined;
  /** The initiator name of the sessions (`coordination.initiator`, stable across restarts). */
  owner: string;
}

/**
 * Starts the session of `spec` (or finds it, when `spec.id` names an existing one — a retry
 * resumes it instead of negotiating again) and drives it to its outcome. The coordinator is made
 * per call: it is I/O-free to build, and each call may bring its own strategy and participants.
 */
export async function negotiate(
  parts: NegotiationParts,
  channel: ParticipantChannel,
  type: string,
  handler: NegotiationTypeHandler,
  spec: Omit<NegotiationSpec, "type">,
  signal?: AbortSignal,
): Promise<NegotiationOutcome> {
  const coordinator = new NegotiationCoordinator({
    store: parts.store,
    channel,
    types: { [type]: handler },
    initiator: parts.owner,
    logger: parts.logger,
    now: parts.now,
    ...(parts.timers === undefined ? {} : { timers: parts.timers }),
  });
  const session = await coordinator.start({ ...spec, type });
  return coordinator.run(session.id, signal);
}
