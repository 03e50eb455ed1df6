/**
 * Participants that are in-process handlers: the {@link ParticipantChannel} of the embedded
 * default and of tests.
 *
 * @module
 */
import { UnknownParticipantError } from "../errors.js";
import type { Answer, Signal } from "./NegotiationSession.js";
import type { ParticipantChannel, ParticipantMessage, ParticipantNotice } from "./ParticipantChannel.js";

/** A participant's message with its own name, as a {@link ParticipantHandler} receives it. */
export interface LocalParticipantMessage extends ParticipantMessage {
  /** The participant being asked (one handler may serve several). */
  participant: string;
}

/** An in-process participant: answers a proposal. `signal` aborts when the answer is no longer needed. */
export type ParticipantHandler = (message: LocalParticipantMessage, signal: AbortSignal) => Answer | Promise<Answer>;

/** Receives the notices sent to local participants (contract net awards and rejections). */
export type NoticeHandler = (participant: string, notice: ParticipantNotice) => void | Promise<void>;

/** Options of {@link LocalParticipants}. */
export interface LocalParticipantsOptions {
  /** Receives notices. Default: they are dropped. */
  onNotice?: NoticeHandler;
  /**
   * How many answers to remember per instance (a count, positive integer), so that a repeated ask
   * of one (session, round, participant) returns the first answer instead of running the handler
   * again. Oldest forgotten first. Default 10 000.
   */
  rememberAnswers?: number;
}

const DEFAULTS = { rememberAnswers: 10_000 };

/**
 * A map of in-process handlers, one per participant name. Asks are idempotent per (session,
 * round, participant) within one instance: a repeat — in flight or completed — gets the first
 * answer, and a handler that threw is run again on the next ask.
 */
export class LocalParticipants implements ParticipantChannel {
  private readonly handlers = new Map<string, ParticipantHandler>();
  private readonly answers = new Map<string, Promise<Answer>>();
  private readonly onNotice: NoticeHandler | undefined;
  private readonly rememberAnswers: number;

  /** @throws RangeError naming an invalid option or handler and its value. */
  constructor(handlers: Readonly<Record<string, ParticipantHandler>> = {}, options: LocalParticipantsOptions = {}) {
    const o = { ...DEFAULTS, ...definedOnly(options) };
    if (!Number.isInteger(o.rememberAnswers) || o.rememberAnswers <= 0) {
      throw new RangeError(`rememberAnswers must be a positive integer (got ${o.rememberAnswers})`);
    }
    if (o.onNotice !== undefined && typeof o.onNotice !== "function")
      throw new RangeError(`onNotice must be a function (got ${typeof o.onNotice})`);
    this.rememberAnswers = o.rememberAnswers;
    this.onNotice = o.onNotice;
    for (const [name, handler] of Object.entries(handlers)) this.register(name, handler);
  }

  /**
   * Participants that answer with fixed signals — how `negotiationNode` negotiates among agents
   * whose positions are already in the graph state. Each answers `accept` when its signal's value
   * equals the proposal's, else `counter` with its signal; a participant in `participants` without
   * a signal answers `reject` (reason `"no signal"`) rather than leaving the session to its deadline.
   */
  static fromSignals(signals: Readonly<Record<string, Signal>>, participants: readonly string[] = Object.keys(signals)): LocalParticipants {
    const channel = new LocalParticipants();
    for (const name of participants) {
      const own = Object.prototype.hasOwnProperty.call(signals, name) ? signals[name] : undefined;
      channel.register(name, ({ proposal }) => {
        if (own === undefined) return { kind: "reject", reason: "no signal" };
        if (own.value === proposal.value) return { kind: "accept", confidence: own.confidence };
        return {
          kind: "counter",
          value: own.value,
          confidence: own.confidence,
          ...(own.rationale === undefined ? {} : { rationale: own.rationale }),
        };
      });
    }
    return channel;
  }

  /** Adds or replaces the handler of `participant`. @throws RangeError for an empty name or a non-function. */
  register(participant: string, handler: ParticipantHandler): this {
    if (typeof participant !== "string" || participant === "")
      throw new RangeError(`participant must be a non-empty string (got ${JSON.stringify(participant)})`);
    if (typeof handler !== "function") throw new RangeError(`handler of "${participant}" must be a function (got ${typeof handler})`);
    this.handlers.set(participant, handler);
    return this;
  }

  /** The participants this channel can ask. */
  participants(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * Runs the participant's handler (once per session, round and participant).
   *
   * @throws UnknownParticipantError when no handler is registered for `participant`.
   */
  ask(participant: string, message: ParticipantMessage, signal: AbortSignal): Promise<Answer> {
    const handler = this.handlers.get(participant);
    if (handler === undefined) return Promise.reject(new UnknownParticipantError(participant, message.sessionId));
    const key = `${message.sessionId}\u0000${String(message.round)}\u0000${participant}`;
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    const answer = (async () => handler({ ...message, participant }, signal))();
    this.answers.set(key, answer);
    // A failed ask is forgotten, so the next ask runs the handler again.
    answer.catch(() => {
      if (this.answers.get(key) === answer) this.answers.delete(key);
    });
    if (this.answers.size > this.rememberAnswers) {
      const oldest = this.answers.keys().next();
      if (oldest.done !== true) this.answers.delete(oldest.value);
    }
    return answer;
  }

  /** Hands the notice to `onNotice`, if any. */
  async notify(participant: string, notice: ParticipantNotice): Promise<void> {
    await this.onNotice?.(participant, notice);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
