/**
 * TLS and ACL users of the Redis clients this package builds: the options (`tls`, `username`,
 * `password` beside a `rediss://user:password@host:port` URL), the environment variables that set
 * them, and the translation of a refused password, certificate or permission into one
 * {@link ConnectionSecurityError} that says what to check.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { Redis, RedisOptions } from "ioredis";
import { ConfigurationError, ConnectionSecurityError, isConnectionSecurityError } from "../../src/errors.js";

/** A PEM text, as a string or the bytes of a `.pem` file. */
export type Pem = string | Buffer;

/** TLS settings of the connection to Redis (`tls-port` on the server). */
export interface RedisTlsOptions {
  /** CA certificate(s), PEM, the server's certificate must chain to. Default: Node's bundled public CAs. */
  ca?: Pem | Pem[];
  /** Client certificate, PEM, when the server requires one (`tls-auth-clients yes`, its default). Needs {@link key}. Default: none. */
  cert?: Pem;
  /** Private key of {@link cert}, PEM. Default: none. */
  key?: Pem;
  /**
   * Refuse a server whose certificate does not chain to a trusted CA or does not name the host.
   * Default true; `false` encrypts without authenticating the server (diagnosis only).
   */
  rejectUnauthorized?: boolean;
  /** Host name the certificate is checked against (and sent as SNI), when not the URL's host. Default: that host. */
  servername?: string;
}

/**
 * How a Redis client proves who it is and whom it talks to. Accepted by `RedisSaver`,
 * `RedisStateStore` and `RedisRegistry` beside their connection (URL, Sentinel or Cluster options).
 */
export interface RedisSecurityOptions {
  /** TLS settings. Setting them turns TLS on for a `redis://` URL too. Default: TLS only for a `rediss://` URL, with the public CAs. */
  tls?: RedisTlsOptions;
  /** ACL user (Redis 6+). Default: the URL's user, else `default`. Give it here or in the URL, not both. */
  username?: string;
  /** Password of {@link username}. Default: the URL's password, else none. Give it here or in the URL, not both. */
  password?: string;
}

const isPem = (v: unknown): boolean => (typeof v === "string" || Buffer.isBuffer(v)) && v.toString().includes("-----BEGIN ");

/**
 * Validates `security` and returns the ioredis options it amounts to.
 *
 * @throws RangeError naming the field (`tls.ca`, `password`, …).
 */
export function redisSecurityOptions(security: RedisSecurityOptions | undefined): Pick<RedisOptions, "tls" | "username" | "password"> {
  if (security === undefined) return {};
  const out: Pick<RedisOptions, "tls" | "username" | "password"> = {};
  const { tls, username, password } = security;
  if (tls !== undefined) {
    if (typeof tls !== "object" || Array.isArray(tls)) throw new RangeError(`tls must be an object of TLS options (got ${typeof tls})`);
    const cas = tls.ca === undefined ? [] : Array.isArray(tls.ca) ? tls.ca : [tls.ca];
    for (const [field, value] of [
      ...cas.map((c) => ["tls.ca", c] as const),
      ["tls.cert", tls.cert] as const,
      ["tls.key", tls.key] as const,
    ]) {
      if (value !== undefined && !isPem(value))
        throw new RangeError(`${field} must be PEM text (a string or Buffer containing "-----BEGIN …")`);
    }
    if ((tls.cert === undefined) !== (tls.key === undefined))
      throw new RangeError(`tls.cert and tls.key go together (got only ${tls.cert === undefined ? "tls.key" : "tls.cert"})`);
    if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== "boolean")
      throw new RangeError(`tls.rejectUnauthorized must be a boolean (got ${typeof tls.rejectUnauthorized})`);
    if (tls.servername !== undefined && (typeof tls.servername !== "string" || tls.servername.length === 0))
      throw new RangeError(`tls.servername must be a non-empty host name`);
    out.tls = { ...tls };
  }
  if (username !== undefined) {
    if (typeof username !== "string" || username.length === 0) throw new RangeError(`username must be a non-empty string`);
    out.username = username;
  }
  if (password !== undefined) {
    if (typeof password !== "string" || password.length === 0) throw new RangeError(`password must be a non-empty string`);
    out.password = password;
  }
  return out;
}

