/**
 * One error hierarchy for the whole package. Every error thrown on purpose by langgraph-fabric is a
 * {@link FabricError} with a stable `code` and a `hint` that tells the user what to do about it.
 * Guards check `code`/`name` rather than `instanceof`, so they also work across the ESM and
 * CommonJS builds (two copies of the class) and for errors rebuilt from the wire.
 *
 * @module
 */

/** Options accepted by every {@link FabricError} constructor. */
export interface FabricErrorOptions {
  /** What the user should do about the error. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of every error langgraph-fabric throws on purpose. */
export class FabricError extends Error {
  /** Stable machine-readable code, e.g. `"LOCK_NOT_HELD"`. */
  readonly code: string;
  /** What to do about it; also appended to `message`. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: FabricErrorOptions = {}) {
    super(options.hint ? `${message} (${options.hint})` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

const FABRIC_ERROR_MARK = Symbol.for("langgraph-fabric.error");
Object.defineProperty(FabricError.prototype, FABRIC_ERROR_MARK, { value: true });

/** True for any error of this package's hierarchy (works across the ESM and CJS builds). */
export function isFabricError(e: unknown): e is FabricError {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[FABRIC_ERROR_MARK] === true;
}

/** Invalid options or environment configuration. Thrown at construction time. */
export class ConfigurationError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("CONFIGURATION", message, options);
  }
}
/** True if `e` is a {@link ConfigurationError}. */
export const isConfigurationError = (e: unknown): e is ConfigurationError => isFabricError(e) && e.code === "CONFIGURATION";

/** A state-store or checkpointer operation failed against its backend (Redis unreachable, script error…). */
export class StateStoreError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("STATE_STORE", message, options);
  }
}
/** True if `e` is a {@link StateStoreError}. */
export const isStateStoreError = (e: unknown): e is StateStoreError => isFabricError(e) && e.code === "STATE_STORE";

/** A lock operation was attempted by a caller that does not hold the lock (expired or taken over). */
export class LockNotHeldError extends FabricError {
  /** The lock's name. */
  readonly lock: string;
  constructor(lock: string, options?: FabricErrorOptions) {
    super("LOCK_NOT_HELD", `lock "${lock}" is not held by this owner`, {
      hint: "the lease expired or another owner took it over; acquire it again and re-read the protected state",
      ...options,
    });
    this.lock = lock;
  }
}
/** True if `e` is a {@link LockNotHeldError}. */
export const isLockNotHeldError = (e: unknown): e is LockNotHeldError => isFabricError(e) && e.code === "LOCK_NOT_HELD";

/** A fenced write carried a fencing token older than one already accepted for that key. */
export class StaleFencingTokenError extends FabricError {
  /** The key that was written. */
  readonly key: string;
  /** The token the write carried. */
  readonly token: number;
  /** The highest token already accepted for the key. */
  readonly currentToken: number;
  constructor(key: string, token: number, currentToken: number) {
    super("STALE_FENCING_TOKEN", `write to "${key}" with fencing token ${token} rejected: token ${currentToken} was already accepted`, {
      hint: "this writer lost its lock to a newer owner; stop writing and re-acquire the lock",
    });
    this.key = key;
    this.token = token;
    this.currentToken = currentToken;
  }
}
/** True if `e` is a {@link StaleFencingTokenError}. */
export const isStaleFencingTokenError = (e: unknown): e is StaleFencingTokenError => isFabricError(e) && e.code === "STALE_FENCING_TOKEN";

/** A value could not be serialized to, or parsed from, its stored or wire form. */
export class SerializationError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("SERIALIZATION", message, options);
  }
}
/** True if `e` is a {@link SerializationError}. */
export const isSerializationError = (e: unknown): e is SerializationError => isFabricError(e) && e.code === "SERIALIZATION";

/** An operation that is scoped to a LangGraph thread was called without `configurable.thread_id`. */
export class MissingThreadIdError extends FabricError {
  constructor(operation: string) {
    super("MISSING_THREAD_ID", `${operation} needs config.configurable.thread_id`, {
      hint: 'pass { configurable: { thread_id: "…" } } to invoke/stream so the run is persisted under a thread',
    });
  }
}
/** True if `e` is a {@link MissingThreadIdError}. */
export const isMissingThreadIdError = (e: unknown): e is MissingThreadIdError => isFabricError(e) && e.code === "MISSING_THREAD_ID";

