/**
 * Where a CLI command (or the demo) finds its fabric: `--kafka` / `--redis` / `--prefix` flags, else
 * `KAFKA_BROKERS` / `REDIS_URL` / `FABRIC_PREFIX`, else the embedded default. A distributed fabric
 * signs its messages with `FABRIC_SIGNING_KEYS` (or runs unsigned with `FABRIC_INSECURE=1`). Before a
 * distributed fabric is created, both services are probed with short timeouts, so that a broker or
 * Redis that is not running is a one-line error with a hint within seconds — kafkajs and ioredis
 * would otherwise retry for tens of seconds and then fail deep inside a start-up.
 *
 * @module
 */
import { hostname } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import { Redis } from "ioredis";
import { kafkaBrokersFromEnv, KafkaTransport, signingFromEnv, type SigningSettings } from "../adapters/kafka/index.js";
import { kafkaSecurityConfig, kafkaSecurityError, resolveKafkaSecurity } from "../adapters/kafka/kafkaSecurity.js";
import { KAFKA_SECURITY_ENV, kafkaSecurityFromEnv, type KafkaSecurityEnv } from "../adapters/kafka/kafkaSecurityFromEnv.js";
import { RedisStateStore } from "../adapters/redis/index.js";
import {
  REDIS_SECURITY_ENV,
  redisSecurityError,
  redisSecurityFromEnv,
  redisSecurityOptions,
  type RedisSecurityOptions,
} from "../adapters/redis/redisSecurity.js";
import {
  createFabric,
  InMemoryTransport,
  isConfigurationError,
  type ConnectionSecurityError,
  type Fabric,
  type FabricConfig,
  type Logger,
} from "../src/index.js";
import { CliError, EXIT, SERVICES_HINT } from "./cliError.js";

/** The flags every command that connects accepts. */
export interface ConnectionFlags {
  /** Kafka bootstrap brokers, `host:port[,host:port…]`. */
  kafka?: string | undefined;
  /** Redis URL, `redis://host:port`. */
  redis?: string | undefined;
  /** Prefix of Kafka topics and groups and of Redis keys, so several fabrics can share the servers. */
  prefix?: string | undefined;
  /** TLS to the brokers (`KAFKA_SSL=1`). */
  "kafka-ssl"?: boolean | undefined;
  /** CA file of the brokers' certificates (`KAFKA_SSL_CA_FILE`). */
  "kafka-ca"?: string | undefined;
  /** SASL mechanism (`KAFKA_SASL_MECHANISM`). */
  "kafka-sasl-mechanism"?: string | undefined;
  /** SASL user (`KAFKA_SASL_USERNAME`). */
  "kafka-sasl-username"?: string | undefined;
  /** File holding the SASL password (`KAFKA_SASL_PASSWORD_FILE`); never the password itself, which `ps` would show. */
  "kafka-sasl-password-file"?: string | undefined;
  /** CA file of Redis's certificate (`REDIS_TLS_CA_FILE`). */
  "redis-ca"?: string | undefined;
}

/** A resolved connection: in this process only, or Kafka plus Redis. */
export type Connection =
  | { mode: "embedded" }
  | {
      mode: "distributed";
      /** Kafka bootstrap brokers. */
      brokers: string[];
      /** Redis URL. */
      redisUrl: string;
      /** Topic and key prefix; `undefined` keeps the adapters' defaults (`lgf` topics, `fabric` keys). */
      prefix: string | undefined;
      /** TLS and SASL of the Kafka clients; absent or empty: plaintext. */
      kafkaSecurity?: KafkaSecurityEnv;
      /** TLS and ACL user of the Redis clients beyond the URL's, if any. */
      redisSecurity?: RedisSecurityOptions | undefined;
      /** The security variables, flags folded in, for child processes (a worker started by the demo). */
      securityEnv?: Record<string, string>;
      /** Message signing from `FABRIC_SIGNING_KEYS` / `FABRIC_INSECURE` (empty: the transport refuses to start). */
      signing: ConnectionSigning;
    };

