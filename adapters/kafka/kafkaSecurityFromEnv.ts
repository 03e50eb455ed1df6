/**
 * The TLS and SASL settings of a Kafka client from the environment, for `KafkaTransport.fromEnv`,
 * `createFabricFromEnv` and the CLI.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { ConfigurationError } from "../../src/errors.js";
import type { KafkaSaslMechanism, KafkaSaslOptions, KafkaTlsOptions } from "./kafkaSecurity.js";

/** Every environment variable {@link kafkaSecurityFromEnv} reads, and what it means. */
export const KAFKA_SECURITY_ENV = {
  KAFKA_SSL: "1/true: connect with TLS (implied by any KAFKA_SSL_* file); 0/false: plaintext",
  KAFKA_SSL_CA_FILE: "PEM file of the CA(s) the brokers' certificates must chain to (default: Node's public CAs)",
  KAFKA_SSL_CERT_FILE: "PEM file of a client certificate, for brokers that require one (mutual TLS)",
  KAFKA_SSL_KEY_FILE: "PEM file of the client certificate's private key",
  KAFKA_SSL_KEY_PASSWORD: "passphrase of an encrypted KAFKA_SSL_KEY_FILE",
  KAFKA_SSL_SERVERNAME: "host name the brokers' certificates are checked against, when not the broker address's",
  KAFKA_SSL_REJECT_UNAUTHORIZED:
    "0/false accepts any broker certificate (diagnosis only: no protection from an active attacker); default 1",
  KAFKA_SASL_MECHANISM: "scram-sha-256, scram-sha-512 or plain",
  KAFKA_SASL_USERNAME: "SASL user",
  KAFKA_SASL_PASSWORD: "SASL password (prefer KAFKA_SASL_PASSWORD_FILE: environments leak)",
  KAFKA_SASL_PASSWORD_FILE: "file holding the SASL password (a trailing newline is dropped)",
} as const;

/** What the environment says about TLS and SASL: the `ssl` and `sasl` options of a transport, when set. */
export interface KafkaSecurityEnv {
  ssl?: boolean | KafkaTlsOptions;
  sasl?: KafkaSaslOptions;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return undefined;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigurationError(`${name}="${env[name] ?? ""}" is not a boolean`, { hint: `set ${name} to 1 or 0` });
}

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === "" ? undefined : raw;
}

function file(env: NodeJS.ProcessEnv, name: keyof typeof KAFKA_SECURITY_ENV): Buffer | undefined {
  const path = value(env, name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigurationError(`${name}=${path} cannot be read: ${(e as Error).message}`, {
      cause: e,
      hint: `point ${name} at a readable file (${KAFKA_SECURITY_ENV[name]})`,
    });
  }
}

/**
 * Reads {@link KAFKA_SECURITY_ENV}. Files are read now, so a missing CA or password file is an error
 * at start, not at the first connection. Unset variables leave the options unset (plaintext, no SASL).
 *
 * @throws ConfigurationError for a malformed value, an unreadable file, or SASL settings given in part.
 */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSecurityEnv {
  const out: KafkaSecurityEnv = {};
  const ca = file(env, "KAFKA_SSL_CA_FILE");
  const cert = file(env, "KAFKA_SSL_CERT_FILE");
  const key = file(env, "KAFKA_SSL_KEY_FILE");
  const passphrase = value(env, "KAFKA_SSL_KEY_PASSWORD");
  const servername = value(env, "KAFKA_SSL_SERVERNAME");
  const rejectUnauthorized = flag(env, "KAFKA_SSL_REJECT_UNAUTHORIZED");
  const tls: KafkaTlsOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(servername === undefined ? {} : { servername }),
    ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
  };
  const ssl = flag(env, "KAFKA_SSL");
  const hasTlsSettings = Object.keys(tls).length > 0;
  if (ssl === false && hasTlsSettings) {
    throw new ConfigurationError("KAFKA_SSL=0 but KAFKA_SSL_* settings are set", {
      hint: "unset KAFKA_SSL (the KAFKA_SSL_* settings turn TLS on) or the KAFKA_SSL_* variables",
    });
  }
  if (hasTlsSettings) out.ssl = tls;
  else if (ssl !== undefined) out.ssl = ssl;

  const mechanism = value(env, "KAFKA_SASL_MECHANISM")?.toLowerCase();
  const username = value(env, "KAFKA_SASL_USERNAME");
  const passwordFile = file(env, "KAFKA_SASL_PASSWORD_FILE");
  const inline = env.KAFKA_SASL_PASSWORD;
  if (passwordFile !== undefined && inline !== undefined && inline !== "") {
    throw new ConfigurationError("both KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are set", { hint: "set one of them" });
  }
  const password = passwordFile === undefined ? inline || undefined : passwordFile.toString("utf8").replace(/\r?\n$/, "");
  if (mechanism === undefined && username === undefined && password === undefined) return out;
  const missing = [
    ...(mechanism === undefined ? ["KAFKA_SASL_MECHANISM"] : []),
    ...(username === undefined ? ["KAFKA_SASL_USERNAME"] : []),
    ...(password === undefined ? ["KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)"] : []),
  ];
  if (missing.length > 0) {
    throw new ConfigurationError(`SASL is configured in part: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not set`, {
      hint: "SASL needs KAFKA_SASL_MECHANISM (scram-sha-256, scram-sha-512 or plain), KAFKA_SASL_USERNAME and a password",
    });
  }
  if (mechanism !== "plain" && mechanism !== "scram-sha-256" && mechanism !== "scram-sha-512") {
    throw new ConfigurationError(`KAFKA_SASL_MECHANISM="${mechanism ?? ""}" is not supported`, {
      hint: "use scram-sha-256, scram-sha-512 or plain",
    });
  }
  out.sasl = { mechanism: mechanism satisfies KafkaSaslMechanism, username: username ?? "", password: password ?? "" };
  return out;
}