/**
 * A message on the wire was rejected: malformed framing, a header that fails the schema, an
 * unknown envelope version, a bad signature, or a size over the limit. The transport sends the
 * raw message to the dead-letter topic with this error's `reason` and keeps serving.
 */
export class EnvelopeError extends FabricError {
  /** Machine-readable reason: `"malformed"`, `"schema"`, `"version"`, `"signature"`, `"too_large"`. */
  readonly reason: EnvelopeRejectReason;
  constructor(reason: EnvelopeRejectReason, message: string, options?: FabricErrorOptions) {
    super("ENVELOPE_REJECTED", message, options);
    this.reason = reason;
  }
}
/** Why an envelope was rejected; see {@link EnvelopeError}. */
export type EnvelopeRejectReason = "malformed" | "schema" | "version" | "signature" | "too_large";
/** True if `e` is an {@link EnvelopeError}. */
export const isEnvelopeError = (e: unknown): e is EnvelopeError => isFabricError(e) && e.code === "ENVELOPE_REJECTED";

/** A payload is larger than the configured limit; nothing was sent. */
export class PayloadTooLargeError extends FabricError {
  /** Size of the encoded message, in bytes. */
  readonly size: number;
  /** The limit, in bytes. */
  readonly limit: number;
  constructor(what: string, size: number, limit: number) {
    super("PAYLOAD_TOO_LARGE", `${what} is ${size} bytes, over the ${limit}-byte limit`, {
      hint: "keep large data out of graph state (store it elsewhere and pass a reference), or raise maxMessageBytes on the transport and the broker",
    });
    this.size = size;
    this.limit = limit;
  }
}
/** True if `e` is a {@link PayloadTooLargeError}. */
export const isPayloadTooLargeError = (e: unknown): e is PayloadTooLargeError => isFabricError(e) && e.code === "PAYLOAD_TOO_LARGE";

/** The transport could not deliver a message or is not running. */
export class TransportError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("TRANSPORT", message, options);
  }
}
/** True if `e` is a {@link TransportError}. */
export const isTransportError = (e: unknown): e is TransportError => isFabricError(e) && e.code === "TRANSPORT";

/** A remote call did not complete before its deadline. */
export class DeadlineExceededError extends FabricError {
  /** The node that was called. */
  readonly node: string;
  constructor(node: string, timeoutMs: number, options?: FabricErrorOptions) {
    super("DEADLINE_EXCEEDED", `call to node "${node}" got no reply within ${timeoutMs} ms`, {
      hint: "the replica may be overloaded or gone; raise the call timeout for slow nodes, or check the replicas with fabric.status()",
      ...options,
    });
    this.node = node;
  }
}
/** True if `e` is a {@link DeadlineExceededError}. */
export const isDeadlineExceededError = (e: unknown): e is DeadlineExceededError => isFabricError(e) && e.code === "DEADLINE_EXCEEDED";

/** No replica serves the node a call was addressed to. */
export class NoReplicaError extends FabricError {
  /** The node that was called. */
  readonly node: string;
  constructor(node: string, detail = "") {
    super("NO_REPLICA", `no replica serves node "${node}"${detail ? `: ${detail}` : ""}`, {
      hint: `start workers with fabric.serve(builder, { nodes: ["${node}"] }) (or the CLI's "worker" command) against the same transport and state store`,
    });
    this.node = node;
  }
}
/** True if `e` is a {@link NoReplicaError}. */
export const isNoReplicaError = (e: unknown): e is NoReplicaError => isFabricError(e) && e.code === "NO_REPLICA";

/** A request named a node this replica does not serve. */
export class UnknownNodeError extends FabricError {
  /** The node that was asked for. */
  readonly node: string;
  constructor(node: string, known: readonly string[]) {
    super("UNKNOWN_NODE", `unknown node "${node}"`, {
      hint: `known nodes: ${known.length > 0 ? known.join(", ") : "(none)"}; check the name passed to distribute/serve/remoteNode`,
    });
    this.node = node;
  }
}
/** True if `e` is an {@link UnknownNodeError}. */
export const isUnknownNodeError = (e: unknown): e is UnknownNodeError => isFabricError(e) && e.code === "UNKNOWN_NODE";

