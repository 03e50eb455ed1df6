/**
 * The caller's side of calls in flight, shared by every transport: deadline timers, aborts, the
 * ordering of streamed events, the first-reply-wins rule, and the binding of replies and events
 * to the exact request they answer (its node, attempt and a random nonce only the caller and the
 * signed request know), so an old reply replayed on the wire never settles a call.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { DeadlineExceededError, EventBufferOverflowError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { Envelope, EventHeader, ReplyHeader, RequestHeader } from "./envelope.js";
import type { CallOptions, CallReply } from "./Transport.js";

type OnEvent = NonNullable<CallOptions["onEvent"]>;

interface Pending {
  readonly header: RequestHeader;
  readonly resolve: (reply: CallReply) => void;
  readonly reject: (error: unknown) => void;
  readonly onEvent: OnEvent | undefined;
  /** Next event `seq` to hand to `onEvent`; lower ones are duplicates. */
  nextSeq: number;
  /** Events that arrived ahead of a missing lower `seq`. */
  readonly early: Map<number, Envelope<EventHeader>>;
  /** Payload bytes held in `early`. */
  earlyBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  detachAbort: (() => void) | undefined;
}

/** How a transport sends a cancel for a call its caller aborted. */
export type SendCancel = (request: RequestHeader) => void;

/** Limits and randomness of {@link PendingCalls}. */
export interface PendingCallsOptions {
  /** Most out-of-order events held for one call; one more fails the call. Default 1,024. */
  maxEarlyEvents?: number;
  /** Most payload bytes of out-of-order events held for one call; more fail the call. Default 16 MiB. */
  maxEarlyEventBytes?: number;
  /** Source of request nonces (8-64 characters). Default: 16 random bytes, base64url. */
  nonce?: () => string;
}

/** Defaults of {@link PendingCallsOptions}. */
export const PENDING_CALLS_DEFAULTS = {
  maxEarlyEvents: 1_024,
  maxEarlyEventBytes: 16 * 1024 * 1024, // bytes
} as const;

/** Counters of replies and events refused because they answer no request of this caller. */
export interface PendingCallsStats {
  /** Replies whose call waits but whose node, attempt or nonce differ from its request (replays, forgeries). */
  refusedReplies: number;
  /** The same for events. */
  refusedEvents: number;
  /** Calls failed because their out-of-order events overflowed the buffer. */
  eventOverflows: number;
}

/**
 * Calls waiting for their reply, by correlation id. A call settles exactly once: with the first
 * reply (later replies of the same call, e.g. from a second replica after a rebalance, are
 * ignored), with `DeadlineExceededError` at its deadline, or with the abort reason.
 */
export class PendingCalls {
  private readonly calls = new Map<string, Pending>();
  private readonly maxEarlyEvents: number;
  private readonly maxEarlyEventBytes: number;
  private readonly makeNonce: () => string;
  private readonly counts: PendingCallsStats = { refusedReplies: 0, refusedEvents: 0, eventOverflows: 0 };