/** The signing settings of a connection, with the keys' text so child processes can be given the same. */
export interface ConnectionSigning extends SigningSettings {
  /** `FABRIC_SIGNING_KEYS` as given (`id:base64,…`). */
  keysText?: string;
}

/** A fabric opened by {@link openFabric}, with what it took to close it. */
export interface OpenedFabric {
  readonly fabric: Fabric;
  /** The state store the fabric uses, when this module created one (the fabric does not close a store it was given). */
  readonly state: RedisStateStore | undefined;
  /** One line: where the fabric is connected. */
  readonly description: string;
  /** Stops the fabric (graceful drain, at most `drainTimeoutMs`) and closes what was opened for it. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

const PROBE_TIMEOUT_MS = 3_000; // per service: a local broker answers in milliseconds once it is up

/**
 * The connection the flags and the environment describe. Flags win over the environment, one by
 * one. Neither Kafka nor Redis: embedded. Only one of them: an error, because a fabric spread over
 * processes needs both (Kafka carries the calls, Redis holds the registry and idempotency records).
 *
 * @throws CliError (exit code 2) for a malformed broker list or a half-given connection.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const kafka = flags.kafka ?? env.KAFKA_BROKERS;
  const redis = flags.redis ?? env.REDIS_URL;
  const hasKafka = kafka !== undefined && kafka.trim() !== "";
  const hasRedis = redis !== undefined && redis.trim() !== "";
  if (!hasKafka && !hasRedis) return { mode: "embedded" };
  const fromWhere = (flag: string, variable: string, viaFlag: boolean): string => (viaFlag ? `--${flag}` : variable);
  if (!hasRedis) {
    throw new CliError(`Kafka is given (${fromWhere("kafka", "KAFKA_BROKERS", flags.kafka !== undefined)}) but Redis is not`, {
      hint: "a distributed fabric needs both: add --redis redis://127.0.0.1:6379 (or set REDIS_URL)",
      exitCode: EXIT.usage,
    });
  }
  if (!hasKafka) {
    throw new CliError(`Redis is given (${fromWhere("redis", "REDIS_URL", flags.redis !== undefined)}) but Kafka is not`, {
      hint: "a distributed fabric needs both: add --kafka 127.0.0.1:9092 (or set KAFKA_BROKERS)",
      exitCode: EXIT.usage,
    });
  }
  let brokers: string[] | undefined;
  try {
    brokers = kafkaBrokersFromEnv({ KAFKA_BROKERS: kafka });
  } catch (e) {
    throw new CliError(`--kafka: ${(e as Error).message}`, { hint: "pass host:port, e.g. --kafka 127.0.0.1:9092", exitCode: EXIT.usage });
  }
  if (!/^rediss?:\/\//.test(redis.trim())) {
    throw new CliError(`--redis: "${redis}" is not a redis:// or rediss:// URL`, {
      hint: "e.g. --redis redis://127.0.0.1:6379",
      exitCode: EXIT.usage,
    });
  }
  const prefix = flags.prefix ?? env.FABRIC_PREFIX;
  if (prefix !== undefined && !/^[a-zA-Z0-9._-]{1,100}$/.test(prefix)) {
    throw new CliError(`--prefix: "${prefix}" must be 1-100 characters of [a-zA-Z0-9._-]`, { exitCode: EXIT.usage });
  }
  const securityEnv = securityVariables(flags, env);
  let kafkaSecurity: KafkaSecurityEnv;
  let redisSecurity: RedisSecurityOptions | undefined;
  try {
    kafkaSecurity = kafkaSecurityFromEnv(securityEnv);
    redisSecurity = redisSecurityFromEnv(securityEnv);
  } catch (e) {
    if (!isConfigurationError(e)) throw e;
    throw new CliError(e.message, { exitCode: EXIT.usage });
  }
  let signing: ConnectionSigning;
  try {
    const settings = signingFromEnv(env);
    const keysText = env.FABRIC_SIGNING_KEYS?.trim();
    signing = settings.signingKeys !== undefined && keysText !== undefined ? { ...settings, keysText } : settings;
  } catch (e) {
    throw new CliError((e as Error).message, {
      hint: "FABRIC_SIGNING_KEYS is id:base64secret,… (generate one with `langgraph-fabric keygen`)",
      exitCode: EXIT.usage,
    });
  }
  return {
    mode: "distributed",
    brokers: brokers ?? [],
    redisUrl: redis.trim(),
    prefix: prefix === "" ? undefined : prefix,
    kafkaSecurity,
    redisSecurity,
    securityEnv,
    signing,
  };
}

/** The `KAFKA_SSL*`, `KAFKA_SASL_*` and `REDIS_*` security variables of `env`, with the flags' values over them. */
function securityVariables(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Record<string, string> {
  const names = [...Object.keys(KAFKA_SECURITY_ENV), ...Object.keys(REDIS_SECURITY_ENV)];
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== "") out[name] = value;
  }
  const fromFlags: Record<string, string | undefined> = {
    KAFKA_SSL: flags["kafka-ssl"] === true ? "1" : undefined,
    KAFKA_SSL_CA_FILE: flags["kafka-ca"],
    KAFKA_SASL_MECHANISM: flags["kafka-sasl-mechanism"],
    KAFKA_SASL_USERNAME: flags["kafka-sasl-username"],
    KAFKA_SASL_PASSWORD_FILE: flags["kafka-sasl-password-file"],
    REDIS_TLS_CA_FILE: flags["redis-ca"],
  };
  for (const [name, value] of Object.entries(fromFlags)) {
    if (value === undefined) continue;
    out[name] = value;
    if (name === "KAFKA_SASL_PASSWORD_FILE") delete out.KAFKA_SASL_PASSWORD; // the flag wins over an inline password
  }
  return out;
}