/**
 * Refuses credentials given both in a URL and in options: ioredis would silently prefer the URL's.
 *
 * @throws ConfigurationError naming what is given twice.
 */
export function checkNoDuplicateCredentials(url: string, security: RedisSecurityOptions | undefined): void {
  if (security === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return; // ioredis reports a malformed URL itself
  }
  const twice = [
    ...(parsed.username !== "" && security.username !== undefined ? ["username"] : []),
    ...(parsed.password !== "" && security.password !== undefined ? ["password"] : []),
  ];
  if (twice.length > 0)
    throw new ConfigurationError(
      `the Redis ${twice.join(" and ")} ${twice.length > 1 ? "are" : "is"} given both in the URL and in the options`,
      {
        hint: "give the credentials in one place: the URL (rediss://user:password@host:port) or REDIS_USERNAME / REDIS_PASSWORD",
      },
    );
}

/** Every environment variable {@link redisSecurityFromEnv} reads, and what it means. */
export const REDIS_SECURITY_ENV = {
  REDIS_TLS_CA_FILE:
    "PEM file of the CA(s) the server's certificate must chain to (turns TLS on; default: Node's public CAs with rediss://)",
  REDIS_TLS_CERT_FILE: "PEM file of a client certificate, when the server requires one (tls-auth-clients)",
  REDIS_TLS_KEY_FILE: "PEM file of the client certificate's private key",
  REDIS_TLS_SERVERNAME: "host name the server's certificate is checked against, when not the URL's",
  REDIS_TLS_REJECT_UNAUTHORIZED: "0/false accepts any server certificate (diagnosis only); default 1",
  REDIS_USERNAME: "ACL user, when not in REDIS_URL",
  REDIS_PASSWORD: "its password, when not in REDIS_URL (prefer REDIS_PASSWORD_FILE: environments leak)",
  REDIS_PASSWORD_FILE: "file holding the password (a trailing newline is dropped)",
} as const;

/**
 * Reads {@link REDIS_SECURITY_ENV}: `undefined` when none is set. Files are read now, so a missing
 * one is an error at start.
 *
 * @throws ConfigurationError for an unreadable file, a malformed flag or a password given twice.
 */
export function redisSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): RedisSecurityOptions | undefined {
  const value = (name: keyof typeof REDIS_SECURITY_ENV): string | undefined => env[name]?.trim() || undefined;
  const file = (name: keyof typeof REDIS_SECURITY_ENV): Buffer | undefined => {
    const path = value(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigurationError(`${name}=${path} cannot be read: ${(e as Error).message}`, {
        cause: e,
        hint: `point ${name} at a readable file (${REDIS_SECURITY_ENV[name]})`,
      });
    }
  };
  const reject = value("REDIS_TLS_REJECT_UNAUTHORIZED")?.toLowerCase();
  if (reject !== undefined && !["0", "1", "true", "false"].includes(reject))
    throw new ConfigurationError(`REDIS_TLS_REJECT_UNAUTHORIZED="${reject}" is not a boolean`, { hint: "set it to 1 or 0" });
  const ca = file("REDIS_TLS_CA_FILE");
  const cert = file("REDIS_TLS_CERT_FILE");
  const key = file("REDIS_TLS_KEY_FILE");
  const servername = value("REDIS_TLS_SERVERNAME");
  const tls: RedisTlsOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(servername === undefined ? {} : { servername }),
    ...(reject === undefined ? {} : { rejectUnauthorized: reject === "1" || reject === "true" }),
  };
  const passwordFile = file("REDIS_PASSWORD_FILE");
  if (passwordFile !== undefined && value("REDIS_PASSWORD") !== undefined)
    throw new ConfigurationError("both REDIS_PASSWORD and REDIS_PASSWORD_FILE are set", { hint: "set one of them" });
  const password = passwordFile?.toString("utf8").replace(/\r?\n$/, "") ?? value("REDIS_PASSWORD");
  const username = value("REDIS_USERNAME");
  const security: RedisSecurityOptions = {
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
  return Object.keys(security).length > 0 ? security : undefined;
}

