/**
 * The embedded transport: node calls between transports in one process, with the behaviour of
 * `KafkaTransport` where it matters to the layers above. Every message is encoded and decoded by
 * an {@link EnvelopeCodec} (size limit, signing, schema), delivery is always asynchronous, a
 * request whose replica is gone goes to another replica of its node (as a Kafka partition moves),
 * and what cannot be parsed lands in {@link InMemoryNetwork.deadLetters}.
 *
 * @module
 */
import type { SigningKey } from "./signingKeys.js";
import { randomUUID } from "node:crypto";
import { ConfigurationError, TransportError } from "../errors.js";
import { createConsoleLogger, type Logger } from "../observability/logger.js";
import { EnvelopeCodec, ENVELOPE_VERSION, type Envelope, type Frame, type NoticeHeader, type RequestHeader } from "./envelope.js";
import { InMemoryNetwork, type FrameSink } from "./InMemoryNetwork.js";
import { callKey, MemoryReplica } from "./MemoryReplica.js";
import { PendingCalls, type PendingCallsStats } from "./PendingCalls.js";
import type {
  CallOptions,
  CallReply,
  Notice,
  OutgoingRequestHeader,
  RequestHandler,
  ServeHandle,
  ServeOptions,
  Transport,
} from "./Transport.js";

export { InMemoryNetwork } from "./InMemoryNetwork.js";
export type { DeadLetter } from "./InMemoryNetwork.js";

/** Options of {@link InMemoryTransport}. */
export interface InMemoryTransportOptions {
  /** The medium shared with other transports ("processes"). Default: a private network of this transport. */
  network?: InMemoryNetwork;
  /** Id of this process as a caller; unique on the network, 1-200 characters. Default: `memory-<random>`. */
  callerId?: string;
  /** Largest frame, in bytes. Default 1,000,000 (`DEFAULT_MAX_MESSAGE_BYTES`). */
  maxMessageBytes?: number;
  /** Shared HMAC keys with ids (as `KafkaTransport`'s); when set, frames are signed and unsigned or badly signed frames are dead-lettered. Default: none. */
  signingKeys?: SigningKey[];
  /** One shared HMAC key, id `"default"`. Not with `signingKeys`. Default: none. */
  signingKey?: string | Uint8Array;
  /** Where warnings go (dead letters, listener errors). Default: a console logger at `warn`. */
  logger?: Logger;
  /** Clock in epoch milliseconds, for deadlines. Default `Date.now`. */
  now?: () => number;
}

const ID_PATTERN = /^.{1,200}$/su;

/** The embedded {@link Transport}. */
export class InMemoryTransport implements Transport {
  readonly kind = "memory";
  readonly callerId: string;
  /** The network this transport is attached to. */
  readonly network: InMemoryNetwork;
  private readonly codec: EnvelopeCodec;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly pending: PendingCalls;
  private readonly replicas = new Set<MemoryReplica>();
  private readonly channels = new Map<string, Set<(notice: Notice) => void>>();
  private running = false;
  private readonly replyTo: string;
  private readonly onFrame: FrameSink = (frame) => {
    this.receiveReply(frame);
  };
  private readonly onNotice: FrameSink = (frame) => {
    this.receiveNotice(frame);
  };

  /** @throws RangeError when an option is out of range. */
  constructor(options: InMemoryTransportOptions = {}) {
    this.callerId = options.callerId ?? `memory-${randomUUID().slice(0, 8)}`;
    if (!ID_PATTERN.test(this.callerId)) throw new RangeError(`callerId must be 1-200 characters (got ${JSON.stringify(this.callerId)})`);
    this.now = options.now ?? Date.now;
    if (typeof this.now !== "function")
      throw new RangeError(`now must be a function returning epoch milliseconds (got ${typeof this.now})`);
    this.network = options.network ?? new InMemoryNetwork(this.now);
    this.codec = new EnvelopeCodec({
      maxMessageBytes: options.maxMessageBytes,
      ...(options.signingKey !== undefined ? { signingKey: options.signingKey } : {}),
      ...(options.signingKeys !== undefined ? { signingKeys: options.signingKeys } : {}),
    });
    this.logger = options.logger ?? createConsoleLogger({ name: "fabric:memory" });
    this.pending = new PendingCalls(this.now, this.logger);
    this.replyTo = `memory:${this.callerId}`;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.network.listen(this.replyTo, this.onFrame);
    if (this.channels.size > 0) this.network.subscribe(this.onNotice, true);
    this.running = true;
    return Promise.resolve();
  }

  /** Replies and events refused because they answered no request in flight (replays, forgeries), and event-buffer overflows. */
  callStats(): PendingCallsStats {
    return this.pending.stats();
  }

  // async so that every refusal below is a rejection, never a synchronous throw.
  async call(outgoing: OutgoingRequestHeader, payload: Uint8Array, options: CallOptions): Promise<CallReply> {
    if (!this.running) throw new TransportError(`cannot call node "${outgoing.node}": the transport is not started or has stopped`);
    if (options.signal?.aborted) throw options.signal.reason;
    const header: RequestHeader = {
      ...outgoing,
      v: ENVELOPE_VERSION,
      kind: "request",
      caller: this.callerId,
      replyTo: this.replyTo,
      nonce: this.pending.nonce(),
    };
    const frame = this.codec.encode(header, payload);
    const reply = this.pending.add(header, options, (h) => {
      this.sendCancel(h);
    });
    if (this.pending.has(header.id)) {
      this.network.route({
        frame,
        node: header.node,
        replicaId: options.target.replicaId,
        id: callKey(header),
        deadline: header.deadline,
        cancel: false,
      });
    }
    return reply;
  }