/** `connection` signing with `keysText` (`FABRIC_SIGNING_KEYS` form) when it has no keys and is not insecure by name. */
export function withSigningKeys(connection: Connection, keysText: string): Connection {
  if (connection.mode === "embedded" || connection.signing.signingKeys !== undefined || connection.signing.insecure) return connection;
  return { ...connection, signing: signingOfText(keysText) };
}

function signingOfText(keysText: string): ConnectionSigning {
  return { ...signingFromEnv({ FABRIC_SIGNING_KEYS: keysText }), keysText };
}

/** One line for people: where a connection points (the Redis password, if any, hidden). */
export function describeConnection(connection: Connection): string {
  if (connection.mode === "embedded") return "embedded (in-process transport and state, no servers)";
  const prefix = connection.prefix === undefined ? "" : `, prefix ${connection.prefix}`;
  return `Kafka ${connection.brokers.join(",")}, Redis ${redactUrl(connection.redisUrl)}${prefix}`;
}

/**
 * Checks that Kafka and Redis answer, both at once, each within `timeoutMs`.
 *
 * @throws CliError (exit code 3) naming every service that did not answer, with the hint to start them.
 */
export async function probeServices(connection: Connection, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  if (connection.mode === "embedded") return;
  const [kafka, redis] = await Promise.all([probeKafka(connection, timeoutMs), probeRedis(connection, timeoutMs)]);
  const line = (service: string, where: string, failure: string | ConnectionSecurityError | undefined): string[] =>
    failure === undefined ? [] : [typeof failure === "string" ? `${service} at ${where} is unreachable: ${failure}` : failure.message];
  const failures = [...line("Kafka", connection.brokers.join(","), kafka), ...line("Redis", redactUrl(connection.redisUrl), redis)];
  // A refused password or certificate needs its own hint: starting the services would not help.
  const hints = [kafka, redis].flatMap((f) => (typeof f === "object" && f.hint !== undefined ? [f.hint] : []));
  if (failures.length > 0)
    throw new CliError(failures.join("; "), {
      hint: hints.length > 0 ? hints.join("; ") : SERVICES_HINT,
      exitCode: EXIT.unavailable,
    });
}

/**
 * Probes the services (distributed) and creates a started fabric on the connection. `config` adds
 * fabric options (logger, registry options, drain timeout…) on top of transport and state;
 * `observer` makes a fabric that only looks (the state store and registry, no Kafka client).
 *
 * @throws CliError when a service does not answer or an option is invalid.
 */