const CERTIFICATE_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * The {@link ConnectionSecurityError} a Redis failure amounts to (a refused password, a missing
 * permission, an untrusted certificate, a failed TLS handshake), or `undefined`.
 */
export function redisSecurityError(e: unknown, where: string): ConnectionSecurityError | undefined {
  if (isConnectionSecurityError(e)) return e;
  if (typeof e !== "object" || e === null) return undefined;
  const { message = "", code = "" } = e as { message?: unknown; code?: unknown };
  const text = typeof message === "string" ? message : "";
  const errno = typeof code === "string" ? code : "";
  if (/^(WRONGPASS|NOAUTH)\b/.test(text) || /invalid username-password pair|invalid password/i.test(text)) {
    return new ConnectionSecurityError("redis", "authentication", `Redis at ${where} refused the credentials: ${text}`, {
      cause: e,
      hint:
        "check the user and password in the URL (rediss://user:password@host:port) or REDIS_USERNAME / REDIS_PASSWORD(_FILE), " +
        "and that the ACL user exists and is on (ACL LIST)",
    });
  }
  if (/^NOPERM\b/.test(text)) {
    return new ConnectionSecurityError("redis", "authorization", `Redis at ${where} refused an operation: ${text}`, {
      cause: e,
      hint: "grant the ACL user the keys (~<prefix>*), channels (&<prefix>*) and commands the fabric uses (+@all, or see docs/security.md)",
    });
  }
  if (CERTIFICATE_CODES.has(errno) || /certificate/i.test(text)) {
    return new ConnectionSecurityError("redis", "certificate", `the certificate of Redis at ${where} is not trusted: ${text}`, {
      cause: e,
      hint:
        "give the CA that signed the server's certificate (tls.ca / REDIS_TLS_CA_FILE), and check that the certificate names the " +
        "host in the URL (or set tls.servername / REDIS_TLS_SERVERNAME)",
    });
  }
  if (errno === "EPROTO" || errno.startsWith("ERR_SSL_") || /wrong version number|SSL routines|tlsv1 alert/i.test(text)) {
    return new ConnectionSecurityError("redis", "tls", `the TLS handshake with Redis at ${where} failed: ${text}`, {
      cause: e,
      hint: "check that the port is the server's tls-port (rediss://) and, when the server checks clients, give tls.cert and tls.key",
    });
  }
  return undefined;
}

/** `host:port` of a client, for messages. */
export function redisAddress(client: Redis | { options?: unknown }): string {
  const options = (client as { options?: { host?: unknown; port?: unknown } }).options;
  const part = (v: unknown): string => (typeof v === "string" || typeof v === "number" ? String(v) : "?");
  return `${part(options?.host)}:${part(options?.port)}`;
}

/**
 * Makes commands fail at once, with a {@link ConnectionSecurityError}, while the server refuses the
 * connection's certificate or handshake: ioredis would otherwise keep them queued through its
 * reconnect attempts (about ten seconds) and then fail them with a bare "max retries" error.
 * It keeps reconnecting, so a fixed server certificate heals the client. Standalone and Sentinel clients.
 */
export function failFastOnSecurityErrors(client: Redis): void {
  client.on("error", (e: unknown) => {
    const security = redisSecurityError(e, redisAddress(client));
    if (security === undefined) return;
    // flushQueue is ioredis's own way to fail queued and sent commands; it is private in its types.
    (client as unknown as { flushQueue(error: Error): void }).flushQueue(security);
  });
}