/** The fabric is draining or stopped and refuses new calls. */
export class FabricStoppedError extends FabricError {
  constructor(what: string) {
    super("FABRIC_STOPPED", `${what}: the fabric is stopping or stopped`, {
      hint: "calls in flight finish during a drain, new ones are refused; create a new fabric or send the call to another process",
    });
  }
}
/** True if `e` is a {@link FabricStoppedError}. */
export const isFabricStoppedError = (e: unknown): e is FabricStoppedError => isFabricError(e) && e.code === "FABRIC_STOPPED";

/**
 * The replica registry refused an operation: used before `start()` or after `stop()`, a replica id
 * registered twice by one registry, or its backend failed (the `cause` says how).
 */
export class RegistryError extends FabricError {
  constructor(message: string, options?: FabricErrorOptions) {
    super("REGISTRY", message, options);
  }
}
/** True if `e` is a {@link RegistryError}. */
export const isRegistryError = (e: unknown): e is RegistryError => isFabricError(e) && e.code === "REGISTRY";

/** A graph run (of the Kafka graph channel) went over its time limit and was aborted. */
export class GraphRunTimeoutError extends FabricError {
  constructor(threadId: string, timeoutMs: number) {
    super("RUN_TIMEOUT", `the run of thread "${threadId}" took longer than ${timeoutMs} ms and was aborted`, {
      hint: "raise runTimeoutMs for slow graphs; the thread keeps its last checkpoint, so a later message can continue it",
    });
  }
}
/** True if `e` is a {@link GraphRunTimeoutError}. */
export const isGraphRunTimeoutError = (e: unknown): e is GraphRunTimeoutError => isFabricError(e) && e.code === "RUN_TIMEOUT";

/**
 * The replica a call was waiting on left the registry (it crashed or stopped). The fabric moves
 * the call to another replica (same idempotency key) without counting it as a failed attempt; the
 * error reaches the caller only when the call's deadline passed meanwhile.
 */
export class ReplicaGoneError extends FabricError {
  /** The replica that left. */
  readonly replicaId: string;
  constructor(node: string, replicaId: string) {
    super("REPLICA_GONE", `replica "${replicaId}" of node "${node}" left while a call was waiting for it`, {
      hint:
        "the call's deadline passed while it moved between replicas; the request may still run on a replica that takes its partition over " +
        "(with the same idempotency key, so a retry of the task gets that result): raise callTimeoutMs or keep more replicas running",
    });
    this.replicaId = replicaId;
  }
}
/** True if `e` is a {@link ReplicaGoneError}. */
export const isReplicaGoneError = (e: unknown): e is ReplicaGoneError => isFabricError(e) && e.code === "REPLICA_GONE";

/** Too many calls to one node are in flight from this process; the call was not sent. */
export class BulkheadFullError extends FabricError {
  /** The node. */
  readonly node: string;
  constructor(node: string, limit: number, queue: number) {
    super("BULKHEAD_FULL", `node "${node}" already has ${limit} calls in flight and ${queue} waiting from this process`, {
      hint: "raise resilience.bulkheadLimit / bulkheadQueue, add replicas, or slow the producer down",
    });
    this.node = node;
  }
}
/** True if `e` is a {@link BulkheadFullError}. */
export const isBulkheadFullError = (e: unknown): e is BulkheadFullError => isFabricError(e) && e.code === "BULKHEAD_FULL";

/**
 * Base of the negotiation errors (`src/negotiation`). Its subclasses have codes starting with
 * `NEGOTIATION_`; {@link isNegotiationError} matches all of them.
 */
export class NegotiationError extends FabricError {
  /** The session concerned, when there is one. */
  readonly sessionId: string | undefined;
  constructor(code: `NEGOTIATION_${string}`, message: string, sessionId?: string, options?: FabricErrorOptions) {
    super(code, message, options);
    this.sessionId = sessionId;
  }
}
/** True if `e` is any {@link NegotiationError}. */
export const isNegotiationError = (e: unknown): e is NegotiationError => isFabricError(e) && e.code.startsWith("NEGOTIATION_");

