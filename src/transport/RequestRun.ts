/**
 * The replica's side of one request, shared by every transport: the handler's abort signal
 * (cancel, deadline, replica stop), numbered events, and the fallback error reply when the
 * handler throws.
 *
 * @module
 */
import { DeadlineExceededError, TransportError } from "../errors.js";
import type { EventHeader, ReplyHeader, RequestHeader } from "./envelope.js";
import { ENVELOPE_VERSION } from "./envelope.js";
import type { HandlerResult, IncomingRequest, RequestHandler } from "./Transport.js";

/** Sends one event of a run; resolves once it is on the wire. */
export type SendEvent = (header: EventHeader, payload: Uint8Array) => Promise<void>;

/**
 * The reply a transport sends when a handler throws (or returns something that is not a
 * {@link HandlerResult}): status `error`, payloadType `"json"`, payload the UTF-8 JSON
 * `{"name": string, "message": string}` of the error. The nodes layer normally catches its own
 * errors and serializes them richly; this is the fallback so a caller never waits for a reply
 * that will not come.
 */
export function errorResult(error: unknown): HandlerResult {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  return { status: "error", payloadType: "json", payload: Buffer.from(JSON.stringify({ name, message })) };
}

/** The header of the reply to `request`: it repeats the request's id, node, attempt and nonce. */
export function replyHeaderFor(
  request: RequestHeader,
  replicaId: string,
  result: Pick<HandlerResult, "status" | "payloadType">,
): ReplyHeader {
  return {
    v: ENVELOPE_VERSION,
    kind: "reply",
    id: request.id,
    node: request.node,
    replica: replicaId,
    caller: request.caller,
    attempt: request.attempt,
    nonce: request.nonce,
    status: result.status,
    payloadType: result.payloadType,
  };
}

function isHandlerResult(value: unknown): value is HandlerResult {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Partial<HandlerResult>;
  return (r.status === "ok" || r.status === "error") && typeof r.payloadType === "string" && r.payload instanceof Uint8Array;
}

/**
 * One execution of a request handler. The transport creates it when the request leaves its
 * queue, calls {@link RequestRun.result}, and sends what it resolves with (unless the run was
 * cancelled or the replica stopped).
 */
export class RequestRun {
  private readonly controller = new AbortController();
  private seq = 0;
  private finished = false;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  /** Why the run was aborted, if it was. */
  abortedBy: "cancel" | "deadline" | "stop" | undefined;

  /**
   * @param request - the decoded request.
   * @param replicaId - the replica running it (stamped on events).
   * @param sendEvent - puts one event on the wire towards the caller.
   * @param now - clock in epoch milliseconds, for the request's deadline.
   */
  constructor(
    readonly request: IncomingRequest,
    private readonly replicaId: string,
    private readonly sendEvent: SendEvent,
    private readonly now: () => number,
  ) {}

  /** The request's header. */
  get header(): RequestHeader {
    return this.request.header;
  }

  /** The signal the handler receives. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Aborts the handler's signal (idempotent). */
  abort(by: "cancel" | "deadline" | "stop", reason: unknown): void {
    if (this.controller.signal.aborted) return;
    this.abortedBy = by;
    this.controller.abort(reason);
  }

  /**
   * Runs the handler; never rejects: a handler that throws or returns something that is not a
   * {@link HandlerResult} yields an {@link errorResult}. Arms the deadline, which aborts the signal.
   */
  async result(handler: RequestHandler): Promise<HandlerResult> {
    const left = this.header.deadline - this.now();
    // The caller stops waiting at the deadline; the handler's signal says so too.
    const onDeadline = (): void => {
      this.abort("deadline", new DeadlineExceededError(this.header.node, Math.max(0, left)));
    };
    if (left <= 0) onDeadline();
    else this.deadlineTimer = setTimeout(onDeadline, Math.min(left, 2_147_483_647));
    try {
      const value: unknown = await handler(this.request, {
        signal: this.controller.signal,
        emit: (payloadType, payload) => this.emit(payloadType, payload),
      });
      if (isHandlerResult(value)) return value;
      return errorResult(new TypeError(`the request handler of node "${this.header.node}" returned no {status, payloadType, payload}`));
    } catch (error) {
      return errorResult(error);
    } finally {
      this.finished = true;
      if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    }
  }

  private emit(payloadType: string, payload: Uint8Array): Promise<void> {
    if (this.finished)
      return Promise.reject(new TransportError(`call ${this.header.id} is already answered; its events can no longer be sent`));
    const h = this.header;
    const header: EventHeader = {
      v: ENVELOPE_VERSION,
      kind: "event",
      id: h.id,
      node: h.node,
      replica: this.replicaId,
      caller: h.caller,
      seq: this.seq++,
      nonce: h.nonce,
      payloadType,
    };
    return this.sendEvent(header, payload);
  }
}
