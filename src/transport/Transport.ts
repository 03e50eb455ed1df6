/**
 * The transport: how node calls travel between the process that runs a graph (the caller) and
 * the replicas that serve its nodes. Two implementations pass one conformance suite:
 * {@link InMemoryTransport} (the embedded default) and `KafkaTransport` (`langgraph-fabric/kafka`).
 *
 * The transport moves envelopes (see `envelope.ts`): it routes a request to the replica the
 * caller chose, streams the replica's events and its reply back to that caller only, carries
 * cancellations, and sends what it cannot parse to a dead-letter destination. It knows nothing of
 * LangGraph: payloads are opaque bytes, serialized by the nodes layer.
 *
 * @module
 */
import type { EventHeader, ReplyHeader, RequestHeader } from "./envelope.js";

/** Where a replica can be reached. Published in the registry; chosen by the balancer. */
export interface ReplicaAddress {
  /** Unique id of the replica (one `serve()` of one node in one process). */
  readonly replicaId: string;
  /**
   * Kafka: the partitions of the node's request topic this replica owns right now. The caller
   * produces to one of them. Empty while the replica is joining its group.
   */
  readonly partitions?: readonly number[];
}

/** A request as the caller hands it over; the transport fills in `caller`, `replyTo` and `nonce`. */
export type OutgoingRequestHeader = Omit<RequestHeader, "v" | "kind" | "caller" | "replyTo" | "nonce">;

/** Options of one call. */
export interface CallOptions {
  /** The replica chosen by the balancer. */
  target: ReplicaAddress;
  /** Aborts the call: the transport sends a cancel to the replica and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Receives the call's events, in order, before the reply. */
  onEvent?: (event: { header: EventHeader; payload: Uint8Array }) => void;
}

/** The final answer of a call. */
export interface CallReply {
  header: ReplyHeader;
  payload: Uint8Array;
}

/** A request as a replica receives it. */
export interface IncomingRequest {
  header: RequestHeader;
  payload: Uint8Array;
}

/** What a request handler gets besides the request. */
export interface RequestContext {
  /** Aborted when the caller cancels, when the request's deadline passes, or when the replica stops. */
  readonly signal: AbortSignal;
  /** Streams an event to the caller (custom stream events); resolves once it is sent. */
  emit(payloadType: string, payload: Uint8Array): Promise<void>;
}

/** A handler's answer; the transport sends it as the reply. */
export interface HandlerResult {
  status: ReplyHeader["status"];
  payloadType: string;
  payload: Uint8Array;
  /**
   * Set when the request itself must be refused (e.g. `idempotency_conflict`): the transport
   * dead-letters the request with this reason, besides sending the (error) reply.
   */
  refused?: { reason: string; message: string };
}

/**
 * Serves one request. Called without blocking the transport's receive loop: a handler may run
 * for minutes. The transport acknowledges the request (Kafka: commits its offset) only after the
 * reply has been sent; if the handler throws, the transport replies with status `error` itself.
 */
export type RequestHandler = (request: IncomingRequest, context: RequestContext) => Promise<HandlerResult>;

/** Options of {@link Transport.serve}. */
export interface ServeOptions {
  /** Id of this replica; must be unique in the fabric. */
  replicaId: string;
  /** Most requests handled at once by this replica; more wait in the transport (Kafka: fetching pauses). */
  concurrency: number;
  /** Called whenever the replica's address changes (Kafka: partitions assigned or revoked). */
  onAddressChange?: (address: ReplicaAddress) => void;
}

/** A running replica. */
export interface ServeHandle {
  /** The replica's current address. */
  readonly address: ReplicaAddress;
  /** Requests being handled right now. */
  readonly inFlight: number;
  /** Stops taking new requests and waits for the ones in flight to be answered (at most `timeoutMs`). */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops at once; requests in flight are aborted and, unanswered, delivered again elsewhere (Kafka). */
  stop(): Promise<void>;
}

/** Something a notice subscriber receives. */
export interface Notice {
  channel: string;
  sender: string;
  payload: Uint8Array;
}

/** Moves node calls and notices between processes. */
export interface Transport {
  /** `"memory"`, `"kafka"`, …: shown by `fabric.status()`. */
  readonly kind: string;
  /** Id of this process as a caller (replies are routed to it). */
  readonly callerId: string;
  /** Connects (idempotent). Called by the fabric before any other method. */
  start(): Promise<void>;
  /**
   * Sends a request to `options.target` and resolves with its reply. Rejects with
   * `DeadlineExceededError` at `header.deadline`, with the signal's reason when aborted, with
   * `PayloadTooLargeError` before sending an oversize request, and with `TransportError` when the
   * transport is not running.
   */
  call(header: OutgoingRequestHeader, payload: Uint8Array, options: CallOptions): Promise<CallReply>;
  /** Serves `node` as one replica until the handle is drained or stopped. */
  serve(node: string, handler: RequestHandler, options: ServeOptions): Promise<ServeHandle>;
  /** Publishes a notice to every subscriber of `channel` in the fabric (including this process). */
  publish(channel: string, payload: Uint8Array): Promise<void>;
  /** Subscribes to a channel; resolves once subscribed, with a function that unsubscribes. */
  subscribe(channel: string, handler: (notice: Notice) => void): Promise<() => Promise<void>>;
  /** Stops serving and calling; calls waiting for replies reject with `TransportError`. */
  stop(): Promise<void>;
}