/** A negotiation was started without participants. */
export class NoParticipantsError extends NegotiationError {
  constructor(topic: string) {
    super("NEGOTIATION_NO_PARTICIPANTS", `negotiation "${topic}" has no participants`, undefined, {
      hint: "name the participants in the spec (or negotiationNode's participants option, or the state it reads them from)",
    });
  }
}
/** True if `e` is a {@link NoParticipantsError}. */
export const isNoParticipantsError = (e: unknown): e is NoParticipantsError => isFabricError(e) && e.code === "NEGOTIATION_NO_PARTICIPANTS";

/** A negotiation type has no registered handler in this coordinator. */
export class UnknownNegotiationTypeError extends NegotiationError {
  /** The type asked for. */
  readonly type: string;
  constructor(type: string, known: readonly string[], sessionId?: string) {
    super("NEGOTIATION_UNKNOWN_TYPE", `unknown negotiation type "${type}"`, sessionId, {
      hint: `register it with coordinator.registerType("${type}", { strategy }) in every process that runs or resumes such sessions; known types: ${known.length > 0 ? known.join(", ") : "(none)"}`,
    });
    this.type = type;
  }
}
/** True if `e` is an {@link UnknownNegotiationTypeError}. */
export const isUnknownNegotiationTypeError = (e: unknown): e is UnknownNegotiationTypeError =>
  isFabricError(e) && e.code === "NEGOTIATION_UNKNOWN_TYPE";

/** A different handler is already registered for a negotiation type. */
export class NegotiationTypeConflictError extends NegotiationError {
  /** The type. */
  readonly type: string;
  constructor(type: string) {
    super("NEGOTIATION_TYPE_CONFLICT", `negotiation type "${type}" is already registered with another handler`, undefined, {
      hint: "give each negotiationNode sharing a coordinator its own type, or pass { replace: true } to registerType",
    });
    this.type = type;
  }
}
/** True if `e` is a {@link NegotiationTypeConflictError}. */
export const isNegotiationTypeConflictError = (e: unknown): e is NegotiationTypeConflictError =>
  isFabricError(e) && e.code === "NEGOTIATION_TYPE_CONFLICT";

/** No negotiation session with this id is in the state store (never started, or expired from it). */
export class SessionNotFoundError extends NegotiationError {
  constructor(sessionId: string) {
    super("NEGOTIATION_SESSION_NOT_FOUND", `negotiation session "${sessionId}" not found`, sessionId, {
      hint: "start it first; ended sessions are kept for retentionMs (default 24 h) and open ones until their deadline plus retentionMs",
    });
  }
}
/** True if `e` is a {@link SessionNotFoundError}. */
export const isSessionNotFoundError = (e: unknown): e is SessionNotFoundError =>
  isFabricError(e) && e.code === "NEGOTIATION_SESSION_NOT_FOUND";

/** The negotiation session was cancelled: it has no outcome to return. */
export class NegotiationCancelledError extends NegotiationError {
  constructor(sessionId: string) {
    super("NEGOTIATION_CANCELLED", `negotiation session "${sessionId}" was cancelled`, sessionId, {
      hint: "a cancelled session never resumes; start a new one (with a new id) to negotiate again",
    });
  }
}
/** True if `e` is a {@link NegotiationCancelledError}. */
export const isNegotiationCancelledError = (e: unknown): e is NegotiationCancelledError =>
  isFabricError(e) && e.code === "NEGOTIATION_CANCELLED";

/** A participant channel was asked about a participant it does not serve. */
export class UnknownParticipantError extends NegotiationError {
  /** The participant. */
  readonly participant: string;
  constructor(participant: string, sessionId?: string) {
    super("NEGOTIATION_UNKNOWN_PARTICIPANT", `no handler for participant "${participant}"`, sessionId, {
      hint: "register a handler for it on the participant channel (LocalParticipants.register) or remove it from the participants",
    });
    this.participant = participant;
  }
}
/** True if `e` is an {@link UnknownParticipantError}. */
export const isUnknownParticipantError = (e: unknown): e is UnknownParticipantError =>
  isFabricError(e) && e.code === "NEGOTIATION_UNKNOWN_PARTICIPANT";

