/**
 * The negotiation protocol engine. A session (id, type, topic, initiator, participants, proposal,
 * deadline, rounds, state) lives in the state store; the coordinator asks the participants
 * through a {@link ParticipantChannel}, records each answer with compare-and-set, and finalizes
 * per the rules of `advanceSession` (everyone answered, a quorum answered, or the deadline came).
 * Any coordinator on the same store can drive any session: a replacement for a crashed initiator
 * `resume`s it, re-asking only the participants whose answers are missing, under the original
 * deadline.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { NegotiationTypeConflictError, SessionNotFoundError, UnknownNegotiationTypeError } from "../errors.js";
import { createConsoleLogger, type Logger } from "../observability/logger.js";
import type { StateStore } from "../state/StateStore.js";
import { advanceSession, currentRound, outcomeOf } from "./advanceSession.js";
import { answerSchema, type Answer, type NegotiationOutcome, type NegotiationSession } from "./NegotiationSession.js";
import { buildSession, NEGOTIATION_DEFAULTS, nonEmptyString, positiveInteger, type NegotiationSpec } from "./NegotiationSpec.js";
import type { NegotiationTypeHandler } from "./NegotiationType.js";
import type { ParticipantChannel, ParticipantNotice } from "./ParticipantChannel.js";
import { realNegotiationTimers, SessionRun, type NegotiationTimers } from "./SessionRun.js";
import { SessionStore } from "./SessionStore.js";

/** Options of {@link NegotiationCoordinator}. */
export interface NegotiationCoordinatorOptions {
  /** Where sessions live (share it between the processes that may drive a session). */
  store: StateStore;
  /** How participants are asked and notified. */
  channel: ParticipantChannel;
  /** Negotiation types to register at construction, by name (more with `registerType`). */
  types?: Readonly<Record<string, NegotiationTypeHandler>>;
  /** Initiator name given to sessions this coordinator starts; keep it stable across restarts. Default `"coordinator"`. */
  initiator?: string;
  /** Where it logs. Default: stderr at `warn` (`FABRIC_LOG_LEVEL`), named `"negotiation"`. */
  logger?: Logger;
  /** The clock, epoch ms: deadlines, round and answer times. Default `Date.now`. */
  now?: () => number;
  /** Timers for deadlines and polls. Default: real timers (referenced while a run waits; cleared when it ends). */
  timers?: NegotiationTimers;
  /** How often a running session re-reads the store in case a change notification was lost, in ms. Default 1 000. */
  pollMs?: number;
  /** How long an ended session is kept in the store, in ms (an open one: until its deadline plus this). Default 86 400 000 (24 h). */
  retentionMs?: number;
  /** Most compare-and-set attempts of one session write before it fails (a count). Default 100. */
  maxUpdateAttempts?: number;
  /** Generates session ids for specs without one. Default `randomUUID`. */
  newId?: () => string;
}

/** Why {@link NegotiationCoordinator.recordAnswer} ignored an answer. */
export type IgnoredAnswerReason = "duplicate" | "late" | "closed" | "stale-round" | "unknown-round" | "not-a-participant" | "invalid";

/** The result of {@link NegotiationCoordinator.recordAnswer}. */
export type RecordAnswerResult =
  { recorded: true; session: NegotiationSession } | { recorded: false; reason: IgnoredAnswerReason; session: NegotiationSession };

/** An answer waiting in an {@link AnswerBatch}; `answer` is undefined when it failed validation. */
interface QueuedAnswer {
  round: number;
  participant: string;
  answer: Answer | undefined;
  resolve: (result: RecordAnswerResult) => void;
  reject: (error: unknown) => void;
}

/** The answers of one session waiting for their write. */
interface AnswerBatch {
  queued: QueuedAnswer[];
  flushing: boolean;
}

/** Runs negotiation sessions; see the module comment. No I/O in the constructor. */
export class NegotiationCoordinator {
  private readonly handlers = new Map<string, NegotiationTypeHandler>();
  private readonly sessions: SessionStore;
  private readonly channel: ParticipantChannel;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly timers: NegotiationTimers;
  private readonly pollMs: number;
  private readonly initiator: string;
  private readonly newId: () => string;
  /** Answers waiting to be written, per session (see `flushAnswers`). */
  private readonly answerBatches = new Map<string, AnswerBatch>();