  /**
   * @param now - clock in epoch milliseconds (deadlines are epoch milliseconds).
   * @param logger - where errors thrown by `onEvent` listeners, and refused replies, go.
   * @throws RangeError when a limit is not a positive integer.
   */
  constructor(
    private readonly now: () => number,
    private readonly logger: Logger,
    options: PendingCallsOptions = {},
  ) {
    this.maxEarlyEvents = options.maxEarlyEvents ?? PENDING_CALLS_DEFAULTS.maxEarlyEvents;
    this.maxEarlyEventBytes = options.maxEarlyEventBytes ?? PENDING_CALLS_DEFAULTS.maxEarlyEventBytes;
    for (const [field, v] of [
      ["maxEarlyEvents", this.maxEarlyEvents],
      ["maxEarlyEventBytes", this.maxEarlyEventBytes],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${field} must be a positive integer (got ${v})`);
    }
    this.makeNonce = options.nonce ?? (() => randomBytes(16).toString("base64url"));
  }

  /** A fresh nonce for a request this caller is about to send (put it in the request header). */
  nonce(): string {
    return this.makeNonce();
  }

  /** Replies and events refused so far (a copy). */
  stats(): PendingCallsStats {
    return { ...this.counts };
  }

  /** Calls waiting for a reply. */
  get size(): number {
    return this.calls.size;
  }

  /** True when a call with this correlation id is waiting. */
  has(id: string): boolean {
    return this.calls.has(id);
  }

  /**
   * Registers a call before its request is sent. The returned promise settles with the reply,
   * the deadline error or the abort reason; on abort `sendCancel` is called once.
   *
   * @throws Error when a call with the same correlation id is already waiting.
   */
  add(header: RequestHeader, options: Pick<CallOptions, "signal" | "onEvent">, sendCancel: SendCancel): Promise<CallReply> {
    if (this.calls.has(header.id)) throw new Error(`a call with id "${header.id}" is already in flight`);
    return new Promise<CallReply>((resolve, reject) => {
      const entry: Pending = {
        header,
        resolve,
        reject,
        onEvent: options.onEvent,
        nextSeq: 0,
        early: new Map(),
        earlyBytes: 0,
        timer: undefined,
        detachAbort: undefined,
      };
      this.calls.set(header.id, entry);
      const startedAt = this.now();
      const remaining = header.deadline - startedAt;
      const expire = (): void => {
        this.settle(header.id, (p) => {
          p.reject(new DeadlineExceededError(header.node, Math.max(0, header.deadline - startedAt)));
        });
      };
      if (remaining <= 0) {
        expire();
        return;
      }
      // Node's timers hold at most 2^31-1 ms; a longer deadline is re-armed when that fires.
      const arm = (): void => {
        const left = header.deadline - this.now();
        if (left <= 0) expire();
        else entry.timer = setTimeout(arm, Math.min(left, 2_147_483_647));
      };
      entry.timer = setTimeout(arm, Math.min(remaining, 2_147_483_647));
      const signal = options.signal;
      if (signal) {
        const onAbort = (): void => {
          this.settle(header.id, (p) => {
            p.reject(signal.reason);
          });
          sendCancel(header);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.detachAbort = () => {
          signal.removeEventListener("abort", onAbort);
        };
      }
    });
  }

  /** Rejects a waiting call (e.g. its request could not be sent). Returns false if it was not waiting. */
  fail(id: string, error: unknown): boolean {
    return this.settle(id, (p) => {
      p.reject(error);
    });
  }

  /**
   * Hands a reply to its call. Returns false when no call waits for it (late, duplicate, or for
   * another caller): the transport simply drops it.
   */
  deliverReply(reply: Envelope<ReplyHeader>): boolean {
    const pending = this.calls.get(reply.header.id);
    if (!pending || pending.header.caller !== reply.header.caller) return false;
    if (!answers(pending.header, reply.header)) {
      this.counts.refusedReplies += 1;
      this.logger.warn("refused a reply that does not answer the request in flight (a replay or a forgery)", {
        id: reply.header.id,
        node: reply.header.node,
        attempt: reply.header.attempt,
        replica: reply.header.replica,
      });
      return false;
    }
    // Events that were waiting for a lost lower seq go out now, in order, before the reply.
    for (const seq of [...pending.early.keys()].sort((a, b) => a - b)) {
      const event = pending.early.get(seq);
      if (event) this.emit(pending, event);
    }
    return this.settle(reply.header.id, (p) => {
      p.resolve({ header: reply.header, payload: reply.payload });
    });
  }

  /** Hands an event to its call in `seq` order; duplicates and events of finished calls are dropped. */
  deliverEvent(event: Envelope<EventHeader>): boolean {
    const pending = this.calls.get(event.header.id);
    if (!pending || pending.header.caller !== event.header.caller) return false;
    if (event.header.nonce !== pending.header.nonce || event.header.node !== pending.header.node) {
      this.counts.refusedEvents += 1;
      this.logger.warn("refused an event that does not belong to the request in flight", { id: event.header.id, node: event.header.node });
      return false;
    }
    const seq = event.header.seq;
    if (seq < pending.nextSeq || pending.early.has(seq)) return false;
    if (seq > pending.nextSeq) {
      // Held until the missing lower seq arrives, within limits: past them the call fails rather
      // than let a stream of events (lost or forged) grow this process without bound.
      const bytes = pending.earlyBytes + event.payload.length;
      if (pending.early.size >= this.maxEarlyEvents || bytes > this.maxEarlyEventBytes) {
        this.counts.eventOverflows += 1;
        const limit = `${this.maxEarlyEvents} events or ${this.maxEarlyEventBytes} bytes`;
        this.fail(event.header.id, new EventBufferOverflowError(pending.header.node, event.header.id, limit));
        return false;
      }
      pending.early.set(seq, event);
      pending.earlyBytes = bytes;
      return true;
    }
    this.emit(pending, event);
    for (let next = pending.early.get(pending.nextSeq); next; next = pending.early.get(pending.nextSeq)) {
      this.emit(pending, next);
    }
    return true;
  }

  /** Rejects every waiting call with `error` (the transport is stopping). */
  rejectAll(error: unknown): void {
    for (const id of [...this.calls.keys()]) this.fail(id, error);
  }

  private emit(pending: Pending, event: Envelope<EventHeader>): void {
    if (pending.early.delete(event.header.seq)) pending.earlyBytes -= event.payload.length;
    pending.nextSeq = event.header.seq + 1;
    if (!pending.onEvent) return;
    try {
      pending.onEvent({ header: event.header, payload: event.payload });
    } catch (error) {
      this.logger.warn("onEvent listener threw; the call continues", { id: event.header.id, node: event.header.node, error });
    }
  }

  private settle(id: string, how: (p: Pending) => void): boolean {
    const pending = this.calls.get(id);
    if (!pending) return false;
    this.calls.delete(id);
    pending.early.clear();
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.detachAbort?.();
    how(pending);
    return true;
  }
}

/** Whether `reply` answers `request`: the same node, attempt and nonce (the id and caller are matched by lookup). */
function answers(request: RequestHeader, reply: ReplyHeader): boolean {
  return reply.nonce === request.nonce && reply.attempt === request.attempt && reply.node === request.node;
}
