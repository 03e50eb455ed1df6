/**
 * Options of `KafkaTransport`, their defaults (one place, with units) and their validation.
 *
 * @module
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Kafka } from "kafkajs";
import { SigningKeyRequiredError } from "../../src/errors.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../../src/transport/envelope.js";
import { SigningKeyRing, signingKeysOf, type SigningKey } from "../../src/transport/signingKeys.js";
import type { Logger } from "../../src/observability/logger.js";
import { resolveKafkaSecurity, type KafkaSaslOptions, type KafkaSecurity, type KafkaTlsOptions } from "./kafkaSecurity.js";

/** Options of `KafkaTransport`. */
export interface KafkaTransportOptions {
  /** Bootstrap brokers as `host:port`. Required unless {@link kafka} is given. */
  brokers?: string[];
  /** An existing kafkajs client to use instead of building one from {@link brokers} (its own logger and settings apply). */
  kafka?: Kafka;
  /** kafkajs client id, shown in broker logs and quotas. Default `"langgraph-fabric"`. */
  clientId?: string;
  /**
   * TLS to the brokers: `true` trusts the public CAs bundled with Node; an object gives the CA (PEM),
   * a client certificate and key for mutual TLS, a `servername`. Needs a TLS listener (`SSL` or
   * `SASL_SSL`). Env: `KAFKA_SSL`, `KAFKA_SSL_CA_FILE`, … (see `kafkaSecurityFromEnv`). Default: plaintext,
   * which suits loopback only. Ignored when {@link kafka} is given.
   */
  ssl?: boolean | KafkaTlsOptions;
  /**
   * SASL credentials: `{ mechanism: "scram-sha-256" | "scram-sha-512" | "plain", username, password }`,
   * for a `SASL_SSL` (or `SASL_PLAINTEXT`) listener. Env: `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
   * `KAFKA_SASL_PASSWORD` or `KAFKA_SASL_PASSWORD_FILE`. Default: none. Ignored when {@link kafka} is given.
   */
  sasl?: KafkaSaslOptions;
  /** Id of this process as a caller (1-200 characters); its replies are routed to it. Default `<hostname>-<pid>-<random>`. */
  callerId?: string;
  /** Prefix of every topic and consumer group, `[a-zA-Z0-9._-]`, 1-100 characters. Default `"lgf"`. */
  topicPrefix?: string;
  /**
   * Partitions of each node's request topic, created on demand: the most replicas of one node that
   * can receive requests at once. Existing topics keep their count. Default 16.
   */
  requestPartitions?: number;
  /** Partitions of the replies topic; callers hash to one of them. Default 16. */
  replyPartitions?: number;
  /**
   * Replication factor of the topics this transport creates. Default: the brokers' own
   * `default.replication.factor`, capped at the number of live brokers (so 1 on one local broker
   * and 3 on a cluster configured for it). Production: 3, with `min.insync.replicas=2`, so a broker
   * loss loses no request.
   */
  replicationFactor?: number;
  /** Largest message produced or accepted, in bytes; keep it under the broker's `message.max.bytes`. Default 1,000,000. */
  maxMessageBytes?: number;
  /**
   * Shared HMAC-SHA256 keys with ids, oldest first (each at least 32 bytes): every frame is signed
   * with the last one; frames that are unsigned, or signed by no key of the list, are dead-lettered.
   * Required unless {@link insecure} (see docs/security.md). `KafkaTransport.fromEnv` reads
   * `FABRIC_SIGNING_KEYS`. Default: none.
   */
  signingKeys?: SigningKey[];
  /** One shared key, id `"default"`: `signingKeys: [{ id: "default", secret }]`. Not with `signingKeys`. Default: none. */
  signingKey?: string | Uint8Array;
  /**
   * Run without message authentication: anyone who can write to the fabric's topics can then
   * forge requests and replies. Only for a trusted, isolated network; every start logs a warning.
   * Not with signing keys. Default false (a transport without keys refuses to be built).
   */
  insecure?: boolean;
  /**
   * Consumer-group session timeout, in milliseconds: how long a silent replica keeps its
   * partitions before Kafka moves them (must be within the broker's `group.min/max.session.timeout.ms`).
   * Node calls never block heartbeats, so this bounds failover time, not call length. It is also
   * how long a crashed member can hold the whole group in a rebalance (kafkajs speaks only the
   * classic, eager protocol: see docs/decisions.md "Failure and recovery"). Default 6,000: the
   * lowest value a broker accepts without changing its `group.min.session.timeout.ms` (6,000 by
   * default in Apache Kafka); lower it further only where the broker allows.
   */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, in milliseconds; also how soon a member notices a rebalance. Below the session timeout. Default 500. */
  heartbeatIntervalMs?: number;
  /**
   * Longest a replica's fetch of requests waits on the broker when there is nothing to read, in
   * milliseconds. A fetch returns as soon as a message arrives, so this adds no latency to calls
   * (and a replica paused at its concurrency limit fetches again the moment a slot frees: see
   * `patchKafkajsPausedWait`); it sets how often an idle replica polls, and how long a stop or a
   * rebalance waits behind an idle fetch. Each idle fetch costs the process and the broker CPU
   * (about 0.4 ms of broker CPU on a 2-core machine), so lower is not free. Default 500, as
   * Kafka's own `fetch.max.wait.ms`.
   */
  maxWaitTimeMs?: number;
  /**
   * The same for the consumers that never pause — replies and notices — in milliseconds: it
   * bounds only how long a stop or a new assignment waits behind an idle fetch. Default 250.
   */
  replyMaxWaitTimeMs?: number;
  /**
   * Shortest time between two offset commits of one replica, in milliseconds: answers completed
   * meanwhile are committed together. A commit per answer costs the broker about as much as the
   * answer itself; the price of a longer interval is that a replica that crashes (or is stopped
   * without draining) leaves up to this long of answered requests to be delivered again, which
   * the idempotency records answer without running the node. 0 commits as soon as the previous
   * commit is acknowledged. Default 250.
   */
  commitIntervalMs?: number;
  /**
   * On start, delete the empty caller and notice groups (of this `topicPrefix`) that crashed
   * processes left behind; a clean `stop()` deletes its own. Default true.
   */
  sweepStaleGroups?: boolean;
  /** Where the transport and kafkajs log (kafkajs INFO lines become debug). Default: a console logger at `warn`. */
  logger?: Logger;
  /** Clock in epoch milliseconds, for deadlines. Default `Date.now`. */
  now?: () => number;
}