  /** @throws RangeError naming an invalid option and its value. */
  constructor(options: NegotiationCoordinatorOptions) {
    const o = { ...NEGOTIATION_DEFAULTS, ...definedOnly(options) };
    const { store, channel } = options;
    if (typeof (store as Partial<StateStore> | undefined)?.namespace !== "function")
      throw new RangeError(`store must be a StateStore (got ${typeof store})`);
    if (typeof (channel as Partial<ParticipantChannel> | undefined)?.ask !== "function") {
      throw new RangeError(`channel must be a ParticipantChannel with an ask function (got ${typeof channel})`);
    }
    for (const field of ["pollMs", "retentionMs", "maxUpdateAttempts"] as const) positiveInteger(field, o[field]);
    for (const field of ["now", "newId"] as const) {
      if (o[field] !== undefined && typeof o[field] !== "function")
        throw new RangeError(`${field} must be a function (got ${typeof o[field]})`);
    }
    const timers: Partial<NegotiationTimers> = o.timers ?? realNegotiationTimers;
    if (typeof timers.setTimeout !== "function" || typeof timers.clearTimeout !== "function") {
      throw new RangeError(`timers must have setTimeout and clearTimeout functions (got ${typeof o.timers})`);
    }
    nonEmptyString("initiator", o.initiator);
    this.channel = channel;
    this.logger = o.logger ?? createConsoleLogger({ name: "negotiation" });
    this.now = o.now ?? Date.now;
    this.timers = timers as NegotiationTimers;
    this.pollMs = o.pollMs;
    this.initiator = o.initiator;
    this.newId = o.newId ?? randomUUID;
    this.sessions = new SessionStore(store, {
      retentionMs: o.retentionMs,
      maxUpdateAttempts: o.maxUpdateAttempts,
      now: this.now,
      logger: this.logger,
    });
    for (const [type, handler] of Object.entries(o.types ?? {})) this.registerType(type, handler);
  }

  /**
   * Registers the strategy and hooks of a negotiation type. Registering the same handler object
   * again does nothing.
   *
   * @throws NegotiationTypeConflictError when another handler has the type, unless `options.replace`.
   * @throws RangeError for an empty type or a handler without a strategy.
   */
  registerType(type: string, handler: NegotiationTypeHandler, options: { replace?: boolean } = {}): this {
    nonEmptyString("type", type);
    if (typeof (handler as Partial<NegotiationTypeHandler> | undefined)?.strategy?.fuse !== "function") {
      throw new RangeError(`handler of type "${type}" must have a strategy with a fuse function (got ${typeof handler})`);
    }
    const current = this.handlers.get(type);
    if (current !== undefined && current !== handler && options.replace !== true) throw new NegotiationTypeConflictError(type);
    this.handlers.set(type, handler);
    return this;
  }

  /** The handler registered for `type`, if any. */
  typeHandler(type: string): NegotiationTypeHandler | undefined {
    return this.handlers.get(type);
  }

  /**
   * Creates a session (round 1 open, deadline `now + deadlineMs`) and returns it. Idempotent by
   * id: when a session with `spec.id` exists, it is returned unchanged, whatever its state.
   *
   * @throws NoParticipantsError, UnknownNegotiationTypeError, or RangeError naming an invalid field.
   */
  async start(spec: NegotiationSpec): Promise<NegotiationSession> {
    const type = spec.type ?? NEGOTIATION_DEFAULTS.type;
    const session = buildSession(spec, {
      handler: this.handlerFor(type, spec.id),
      now: this.now(),
      newId: this.newId,
      initiator: this.initiator,
    });
    const { session: stored, created } = await this.sessions.create(session);
    if (!created) this.logger.debug("negotiation: session exists, not started again", { sessionId: stored.id, state: stored.state });
    return stored;
  }

  /**
   * Drives session `id` until it ends and returns its outcome: asks the participants missing in the
   * current round, records their answers, opens further rounds and finalizes per the protocol's
   * rules, then sends the notices the outcome calls for (contract net). Returns at once for an
   * ended session. Several coordinators may run one session at once; answers count once.
   *
   * @throws SessionNotFoundError, UnknownNegotiationTypeError, NegotiationCancelledError, or the
   *   reason of `signal` when it aborts (the session stays open for a later `resume`).
   */
  async run(id: string, signal?: AbortSignal): Promise<NegotiationOutcome> {
    // The copy this process just wrote (start) is enough to know the type; the run reads or writes
    // the stored document before it trusts anything else.
    const session = this.sessions.cached(id) ?? (await this.sessions.get(id));
    if (session === undefined) throw new SessionNotFoundError(id);
    const handler = this.handlerFor(session.type, id);
    const run = new SessionRun(
      {
        // A copy with nothing for the rules to do can be acted on (asked about) without a read:
        // asks are idempotent and answers to a session changed meanwhile are checked when recorded.
        initial: session.state === "open" && advanceSession(session, this.now(), handler) === undefined ? session : undefined,
        channel: this.channel,
        logger: this.logger,
        now: this.now,
        timers: this.timers,
        pollMs: this.pollMs,
        settle: (sid, known) => this.settle(sid, known),
        recordAnswer: (sid, round, participant, answer) => this.recordAnswer(sid, round, participant, answer),
        deliverNotices: (s) => this.deliverNotices(s),
        watch: (session, onChange) => this.sessions.watch(session, onChange),
      },
      id,
      signal,
    );
    return run.execute();
  }