export async function openFabric(
  connection: Connection,
  config: Omit<FabricConfig, "transport" | "state" | "registry"> & { logger: Logger },
  options: { observer?: boolean } = {},
): Promise<OpenedFabric> {
  if (connection.mode === "embedded") {
    const fabric = await createFabric(config);
    return { fabric, state: undefined, description: describeConnection(connection), close: (o) => fabric.stop(o) };
  }
  await probeServices(connection);
  const prefix = connection.prefix;
  let state: RedisStateStore | undefined;
  try {
    // An observer reads the registry, which lives in the state store, and calls nothing: it need not
    // join Kafka (a caller group and a notice group created and deleted per `status` run). Kafka
    // was still probed above, so a broker that is down is reported.
    const transport =
      options.observer === true
        ? new InMemoryTransport({ logger: config.logger, callerId: `observer-${hostname()}-${process.pid}` })
        : new KafkaTransport({
            ...connection.kafkaSecurity,
            brokers: connection.brokers,
            logger: config.logger,
            ...(connection.signing.signingKeys !== undefined ? { signingKeys: connection.signing.signingKeys } : {}),
            ...(connection.signing.insecure ? { insecure: true } : {}),
            ...(prefix === undefined ? {} : { topicPrefix: prefix }),
          });
    state = RedisStateStore.fromUrl(connection.redisUrl, {
      ...connection.redisSecurity,
      ...(prefix === undefined ? {} : { keyPrefix: prefix }),
    });
    const fabric = await createFabric({ ...config, transport, state });
    const opened = state;
    return {
      fabric,
      state,
      description: describeConnection(connection),
      close: async (o) => {
        try {
          await fabric.stop(o);
        } finally {
          await opened.close();
        }
      },
    };
  } catch (e) {
    await state?.close().catch(() => undefined);
    throw e;
  }
}

/** `url` with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  return url.replace(
    /^(\w+:\/\/)([^@/]*)@/,
    (_m, scheme: string, auth: string) => `${scheme}${auth.includes(":") ? `${auth.split(":")[0] ?? ""}:***` : "***"}@`,
  );
}

/** Why Kafka did not answer (the refusal, when it refused the credentials or certificate), or `undefined` when it did. */
async function probeKafka(
  connection: Extract<Connection, { mode: "distributed" }>,
  timeoutMs: number,
): Promise<string | ConnectionSecurityError | undefined> {
  const { brokers } = connection;
  const security = resolveKafkaSecurity(connection.kafkaSecurity?.ssl, connection.kafkaSecurity?.sasl);
  const admin = new Kafka({
    clientId: "langgraph-fabric-probe",
    brokers,
    ...kafkaSecurityConfig(security),
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
      timeoutMs,
    );
    return undefined;
  } catch (e) {
    return kafkaSecurityError(e, { brokers, security }) ?? reason(e);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Why Redis did not answer (the refusal, when it refused the credentials or certificate), or `undefined` when it did. */
async function probeRedis(
  connection: Extract<Connection, { mode: "distributed" }>,
  timeoutMs: number,
): Promise<string | ConnectionSecurityError | undefined> {
  const url = connection.redisUrl;
  const client = new Redis(url, {
    ...redisSecurityOptions(connection.redisSecurity),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null, // one attempt: this is a probe, not a connection to keep
    enableOfflineQueue: false,
  });
  // ioredis rejects connect() with a bare "Connection is closed"; the cause arrives as an error event.
  let cause: unknown;
  client.on("error", (e) => (cause ??= e));
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      timeoutMs,
    );
    return undefined;
  } catch (e) {
    return redisSecurityError(cause ?? e, redactUrl(url)) ?? reason(cause ?? e);
  } finally {
    client.disconnect();
  }
}

function reason(e: unknown): string {
  const error = e as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  const code = typeof error?.code === "string" ? error.code : undefined;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  const message = typeof error?.message === "string" ? error.message : String(e);
  if (/ECONNREFUSED/.test(message)) return "connection refused";
  return message;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  work.catch(() => undefined); // the race below reports the first outcome; a late rejection must not go unhandled
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