/** A session write lost its compare-and-set too many times in a row (extreme contention). */
export class NegotiationContentionError extends NegotiationError {
  constructor(sessionId: string, attempts: number) {
    super("NEGOTIATION_CONTENTION", `negotiation session "${sessionId}" changed under ${attempts} consecutive writes`, sessionId, {
      hint: "too many processes write this session at once; retry, or raise maxUpdateAttempts",
    });
  }
}
/** True if `e` is a {@link NegotiationContentionError}. */
export const isNegotiationContentionError = (e: unknown): e is NegotiationContentionError =>
  isFabricError(e) && e.code === "NEGOTIATION_CONTENTION";

/** A negotiation node found nothing to propose: no proposal option and no signals to fuse into one. */
export class NoProposalError extends NegotiationError {
  constructor(topic: string) {
    super("NEGOTIATION_NO_PROPOSAL", `negotiation "${topic}" has no proposal`, undefined, {
      hint: "pass proposal: (state) => signal, or put the participants' signals in the state (signals option, default state.signals)",
    });
  }
}
/** True if `e` is a {@link NoProposalError}. */
export const isNoProposalError = (e: unknown): e is NoProposalError => isFabricError(e) && e.code === "NEGOTIATION_NO_PROPOSAL";

/** Which backend of the fabric could not be reached at start. */
export type FabricBackend = "transport" | "state";

/**
 * The fabric could not reach its transport (Kafka) or its state store (Redis) at start, and
 * `degradation` is `"fail-fast"`. `failures` names each backend that failed and why.
 */
export class FabricUnavailableError extends FabricError {
  /** Why each unreachable backend failed, by backend. */
  readonly failures: Readonly<Partial<Record<FabricBackend, string>>>;
  constructor(failures: Readonly<Partial<Record<FabricBackend, string>>>, options?: FabricErrorOptions) {
    const parts = Object.entries(failures).map(([backend, reason]) => `${backend === "state" ? "state store" : backend}: ${reason}`);
    super("FABRIC_UNAVAILABLE", `the fabric cannot start: ${parts.join("; ")}`, {
      hint:
        "check that Kafka (KAFKA_BROKERS) and Redis (REDIS_URL) run and are reachable from this host, " +
        'or pass degradation: "fallback" to createFabric to run in-process with a warning',
      ...options,
    });
    this.failures = { ...failures };
  }
}
/** True if `e` is a {@link FabricUnavailableError}. */
export const isFabricUnavailableError = (e: unknown): e is FabricUnavailableError => isFabricError(e) && e.code === "FABRIC_UNAVAILABLE";

/** `assessRisk` got no estimate: no risk agent answered and no price history was given to compute one locally. */
export class NoRiskEstimateError extends FabricError {
  constructor(why: string) {
    super("NO_RISK_ESTIMATE", `no risk estimate: ${why}`, {
      hint: "pass prices (a price history) so the risk can be computed locally, or serve risk agents with serveParticipants",
    });
  }
}
/** True if `e` is a {@link NoRiskEstimateError}. */
export const isNoRiskEstimateError = (e: unknown): e is NoRiskEstimateError => isFabricError(e) && e.code === "NO_RISK_ESTIMATE";

/** A resource allocation lost its compare-and-set too many times in a row (extreme contention on one pool). */
export class AllocationContentionError extends FabricError {
  /** The pool's key. */
  readonly key: string;
  constructor(key: string, attempts: number) {
    super("ALLOCATION_CONTENTION", `resource pool "${key}" changed under ${attempts} consecutive allocations`, {
      hint: "too many processes allocate this pool at once; retry, or raise maxAllocationAttempts",
    });
    this.key = key;
  }
}
/** True if `e` is an {@link AllocationContentionError}. */
export const isAllocationContentionError = (e: unknown): e is AllocationContentionError =>
  isFabricError(e) && e.code === "ALLOCATION_CONTENTION";

/** Which server a {@link ConnectionSecurityError} is about. */
export type SecuredService = "kafka" | "redis";

/**
 * What a {@link ConnectionSecurityError} says failed: the credentials (`authentication`), the
 * server's certificate (`certificate`: not signed by a trusted CA, or not for this host), the TLS
 * handshake itself (`tls`: e.g. TLS spoken to a plaintext port), or the permissions of an
 * authenticated user (`authorization`: a Kafka ACL or Redis ACL refused an operation).
 */
