/**
 * TLS and SASL of the Kafka clients this package builds: the option types, their validation, the
 * kafkajs settings they become, and the translation of kafkajs's authentication, certificate and
 * authorization failures into one {@link ConnectionSecurityError} that says what to check.
 *
 * @module
 */
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from "kafkajs";
import { ConnectionSecurityError, isConnectionSecurityError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";

/** A PEM text, as a string or the bytes of a `.pem` file. */
export type Pem = string | Buffer;

/** TLS settings of the connections to the brokers (`ssl` of `KafkaTransport` and `GraphChannel`). */
export interface KafkaTlsOptions {
  /** CA certificate(s), PEM, the brokers' certificates must chain to. Default: Node's bundled public CAs. */
  ca?: Pem | Pem[];
  /** Client certificate, PEM, for brokers that require one (`ssl.client.auth=required`, mutual TLS). Needs {@link key}. Default: none. */
  cert?: Pem;
  /** Private key of {@link cert}, PEM. Default: none. */
  key?: Pem;
  /** Passphrase of an encrypted {@link key}. Default: none. */
  passphrase?: string;
  /**
   * Refuse a broker whose certificate does not chain to a trusted CA or does not name the host
   * connected to. Default true. `false` encrypts without authenticating the broker, which an
   * active attacker defeats: use it only to diagnose.
   */
  rejectUnauthorized?: boolean;
  /** Host name the brokers' certificates are checked against (and sent as SNI), when it is not the host in the broker address. Default: that host. */
  servername?: string;
}

/** SASL mechanisms the transport speaks. SCRAM keeps the password off the wire; PLAIN sends it, so use PLAIN only over TLS. */
export type KafkaSaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/** SASL credentials of the Kafka clients (`sasl` of `KafkaTransport` and `GraphChannel`). */
export interface KafkaSaslOptions {
  /** The mechanism the broker's listener enables (`sasl.enabled.mechanisms`). */
  mechanism: KafkaSaslMechanism;
  /** The Kafka user. */
  username: string;
  /** Its password. */
  password: string;
}

/** The security settings of a Kafka client, validated. */
export interface KafkaSecurity {
  /** `true` (TLS with the public CAs), TLS options, or `undefined` for plaintext. */
  ssl?: true | KafkaTlsOptions;
  sasl?: KafkaSaslOptions;
}

const MECHANISMS: readonly KafkaSaslMechanism[] = ["plain", "scram-sha-256", "scram-sha-512"];

const isPem = (v: unknown): v is Pem => (typeof v === "string" || Buffer.isBuffer(v)) && v.toString().includes("-----BEGIN ");

function pem(field: string, value: unknown): void {
  if (!isPem(value))
    throw new RangeError(`${field} must be PEM text (a string or Buffer containing "-----BEGIN …") (got ${describe(value)})`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  return value === null ? "null" : typeof value;
}

/**
 * Validates `ssl` and `sasl` as given to a transport or channel.
 *
 * @throws RangeError naming the field (`ssl.ca`, `sasl.password`, …) and what is wrong with it.
 */
export function resolveKafkaSecurity(ssl: unknown, sasl: unknown): KafkaSecurity {
  const out: KafkaSecurity = {};
  if (ssl !== undefined && ssl !== false) {
    if (ssl === true) out.ssl = true;
    else if (typeof ssl === "object" && ssl !== null && !Array.isArray(ssl)) {
      const o = ssl as KafkaTlsOptions;
      if (o.ca !== undefined)
        (Array.isArray(o.ca) ? o.ca : [o.ca]).forEach((c, i) => pem(Array.isArray(o.ca) ? `ssl.ca[${i}]` : "ssl.ca", c));
      if (o.cert !== undefined) pem("ssl.cert", o.cert);
      if (o.key !== undefined) pem("ssl.key", o.key);
      if ((o.cert === undefined) !== (o.key === undefined))
        throw new RangeError(`ssl.cert and ssl.key go together (got only ${o.cert === undefined ? "ssl.key" : "ssl.cert"})`);
      if (o.passphrase !== undefined && typeof o.passphrase !== "string")
        throw new RangeError(`ssl.passphrase must be a string (got ${describe(o.passphrase)})`);
      if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== "boolean")
        throw new RangeError(`ssl.rejectUnauthorized must be a boolean (got ${describe(o.rejectUnauthorized)})`);
      if (o.servername !== undefined && (typeof o.servername !== "string" || o.servername.length === 0))
        throw new RangeError(`ssl.servername must be a non-empty host name (got ${describe(o.servername)})`);
      out.ssl = { ...o };
    } else throw new RangeError(`ssl must be true, false or an object of TLS options { ca, cert, key, … } (got ${describe(ssl)})`);
  }
  if (sasl !== undefined) {
    if (typeof sasl !== "object" || sasl === null)
      throw new RangeError(`sasl must be { mechanism, username, password } (got ${describe(sasl)})`);
    const s = sasl as Partial<KafkaSaslOptions>;
    if (!MECHANISMS.includes(s.mechanism as KafkaSaslMechanism))
      throw new RangeError(`sasl.mechanism must be one of ${MECHANISMS.join(", ")} (got ${describe(s.mechanism)})`);
    if (typeof s.username !== "string" || s.username.length === 0)
      throw new RangeError(`sasl.username must be a non-empty string (got ${describe(s.username)})`);
    if (typeof s.password !== "string" || s.password.length === 0)
      throw new RangeError(`sasl.password must be a non-empty string (got ${s.password === "" ? '""' : typeof s.password})`);
    out.sasl = { mechanism: s.mechanism as KafkaSaslMechanism, username: s.username, password: s.password };
  }
  return out;
}

/** The kafkajs client settings for `security`. */
export function kafkaSecurityConfig(security: KafkaSecurity): Pick<KafkaConfig, "ssl" | "sasl"> {
  const config: Pick<KafkaConfig, "ssl" | "sasl"> = {};
  if (security.ssl !== undefined) config.ssl = security.ssl === true ? true : { ...security.ssl };
  if (security.sasl !== undefined) config.sasl = { ...security.sasl } as SASLOptions;
  return config;
}

/** Node's codes for a peer certificate that does not verify. */
const CERTIFICATE_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "HOSTNAME_MISMATCH",
]);