  /**
   * Picks up a session another coordinator started (after a crash, or from another process): the
   * same as {@link run}. Answers already recorded are kept and their participants not asked again;
   * the original deadline holds (a deadline already past finalizes at once with what was recorded).
   */
  resume(id: string, signal?: AbortSignal): Promise<NegotiationOutcome> {
    return this.run(id, signal);
  }

  /** The session `id` as stored, or `undefined`. */
  get(id: string): Promise<NegotiationSession | undefined> {
    return this.sessions.get(id);
  }

  /** Ids of the open sessions of `initiator` (default: this coordinator's), e.g. to `resume` them after a restart. */
  openSessions(initiator: string = this.initiator): Promise<string[]> {
    return this.sessions.openSessions(initiator);
  }

  /**
   * Cancels an open session: its runs end with `NegotiationCancelledError`, later answers are
   * ignored. True if this call cancelled it, false if it had already ended.
   *
   * @throws SessionNotFoundError
   */
  async cancel(id: string): Promise<boolean> {
    const result = await this.sessions.update(id, (s) => {
      if (s.state !== "open") return undefined;
      const empty = {
        value: null,
        confidence: 0,
        agreed: false,
        conflict: { detected: false, spread: 0, threshold: 0 },
        contributions: [],
      };
      return { ...s, state: "cancelled", outcome: outcomeOf(s, empty, "cancelled", "cancelled", [], s.rounds.length, this.now()) };
    });
    if (result === undefined) throw new SessionNotFoundError(id);
    return result.changed;
  }

  /**
   * Records `participant`'s answer to `round` — the path of answers from {@link run}, and of answers
   * arriving out of band — and, when this coordinator knows the session's type, applies the
   * finalization rules in the same write. Idempotent per (session, round, participant): only the
   * first answer counts. Ignored (with the reason): a repeat (`duplicate`), an answer at or after
   * the deadline (`late`), to an ended session (`closed`), to an earlier round (`stale-round`) or a
   * later one (`unknown-round`), from a non-participant, or malformed / of the wrong value kind
   * for the type's strategy (`invalid`).
   *
   * @throws SessionNotFoundError
   */
  async recordAnswer(id: string, round: number, participant: string, answer: Answer): Promise<RecordAnswerResult> {
    const parsed = answerSchema.safeParse(answer);
    return new Promise<RecordAnswerResult>((resolve, reject) => {
      const item: QueuedAnswer = { round, participant, answer: parsed.success ? parsed.data : undefined, resolve, reject };
      let batch = this.answerBatches.get(id);
      if (batch === undefined) {
        batch = { queued: [], flushing: false };
        this.answerBatches.set(id, batch);
      }
      batch.queued.push(item);
      if (!batch.flushing) {
        batch.flushing = true;
        // After the current turn's promise jobs: answers that arrive together (one fetch of
        // replies, one release of waiting handlers) go in the first write together.
        process.nextTick(() => void this.flushAnswers(id, batch));
      }
    });
  }

  /**
   * Writes the answers queued for session `id`, as many as have arrived, in one compare-and-set;
   * answers arriving meanwhile go in the next write. Participants asked together answer together,
   * and one write per answer would make them contend: each compare-and-set lost to a sibling
   * costs a read and a write again, so N answers cost O(N²) round trips instead of about two.
   * Within a write, answers apply one by one in arrival order, with the rules after each — the
   * same result as separate writes.
   */
  private async flushAnswers(id: string, batch: AnswerBatch): Promise<void> {
    try {
      while (batch.queued.length > 0) {
        const items = batch.queued.splice(0);
        // Written inside the compare-and-set callback: the verdicts of the attempt that decided.
        const verdicts: (IgnoredAnswerReason | undefined)[] = [];
        let result: Awaited<ReturnType<SessionStore["update"]>>;
        try {
          result = await this.sessions.update(id, (s) => {
            verdicts.length = 0;
            let next = s;
            let changed = false;
            const handler = this.handlers.get(s.type);
            for (const item of items) {
              const at = this.now();
              const reason = item.answer === undefined ? "invalid" : this.whyIgnored(next, item.round, item.participant, item.answer, at);
              verdicts.push(reason);
              if (reason !== undefined || item.answer === undefined) continue;
              currentRound(next).answers[item.participant] = { ...item.answer, at };
              changed = true;
              next = (handler && advanceSession(next, at, handler)) ?? next;
            }
            return changed ? next : undefined;
          });
        } catch (e) {
          for (const item of items) item.reject(e);
          continue;
        }
        items.forEach((item, i) => {
          if (result === undefined) {
            item.reject(new SessionNotFoundError(id));
            return;
          }
          const reason = verdicts[i];
          if (reason === undefined) {
            item.resolve({ recorded: true, session: result.session });
            return;
          }
          const fields = { sessionId: id, round: item.round, participant: item.participant, reason };
          if (reason === "invalid" || reason === "not-a-participant") this.logger.warn("negotiation: answer ignored", fields);
          else this.logger.debug("negotiation: answer ignored", fields);
          item.resolve({ recorded: false, reason, session: result.session });
        });
      }
    } finally {
      batch.flushing = false;
      this.answerBatches.delete(id);
    }
  }

