/**
 * One coordinator's drive of one session until it ends: ask the participants still missing in the
 * current round, record their answers, and re-apply the protocol's rules whenever something may
 * have changed — an answer came back, another process wrote the session (pub/sub), the deadline
 * came, or the poll interval passed (pub/sub is fire and forget, so polling backs it up).
 *
 * @module
 */
import { NegotiationCancelledError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { RegistryTimers } from "../registry/Registry.js";
import { currentRound, missingParticipants } from "./advanceSession.js";
import type { Answer, NegotiationOutcome, NegotiationRound, NegotiationSession } from "./NegotiationSession.js";
import type { ParticipantChannel, ParticipantMessage } from "./ParticipantChannel.js";

/** Timer functions (the same shape as the registry's); inject them with a clock to make tests deterministic. */
export type NegotiationTimers = RegistryTimers;

/**
 * Real timers, kept referenced (unlike the registry's): a caller awaiting a negotiation keeps the
 * process alive until the deadline, as it would for any request in flight. A run clears its
 * timers when it ends, so nothing outlives it.
 */
export const realNegotiationTimers: NegotiationTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Longest delay Node timers accept; a deadline further away is reached through the poll. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a {@link SessionRun} needs from its coordinator. */
export interface SessionRunContext {
  /** The session as known without a read, when the rules have nothing to do on it; else `undefined`. */
  readonly initial: NegotiationSession | undefined;
  readonly channel: ParticipantChannel;
  readonly logger: Logger;
  readonly now: () => number;
  readonly timers: NegotiationTimers;
  readonly pollMs: number;
  /**
   * Applies the rules and returns the current document. With `known` (the newest document this run
   * has seen, with nothing since telling it otherwise), returns it without I/O when the rules have
   * nothing to do on it now. @throws SessionNotFoundError
   */
  settle(id: string, known?: NegotiationSession): Promise<NegotiationSession>;
  /** Records an answer (idempotent per session, round and participant); resolves with the session as written. */
  recordAnswer(id: string, round: number, participant: string, answer: Answer): Promise<{ session: NegotiationSession }>;
  /** Sends the notices an ended session still owes. */
  deliverNotices(session: NegotiationSession): Promise<void>;
  /**
   * Calls `onChange` with the new version (when the notice names one) whenever `session` is
   * written by anyone; resolves, once listening, with the function that stops it.
   */
  watch(session: NegotiationSession, onChange: (version: number | undefined) => void): Promise<() => void>;
}

/** A latch: `notify` wakes the current `wait`, or the next one if nobody waits. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  notify(): void {
    const resolve = this.resolve;
    if (resolve === undefined) {
      this.pending = true;
      return;
    }
    this.resolve = undefined;
    resolve();
  }

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.resolve = resolve));
  }
}

/** Asks in flight for one round. */
interface RoundAsks {
  readonly controller: AbortController;
  readonly asked: Set<string>;
}

/** Drives one session to its end; see the module comment. One instance per `run` call. */
export class SessionRun {
  private readonly wake = new Wakeup();
  private readonly rounds = new Map<number, RoundAsks>();
  /** The session as an answer of this run ended it: no need to read it back. */
  private ended: NegotiationSession | undefined;
  /**
   * The newest document this run has seen: its own writes (answers recorded with the rules applied
   * in the same compare-and-set) and its reads. While nothing says another process wrote since — a
   * newer version notified, a timer, a poll — the next turn acts on it without reading: reading
   * back what this run just wrote (and its own change notices) was most of a session's Redis work.
   */
  private latest: NegotiationSession | undefined;
  /** The highest version announced on pub/sub (a notice may overtake the write's own reply). */
  private announced = 0;
  /** Set by timers, polls, failures and notices without a version: the next turn reads the store. */
  private stale = false;
  /** Answers of this run being written; a notice arriving meanwhile may be of that very write. */
  private writing = 0;

  constructor(
    private readonly ctx: SessionRunContext,
    private readonly id: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /**
   * Resolves with the outcome once the session is finalized or expired (after sending the notices
   * it owes).
   *
   * @throws NegotiationCancelledError when the session is or becomes cancelled.
   * @throws the signal's reason when `signal` aborts; the session stays open for a later `resume`.
   */
  async execute(): Promise<NegotiationOutcome> {
    const { timers } = this.ctx;
    const onAbort = (): void => this.wake.notify();
    this.signal?.addEventListener("abort", onAbort);
    const onChange = (version: number | undefined): void => {
      // This run's own writes come back as notices too; only a version it has not seen needs a read.
      if (version === undefined) this.stale = true;
      else if (version > this.announced) this.announced = version;
      if (version === undefined || this.latest === undefined || version > this.latest.version) this.wake.notify();
    };
    const readSoon = (): void => {
      this.stale = true;
      this.wake.notify();
    };
    // Watched from the first document this run has, while the first questions go out:
    // notifications matter only once this run waits.
    let watching: Promise<() => void> | undefined;
    let watched = false;
    let known = this.ctx.initial;
    let deadlineTimer: unknown;
    let pollTimer: unknown;
    try {
      for (;;) {
        this.signal?.throwIfAborted();
        let session = this.ended ?? known;
        if (session === undefined) {
          // A newer version announced while this run writes may be its own write, its reply not yet
          // in: the write's completion wakes this loop again, and decides then.
          const current = !this.stale && this.latest !== undefined && (this.announced <= this.latest.version || this.writing > 0);
          const hint = current ? this.latest : undefined;
          this.stale = false;
          session = await this.ctx.settle(this.id, hint);
        }
        known = undefined;
        this.see(session);
        if (session.state === "cancelled") throw new NegotiationCancelledError(this.id);
        if (session.state !== "open") {
          await this.ctx.deliverNotices(session);
          // An ended session always has its outcome (the schema of the writers guarantees it).
          return session.outcome as NegotiationOutcome;
        }
        if (watching === undefined) {
          watching = this.ctx.watch(session, onChange);
          watching.catch(() => undefined); // surfaced by the await before the first wait
        }
        this.askMissing(session);
        deadlineTimer ??= timers.setTimeout(readSoon, Math.min(MAX_TIMER_MS, Math.max(0, session.deadline - this.ctx.now())));
        pollTimer ??= timers.setTimeout(() => {
          pollTimer = undefined;
          readSoon();
        }, this.ctx.pollMs);
        if (!watched) {
          await watching;
          watched = true;
        }
        await this.wake.wait();
      }
    } finally {
      this.signal?.removeEventListener("abort", onAbort);
      if (deadlineTimer !== undefined) timers.clearTimeout(deadlineTimer);
      if (pollTimer !== undefined) timers.clearTimeout(pollTimer);
      for (const asks of this.rounds.values()) asks.controller.abort(new Error("the negotiation run ended"));
      // Not awaited: the outcome does not wait for the clean-up.
      watching
        ?.then((stop) => stop())
        .catch((e: unknown) => this.ctx.logger.debug("negotiation: could not watch the session", { sessionId: this.id, error: e }));
    }
  }

  /** Keeps `session` as {@link latest} when it is newer. */
  private see(session: NegotiationSession): void {
    if (this.latest === undefined || session.version > this.latest.version) this.latest = session;
  }

  /** Asks, once per run, each participant still missing in the current round; stops asking about earlier rounds. */
  private askMissing(session: NegotiationSession): void {
    const round = currentRound(session);
    for (const [n, asks] of this.rounds) {
      if (n < round.n) {
        asks.controller.abort(new Error(`round ${n} of the negotiation closed`));
        this.rounds.delete(n);
      }
    }
    let asks = this.rounds.get(round.n);
    if (asks === undefined) {
      asks = { controller: new AbortController(), asked: new Set() };
      this.rounds.set(round.n, asks);
    }
    for (const participant of missingParticipants(session)) {
      if (asks.asked.has(participant)) continue;
      asks.asked.add(participant);
      void this.ask(session, round, participant, asks.controller.signal);
    }
  }

  private async ask(session: NegotiationSession, round: NegotiationRound, participant: string, signal: AbortSignal): Promise<void> {
    const message: ParticipantMessage = {
      sessionId: session.id,
      type: session.type,
      topic: session.topic,
      round: round.n,
      proposal: round.proposal,
      context: session.context,
      deadline: session.deadline,
      participants: session.participants,
    };
    try {
      const answer = await this.ctx.channel.ask(participant, message, signal);
      // Recorded even if this run has ended meanwhile: an answer given is never thrown away.
      this.writing += 1;
      try {
        const { session: written } = await this.ctx.recordAnswer(session.id, round.n, participant, answer);
        if (written.state !== "open") this.ended ??= written;
        this.see(written);
      } finally {
        this.writing -= 1;
      }
    } catch (e) {
      this.stale = true; // the store may have failed or moved on: the next turn reads it
      if (!signal.aborted) {
        this.ctx.logger.warn("negotiation: participant gave no answer; it stays missing until the round closes", {
          sessionId: session.id,
          round: round.n,
          participant,
          error: e,
        });
      }
    } finally {
      this.wake.notify();
    }
  }
}