const AUTHORIZATION_TYPES = new Set([
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);

/** `e` and its causes, outermost first (kafkajs nests them in `cause`, `originalError` and an aggregate's `errors`). */
function* chain(e: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [e];
  while (queue.length > 0) {
    const current = queue.shift();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    seen.add(current);
    const error = current as Record<string, unknown>;
    yield error;
    queue.push(error.cause, error.originalError, ...(Array.isArray(error.errors) ? (error.errors as unknown[]) : []));
  }
}

/** True when `e` (or a cause) is Kafka refusing an operation for want of ACLs: retrying cannot help. */
export function isKafkaAuthorizationFailure(e: unknown): boolean {
  for (const error of chain(e)) if (typeof error.type === "string" && AUTHORIZATION_TYPES.has(error.type)) return true;
  return false;
}

/** What the client was configured with, for the hints. */
export interface KafkaSecurityContext {
  brokers: readonly string[];
  security: KafkaSecurity;
}

/**
 * The {@link ConnectionSecurityError} that `e` (a kafkajs failure, possibly wrapped) amounts to, or
 * `undefined` when it is something else (a broker down, a timeout…).
 */
export function kafkaSecurityError(e: unknown, context: KafkaSecurityContext): ConnectionSecurityError | undefined {
  const where = context.brokers.join(",") || "the given Kafka client";
  for (const error of chain(e)) {
    if (isConnectionSecurityError(error)) return error;
    const name = typeof error.name === "string" ? error.name : "";
    const code = typeof error.code === "string" ? error.code : "";
    const type = typeof error.type === "string" ? error.type : "";
    const message = typeof error.message === "string" ? error.message : "";
    if (name === "KafkaJSSASLAuthenticationError" || type === "SASL_AUTHENTICATION_FAILED" || type === "UNSUPPORTED_SASL_MECHANISM") {
      const sasl = context.security.sasl;
      const who = sasl === undefined ? "" : ` as user "${sasl.username}" (${sasl.mechanism})`;
      return new ConnectionSecurityError(
        "kafka",
        "authentication",
        `Kafka at ${where} refused to authenticate this client${who}: ${message}`,
        {
          cause: e,
          hint:
            "check the SASL username and password (sasl / KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD), that the mechanism is one the " +
            "listener enables (KAFKA_SASL_MECHANISM), and that the user exists on the broker (kafka-configs --alter --entity-type users)",
        },
      );
    }
    if (CERTIFICATE_CODES.has(code) || /certificate|altnames/i.test(message)) {
      return new ConnectionSecurityError("kafka", "certificate", `the certificate of Kafka at ${where} is not trusted: ${message}`, {
        cause: e,
        hint:
          "give the CA that signed the broker's certificate (ssl.ca / KAFKA_SSL_CA_FILE), and check that the certificate names the " +
          "host in the broker address (or set ssl.servername / KAFKA_SSL_SERVERNAME)",
      });
    }
    if (
      code === "EPROTO" ||
      code.startsWith("ERR_SSL_") ||
      /wrong version number|ssl3_get_record|tlsv1 alert|SSL routines/i.test(message)
    ) {
      return new ConnectionSecurityError("kafka", "tls", `the TLS handshake with Kafka at ${where} failed: ${message}`, {
        cause: e,
        hint:
          "check that the broker address is a TLS listener (SSL or SASL_SSL) when ssl is set, or a PLAINTEXT one when it is not; " +
          "a broker that requires client certificates needs ssl.cert and ssl.key (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE)",
      });
    }
    if (AUTHORIZATION_TYPES.has(type)) {
      const who = context.security.sasl === undefined ? "this client" : `user "${context.security.sasl.username}"`;
      return new ConnectionSecurityError("kafka", "authorization", `Kafka at ${where} refused ${who} an operation (${type}): ${message}`, {
        cause: e,
        hint:
          "grant the user the ACLs a fabric needs on its topic prefix: topics (Create, Describe, Read, Write) and groups (Read, " +
          "Describe, Delete) with --resource-pattern-type prefixed; see docs/security.md",
      });
    }
  }
  return undefined;
}

/**
 * Connects one admin client with retries off and disconnects: kafkajs retries an untrusted
 * certificate as if it were a network error (for tens of seconds, for each of its clients), so a
 * secured transport checks its credentials once, quickly, before it starts its real clients.
 *
 * @throws ConnectionSecurityError when the broker refuses the credentials or the certificate;
 *   any other failure is left to the real clients (they retry, as for a broker that is starting).
 */
export async function checkKafkaSecurity(
  config: Pick<KafkaConfig, "clientId" | "brokers" | "ssl" | "sasl">,
  context: KafkaSecurityContext,
  timeoutMs: number,
): Promise<void> {
  const admin = new Kafka({
    ...config,
    connectionTimeout: timeoutMs,
    authenticationTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
  } catch (e) {
    const security = kafkaSecurityError(e, context);
    if (security) throw security;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Logs a warning when SASL PLAIN is configured without TLS: the password would cross the network in clear. */
export function warnAboutPlainSasl(security: KafkaSecurity, logger: Logger): void {
  if (security.sasl?.mechanism === "plain" && security.ssl === undefined) {
    logger.warn("kafka: SASL PLAIN without ssl sends the password in clear; set ssl (KAFKA_SSL=1) or use scram-sha-512", {
      username: security.sasl.username,
    });
  }
}
