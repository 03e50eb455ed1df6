/**
 * A channel for sessions whose participants live in different places: those with a handler in
 * this process answer locally, every other one is asked through the remote channel (replicas
 * served with `fabric.serveParticipants`, in any process).
 *
 * @module
 */
import type { Answer } from "./NegotiationSession.js";
import type { LocalParticipants } from "./LocalParticipants.js";
import type { ParticipantChannel, ParticipantMessage, ParticipantNotice } from "./ParticipantChannel.js";

/**
 * Routes each participant to `local` when it has a handler there, else to `remote`.
 *
 * ```ts
 * const channel = new MixedParticipants(new LocalParticipants({ desk: deskHandler }), fabric.participants());
 * ```
 */
export class MixedParticipants implements ParticipantChannel {
  /** @throws RangeError when a channel cannot ask. */
  constructor(
    private readonly local: LocalParticipants,
    private readonly remote: ParticipantChannel,
  ) {
    for (const [name, channel] of [
      ["local", local],
      ["remote", remote],
    ] as const) {
      if (typeof (channel as Partial<ParticipantChannel> | undefined)?.ask !== "function")
        throw new RangeError(`${name} must be a ParticipantChannel with an ask function (got ${typeof channel})`);
    }
  }

  ask(participant: string, message: ParticipantMessage, signal: AbortSignal): Promise<Answer> {
    return this.channelOf(participant).ask(participant, message, signal);
  }

  async notify(participant: string, notice: ParticipantNotice): Promise<void> {
    await this.channelOf(participant).notify?.(participant, notice);
  }

  private channelOf(participant: string): ParticipantChannel {
    return this.local.participants().includes(participant) ? this.local : this.remote;
  }
}