  async serve(node: string, handler: RequestHandler, options: ServeOptions): Promise<ServeHandle> {
    if (!this.running) throw new TransportError(`cannot serve node "${node}": the transport is not started or has stopped`);
    if (node.length === 0 || node.length > 256) throw new RangeError(`node must be 1-256 characters (got ${JSON.stringify(node)})`);
    if (!ID_PATTERN.test(options.replicaId))
      throw new RangeError(`replicaId must be 1-200 characters (got ${JSON.stringify(options.replicaId)})`);
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      throw new RangeError(`concurrency must be an integer >= 1 (got ${options.concurrency})`);
    const replica = new MemoryReplica({
      node,
      handler,
      options,
      network: this.network,
      codec: this.codec,
      logger: this.logger,
      now: this.now,
      onStopped: (r) => this.replicas.delete(r),
    });
    try {
      this.network.attach(replica);
    } catch (error) {
      throw new ConfigurationError((error as Error).message, { hint: "give every serve() a unique replicaId" });
    }
    this.replicas.add(replica);
    options.onAddressChange?.(replica.address);
    return Promise.resolve(replica);
  }

  publish(channel: string, payload: Uint8Array): Promise<void> {
    if (!this.running)
      return Promise.reject(new TransportError(`cannot publish on "${channel}": the transport is not started or has stopped`));
    const header: NoticeHeader = { v: ENVELOPE_VERSION, kind: "notice", channel, sender: this.callerId, payloadType: "bytes" };
    try {
      this.network.broadcast(this.codec.encode(header, payload));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  subscribe(channel: string, handler: (notice: Notice) => void): Promise<() => Promise<void>> {
    if (!this.running)
      return Promise.reject(new TransportError(`cannot subscribe to "${channel}": the transport is not started or has stopped`));
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    // A wrapper per subscription, so the same function subscribed twice unsubscribes once each.
    const entry = (notice: Notice): void => {
      handler(notice);
    };
    set.add(entry);
    this.network.subscribe(this.onNotice, true);
    return Promise.resolve(() => {
      const current = this.channels.get(channel);
      current?.delete(entry);
      if (current?.size === 0) this.channels.delete(channel);
      if (this.channels.size === 0) this.network.subscribe(this.onNotice, false);
      return Promise.resolve();
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all([...this.replicas].map((r) => r.stop()));
    this.network.unlisten(this.replyTo, this.onFrame);
    this.network.subscribe(this.onNotice, false);
    this.pending.rejectAll(new TransportError(`transport of caller ${this.callerId} stopped while the call was waiting for its reply`));
  }

  private sendCancel(request: RequestHeader): void {
    if (!this.running) return;
    const header = {
      v: ENVELOPE_VERSION,
      kind: "cancel",
      id: request.id,
      node: request.node,
      caller: this.callerId,
      replica: request.replica,
      payloadType: "none",
    } as const;
    const frame = this.codec.encode(header, new Uint8Array(0));
    this.network.route({
      frame,
      node: request.node,
      replicaId: request.replica,
      id: callKey(request),
      deadline: request.deadline,
      cancel: true,
    });
  }

  private receiveReply(frame: Frame): void {
    const envelope = this.decode(frame, `caller ${this.callerId}`);
    if (!envelope) return;
    const { header } = envelope;
    if (header.kind === "reply") this.pending.deliverReply({ header, payload: envelope.payload });
    else if (header.kind === "event") this.pending.deliverEvent({ header, payload: envelope.payload });
    else this.reject(frame, `caller ${this.callerId}`, "unexpected_kind", `a ${header.kind} arrived at a caller's return address`);
  }

  private receiveNotice(frame: Frame): void {
    const envelope = this.decode(frame, `notice subscriber ${this.callerId}`);
    if (!envelope) return;
    const { header } = envelope;
    if (header.kind !== "notice") {
      this.reject(frame, `notice subscriber ${this.callerId}`, "unexpected_kind", `a ${header.kind} arrived on the notice channel`);
      return;
    }
    for (const handler of this.channels.get(header.channel) ?? []) {
      try {
        handler({ channel: header.channel, sender: header.sender, payload: envelope.payload });
      } catch (error) {
        this.logger.warn("notice handler threw", { channel: header.channel, error });
      }
    }
  }

  private decode(frame: Frame, source: string): Envelope | undefined {
    try {
      return this.codec.decode(frame.value, frame.signature);
    } catch (error) {
      const reason = (error as { reason?: string }).reason ?? "malformed";
      this.reject(frame, source, reason, (error as Error).message);
      return undefined;
    }
  }

  private reject(frame: Frame, source: string, reason: string, message: string): void {
    this.logger.warn("dead-lettered a message", { source, reason, error: message });
    this.network.deadLetter({ reason, error: message, source, raw: frame.value, signature: frame.signature });
  }
}