  private whyIgnored(
    s: NegotiationSession,
    round: number,
    participant: string,
    answer: Answer,
    at: number,
  ): IgnoredAnswerReason | undefined {
    if (s.state !== "open") return "closed";
    if (!s.participants.includes(participant)) return "not-a-participant";
    const current = currentRound(s);
    if (round < current.n) return "stale-round";
    if (round > current.n) return "unknown-round";
    if (Object.prototype.hasOwnProperty.call(current.answers, participant)) return "duplicate";
    if (at >= s.deadline) return "late";
    if (this.handlers.get(s.type)?.strategy.valueKind === "number" && !numericAnswer(answer)) return "invalid";
    return undefined;
  }

  /**
   * Applies the rules to session `id` and returns the current document; `known` (a document the
   * caller trusts to be current) is returned as it is when the rules have nothing to do on it.
   */
  private async settle(id: string, known?: NegotiationSession): Promise<NegotiationSession> {
    if (known?.state === "open" && advanceSession(known, this.now(), this.handlerFor(known.type, id)) === undefined) return known;
    const result = await this.sessions.update(id, (s) => advanceSession(s, this.now(), this.handlerFor(s.type, id)));
    if (result === undefined) throw new SessionNotFoundError(id);
    return result.session;
  }

  /** Sends the award/reject notices an ended session owes and records them, so each is sent once per success. */
  private async deliverNotices(session: NegotiationSession): Promise<void> {
    const awards = session.state === "finalized" ? session.outcome?.decision?.awards : undefined;
    if (awards === undefined) return;
    const pending = Object.entries(awards).filter(([p]) => !Object.prototype.hasOwnProperty.call(session.notices, p));
    if (pending.length === 0) return;
    const notify = this.channel.notify?.bind(this.channel);
    if (notify === undefined) {
      this.logger.debug("negotiation: the channel cannot notify; award notices not sent", { sessionId: session.id });
      return;
    }
    const outcome = session.outcome as NegotiationOutcome;
    const sent = await Promise.all(
      pending.map(async ([participant, kind]) => {
        const notice: ParticipantNotice = {
          kind,
          sessionId: session.id,
          type: session.type,
          topic: session.topic,
          round: outcome.rounds,
          value: outcome.value,
        };
        if (outcome.decision?.winner !== undefined) notice.winner = outcome.decision.winner;
        try {
          await notify(participant, notice);
          return [participant, kind] as const;
        } catch (e) {
          this.logger.warn("negotiation: notice not delivered; the next run or resume retries it", {
            sessionId: session.id,
            participant,
            error: e,
          });
          return undefined;
        }
      }),
    );
    const at = this.now();
    await this.sessions.update(session.id, (s) => {
      let changed = false;
      for (const entry of sent) {
        if (entry === undefined || Object.prototype.hasOwnProperty.call(s.notices, entry[0])) continue;
        s.notices[entry[0]] = { kind: entry[1], at };
        changed = true;
      }
      return changed ? s : undefined;
    });
  }

  private handlerFor(type: string, sessionId?: string): NegotiationTypeHandler {
    const handler = this.handlers.get(type);
    if (handler === undefined) throw new UnknownNegotiationTypeError(type, [...this.handlers.keys()], sessionId);
    return handler;
  }
}

/** True when the answer carries no value, or a finite number (what numeric strategies can fuse). */
function numericAnswer(answer: Answer): boolean {
  if (answer.kind === "counter") return typeof answer.value === "number";
  if (answer.kind === "bid") return answer.value === undefined || typeof answer.value === "number";
  return true;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
