/**
 * One replica of one node on an {@link InMemoryNetwork}: the in-memory counterpart of a Kafka
 * consumer-group member. Internal to {@link InMemoryTransport}.
 *
 * @module
 */
import { isEnvelopeError, TransportError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { EnvelopeCodec, EnvelopeHeader, Frame } from "./envelope.js";
import type { InMemoryNetwork, Parcel, ReplicaEndpoint } from "./InMemoryNetwork.js";
import { errorResult, replyHeaderFor, RequestRun } from "./RequestRun.js";
import type { IncomingRequest, ReplicaAddress, RequestHandler, ServeHandle, ServeOptions } from "./Transport.js";

/** @internal Identifies a call on a replica: correlation ids are unique per caller. */
export const callKey = (header: { caller: string; id: string }): string => `${header.caller}\u0000${header.id}`;

/** Default time a drain waits for requests in flight, in milliseconds. */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** @internal What a {@link MemoryReplica} is built from. */
export interface MemoryReplicaParts {
  node: string;
  handler: RequestHandler;
  options: ServeOptions;
  network: InMemoryNetwork;
  codec: EnvelopeCodec;
  logger: Logger;
  now: () => number;
  onStopped: (replica: MemoryReplica) => void;
}

interface Queued {
  readonly parcel: Parcel;
  readonly request: IncomingRequest;
}

/** @internal */
export class MemoryReplica implements ReplicaEndpoint, ServeHandle {
  readonly node: string;
  readonly replicaId: string;
  readonly address: ReplicaAddress;
  accepting = true;
  private stopped = false;
  /** Ids of requests delivered but not yet received (setImmediate), so a cancel can find them. */
  private readonly arriving = new Map<string, number>();
  private readonly queue: Queued[] = [];
  private readonly running = new Map<string, { run: RequestRun; parcel: Parcel }>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly parts: MemoryReplicaParts) {
    this.node = parts.node;
    this.replicaId = parts.options.replicaId;
    this.address = { replicaId: this.replicaId };
  }

  get inFlight(): number {
    return this.running.size;
  }

  load(): number {
    return this.running.size + this.queue.length + this.arriving.size;
  }

  holds(key: string): boolean {
    return this.arriving.has(key) || this.running.has(key) || this.queue.some((q) => callKey(q.request.header) === key);
  }

  accept(parcel: Parcel): void {
    if (parcel.id !== undefined && !parcel.cancel) this.arriving.set(parcel.id, (this.arriving.get(parcel.id) ?? 0) + 1);
    setImmediate(() => {
      if (parcel.id !== undefined && !parcel.cancel) {
        const n = (this.arriving.get(parcel.id) ?? 1) - 1;
        if (n > 0) this.arriving.set(parcel.id, n);
        else this.arriving.delete(parcel.id);
      }
      this.receive(parcel);
    });
  }

  async drain(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.stopped) return;
    this.accepting = false;
    // Not started yet: they go to another replica now, as Kafka would redeliver them after we leave.
    for (const q of this.queue.splice(0)) this.parts.network.route(q.parcel);
    if (this.running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    await this.stop();
  }

  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    this.accepting = false;
    this.parts.network.detach(this);
    // Unanswered requests are delivered again elsewhere, as when a Kafka partition moves.
    for (const { run, parcel } of this.running.values()) {
      run.abort("stop", new TransportError(`replica ${this.replicaId} of node "${this.node}" stopped`));
      this.parts.network.route(parcel);
    }
    this.running.clear();
    for (const q of this.queue.splice(0)) this.parts.network.route(q.parcel);
    this.notifyIdle();
    this.parts.onStopped(this);
    return Promise.resolve();
  }

  private receive(parcel: Parcel): void {
    if (this.stopped) {
      this.parts.network.route(parcel);
      return;
    }
    const source = `replica ${this.replicaId} of node "${this.node}"`;
    let envelope;
    try {
      envelope = this.parts.codec.decode(parcel.frame.value, parcel.frame.signature);
    } catch (error) {
      this.deadLetter(parcel.frame, source, isEnvelopeError(error) ? error.reason : "malformed", (error as Error).message);
      return;
    }
    const { header } = envelope;
    if (header.kind === "cancel") {
      this.cancel(callKey(header));
      return;
    }
    if (header.kind !== "request") {
      this.deadLetter(parcel.frame, source, "unexpected_kind", `a ${header.kind} arrived at a replica`);
      return;
    }
    if (header.node !== this.node) {
      this.deadLetter(parcel.frame, source, "wrong_node", `a request for node "${header.node}" arrived at a replica of "${this.node}"`);
      return;
    }
    if (!this.accepting) {
      this.parts.network.route(parcel);
      return;
    }
    if (header.deadline <= this.parts.now()) return; // nobody waits for it any more
    const key = callKey(header);
    if (this.running.has(key) || this.queue.some((q) => callKey(q.request.header) === key)) return; // duplicate
    this.queue.push({ parcel, request: { header, payload: envelope.payload } });
    this.pump();
  }

  private cancel(key: string): void {
    const i = this.queue.findIndex((q) => callKey(q.request.header) === key);
    if (i >= 0) {
      this.queue.splice(i, 1);
      return;
    }
    const entry = this.running.get(key);
    entry?.run.abort("cancel", new TransportError(`call ${entry.run.header.id} was cancelled by its caller`));
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.parts.options.concurrency) {
      const next = this.queue.shift();
      if (!next) return;
      if (next.request.header.deadline <= this.parts.now()) continue;
      this.start(next);
    }
  }

  private start({ parcel, request }: Queued): void {
    const replyTo = request.header.replyTo;
    const run = new RequestRun(request, this.replicaId, (header, payload) => this.send(replyTo, header, payload), this.parts.now);
    const key = callKey(request.header);
    this.running.set(key, { run, parcel });
    void run.result(this.parts.handler).then((result) => {
      if (this.running.get(key)?.run !== run) return; // stopped meanwhile: redelivered elsewhere
      this.running.delete(key);
      if (result.refused !== undefined)
        this.deadLetter(parcel.frame, `replica ${this.replicaId} of node "${this.node}"`, result.refused.reason, result.refused.message);
      if (run.abortedBy !== "cancel") {
        const h = request.header;
        const header = replyHeaderFor(h, this.replicaId, result);
        this.send(replyTo, header, result.payload).catch((error: unknown) => {
          // The reply itself is too large: tell the caller instead of leaving it to its deadline.
          const fallback = errorResult(error);
          const errorHeader = { ...header, status: fallback.status, payloadType: fallback.payloadType };
          this.send(replyTo, errorHeader, fallback.payload).catch((e: unknown) => {
            this.parts.logger.error("could not send a reply", { node: this.node, id: h.id, error: e });
          });
        });
      }
      if (this.running.size === 0) this.notifyIdle();
      this.pump();
    });
  }

  private send(replyTo: string, header: EnvelopeHeader, payload: Uint8Array): Promise<void> {
    try {
      this.parts.network.deliverToCaller(replyTo, this.parts.codec.encode(header, payload));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private deadLetter(frame: Frame, source: string, reason: string, message: string): void {
    this.parts.logger.warn("dead-lettered a message", { source, reason, error: message });
    this.parts.network.deadLetter({ reason, error: message, source, raw: frame.value, signature: frame.signature });
  }
}