export type ConnectionSecurityFailure = "authentication" | "certificate" | "tls" | "authorization";

/**
 * Kafka or Redis refused this process's credentials, certificate or permissions. Unlike an outage
 * it does not go away by retrying: the configuration (password, CA, ACLs) must change, so it is
 * reported at once rather than after a client's retry loop.
 */
export class ConnectionSecurityError extends FabricError {
  /** The server that refused. */
  readonly service: SecuredService;
  /** What was refused. */
  readonly failure: ConnectionSecurityFailure;
  constructor(service: SecuredService, failure: ConnectionSecurityFailure, message: string, options?: FabricErrorOptions) {
    super("CONNECTION_SECURITY", message, options);
    this.service = service;
    this.failure = failure;
  }
}
/** True if `e` is a {@link ConnectionSecurityError}. */
export const isConnectionSecurityError = (e: unknown): e is ConnectionSecurityError => isFabricError(e) && e.code === "CONNECTION_SECURITY";

/**
 * A distributed transport was configured without message authentication: anyone who can write to
 * its topics could then forge requests and replies. Give signing keys, or opt out by name.
 */
export class SigningKeyRequiredError extends FabricError {
  constructor(what: string) {
    super("SIGNING_KEY_REQUIRED", `${what} has no signing keys: a distributed fabric signs and verifies every message`, {
      hint:
        "set FABRIC_SIGNING_KEYS (generate a key with `npx langgraph-fabric keygen`) or pass signingKeys: [{ id, secret }]; " +
        "to run without authentication on a trusted network only, pass insecure: true (FABRIC_INSECURE=1)",
    });
  }
}
/** True if `e` is a {@link SigningKeyRequiredError}. */
export const isSigningKeyRequiredError = (e: unknown): e is SigningKeyRequiredError =>
  isFabricError(e) && e.code === "SIGNING_KEY_REQUIRED";

/**
 * Serialized data asked to build a LangChain class that is not on the serializer's revival
 * allowlist (`revivable`). Nothing was constructed; the data came from the network or storage.
 */
export class RevivalRefusedError extends FabricError {
  /** The refused record's id path, e.g. `"langchain_core/prompts/PromptTemplate"`, or `secret:<name>`. */
  readonly classId: string;
  constructor(classId: string) {
    super("REVIVAL_REFUSED", `refused to revive "${classId}": it is not on the serializer's allowlist`, {
      hint: "only LangChain messages and documents are revived from the wire and from storage; add trusted classes with the serializer's revivable option",
    });
    this.classId = classId;
  }
}
/** True if `e` is a {@link RevivalRefusedError}. */
export const isRevivalRefusedError = (e: unknown): e is RevivalRefusedError => isFabricError(e) && e.code === "REVIVAL_REFUSED";

/**
 * A request's idempotency key already belongs to a call of another node or with other input: the
 * request is refused (dead-lettered with reason `idempotency_conflict`), never served that call's result.
 */
export class IdempotencyConflictError extends FabricError {
  /** The conflicting key. */
  readonly key: string;
  constructor(key: string, node: string) {
    super("IDEMPOTENCY_CONFLICT", `idempotency key "${key}" is recorded for another node or another input than this call of "${node}"`, {
      hint: "a forged request, or a caller that reuses keys across different calls; the request was refused",
    });
    this.key = key;
  }
}
/** True if `e` is an {@link IdempotencyConflictError}. */
export const isIdempotencyConflictError = (e: unknown): e is IdempotencyConflictError =>
  isFabricError(e) && e.code === "IDEMPOTENCY_CONFLICT";

/** Events of one call arrived so far ahead of a missing one that the caller's buffer for them filled up. */
export class EventBufferOverflowError extends FabricError {
  constructor(node: string, id: string, limit: string) {
    super("EVENT_BUFFER_OVERFLOW", `call ${id} of node "${node}" buffered more out-of-order events than allowed (${limit})`, {
      hint: "the call failed so memory stays bounded; events are lost or forged on the wire (see the dead-letter topic)",
    });
  }
}
/** True if `e` is an {@link EventBufferOverflowError}. */
export const isEventBufferOverflowError = (e: unknown): e is EventBufferOverflowError =>
  isFabricError(e) && e.code === "EVENT_BUFFER_OVERFLOW";