/** Every default of {@link KafkaTransportOptions}, in one place. */
export const KAFKA_TRANSPORT_DEFAULTS = {
  clientId: "langgraph-fabric",
  topicPrefix: "lgf",
  requestPartitions: 16,
  replyPartitions: 16,
  /** Events (notices) are rare and ordered fabric-wide: one partition. */
  eventPartitions: 1,
  dlqPartitions: 1,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, // bytes
  sessionTimeoutMs: 6_000, // ms: the stock broker's group.min.session.timeout.ms
  heartbeatIntervalMs: 500, // ms
  maxWaitTimeMs: 500, // ms
  replyMaxWaitTimeMs: 250, // ms
  commitIntervalMs: 250, // ms
  sweepStaleGroups: true,
  insecure: false,
  /** Time a replica's drain waits for its requests in flight, in ms. */
  drainTimeoutMs: 30_000,
  /** Time a process's replica consumer waits for more replicas to start or stop before it (re)joins its group, in ms. */
  memberSettleMs: 25,
  /** Time before a replica consumer that could not join tries again, in ms. */
  memberRetryMs: 1_000,
  /** Longest the one-shot check of TLS and SASL at start waits for the broker, in ms (connect, handshake, authentication). */
  securityCheckTimeoutMs: 10_000,
} as const;

/** Options after defaults and validation. */
export type ResolvedKafkaOptions = Required<
  Omit<KafkaTransportOptions, "brokers" | "kafka" | "signingKey" | "signingKeys" | "logger" | "ssl" | "sasl" | "replicationFactor">
> &
  Pick<KafkaTransportOptions, "brokers" | "kafka" | "signingKeys" | "logger" | "replicationFactor"> & {
    /** `ssl` and `sasl`, validated. */
    security: KafkaSecurity;
  };

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer in ${min}..${max} (got ${value})`);
  return value;
}

/**
 * Merges the defaults into `options` and validates them.
 *
 * @throws RangeError naming the field and the value.
 */
export function resolveKafkaOptions(options: KafkaTransportOptions): ResolvedKafkaOptions {
  const { ssl, sasl, ...rest } = options;
  const o = { ...KAFKA_TRANSPORT_DEFAULTS, ...stripUndefined(rest) };
  const security = resolveKafkaSecurity(ssl, sasl);
  if (options.kafka === undefined) {
    if (
      !Array.isArray(options.brokers) ||
      options.brokers.length === 0 ||
      options.brokers.some((b) => typeof b !== "string" || b.length === 0)
    ) {
      throw new RangeError(`brokers must be a non-empty list of host:port strings (got ${JSON.stringify(options.brokers)})`);
    }
  }
  if (!/^[a-zA-Z0-9._-]{1,100}$/.test(o.topicPrefix))
    throw new RangeError(`topicPrefix must be 1-100 characters of [a-zA-Z0-9._-] (got ${JSON.stringify(o.topicPrefix)})`);
  const callerId = options.callerId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
  if (callerId.length === 0 || callerId.length > 200)
    throw new RangeError(`callerId must be 1-200 characters (got ${JSON.stringify(callerId)})`);
  if (typeof o.clientId !== "string" || o.clientId.length === 0)
    throw new RangeError(`clientId must be a non-empty string (got ${JSON.stringify(o.clientId)})`);
  int("requestPartitions", o.requestPartitions, 1, 10_000);
  int("replyPartitions", o.replyPartitions, 1, 10_000);
  if (o.replicationFactor !== undefined) int("replicationFactor", o.replicationFactor, 1, 32);
  int("maxMessageBytes", o.maxMessageBytes, 256, 2 ** 30);
  int("sessionTimeoutMs", o.sessionTimeoutMs, 1_000, 3_600_000);
  int("heartbeatIntervalMs", o.heartbeatIntervalMs, 10, o.sessionTimeoutMs - 1);
  int("maxWaitTimeMs", o.maxWaitTimeMs, 1, 60_000);
  int("replyMaxWaitTimeMs", o.replyMaxWaitTimeMs, 1, 60_000);
  int("commitIntervalMs", o.commitIntervalMs, 0, 60_000);
  const signingKeys = signingKeysOf(options);
  if (typeof (o.insecure as unknown) !== "boolean") throw new RangeError(`insecure must be a boolean (got ${JSON.stringify(o.insecure)})`);
  if (signingKeys === undefined && !o.insecure) throw new SigningKeyRequiredError("KafkaTransport");
  if (signingKeys !== undefined) {
    if (o.insecure) throw new RangeError("insecure must not be true when signing keys are given (keys make the transport secure)");
    new SigningKeyRing(signingKeys, options.signingKey !== undefined ? "signingKey" : "signingKeys"); // validates ids and lengths now
  }
  const now = options.now ?? Date.now;
  if (typeof now !== "function") throw new RangeError(`now must be a function returning epoch milliseconds (got ${typeof now})`);
  const { signingKey: _single, ...resolved } = o;
  return { ...resolved, callerId, now, signingKeys, security };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
