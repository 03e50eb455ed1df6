// Validation and environment parsing of the TLS/SASL options (Kafka) and TLS/ACL options (Redis),
// and the classification of the clients' failures into ConnectionSecurityError. The real servers
// are exercised in test/integration/security/.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { GraphChannel } from "../../../adapters/kafka/GraphChannel.js";
import { isKafkaAuthorizationFailure, kafkaSecurityError, resolveKafkaSecurity } from "../../../adapters/kafka/kafkaSecurity.js";
import { kafkaSecurityFromEnv } from "../../../adapters/kafka/kafkaSecurityFromEnv.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { redisSecurityError, redisSecurityFromEnv, redisSecurityOptions } from "../../../adapters/redis/redisSecurity.js";
import { isConfigurationError } from "../../../src/errors.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const dir = mkdtempSync(path.join(os.tmpdir(), "fabric-security-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const sasl = { mechanism: "scram-sha-256", username: "u", password: "p" } as const;

describe("Kafka ssl and sasl options", () => {
  it("are validated at construction, naming the field", () => {
    const make = (o: object) => () => new KafkaTransport({ brokers: ["h:1"], ...o });
    expect(make({ ssl: "yes" })).toThrow(/^ssl must be true, false or an object/);
    expect(make({ ssl: { ca: "not a pem" } })).toThrow(/^ssl\.ca must be PEM text/);
    expect(make({ ssl: { ca: [PEM, 42] } })).toThrow(/^ssl\.ca\[1\] must be PEM text/);
    expect(make({ ssl: { cert: PEM } })).toThrow(/ssl\.cert and ssl\.key go together \(got only ssl\.cert\)/);
    expect(make({ ssl: { rejectUnauthorized: "no" } })).toThrow(/^ssl\.rejectUnauthorized must be a boolean/);
    expect(make({ ssl: { servername: "" } })).toThrow(/^ssl\.servername/);
    expect(make({ sasl: { ...sasl, mechanism: "gssapi" } })).toThrow(
      /^sasl\.mechanism must be one of plain, scram-sha-256, scram-sha-512 \(got "gssapi"\)/,
    );
    expect(make({ sasl: { ...sasl, username: "" } })).toThrow(/^sasl\.username/);
    expect(make({ sasl: { ...sasl, password: "" } })).toThrow(/^sasl\.password must be a non-empty string \(got ""\)/);
    expect(make({ sasl: "u:p" })).toThrow(/^sasl must be \{ mechanism, username, password \}/);
    const channel = () =>
      new GraphChannel({
        graph: {} as never,
        groupId: "g",
        inputTopic: "i",
        outputTopic: "o",
        brokers: ["h:1"],
        sasl: { ...sasl, mechanism: "x" as never },
      });
    expect(channel).toThrow(/^sasl\.mechanism must be one of/);
  });

  it("accept PEM strings and Buffers, and false as plaintext", () => {
    expect(
      resolveKafkaSecurity({ ca: [PEM, Buffer.from(PEM)], cert: PEM, key: Buffer.from(PEM.replace(/CERTIFICATE/g, "PRIVATE KEY")) }, sasl)
        .sasl,
    ).toEqual(sasl);
    expect(resolveKafkaSecurity(false, undefined)).toEqual({});
    expect(resolveKafkaSecurity(true, undefined)).toEqual({ ssl: true });
  });
});

describe("kafkaSecurityFromEnv", () => {
  it("is empty without the variables, and reads files for TLS (which turns TLS on) and the password", () => {
    expect(kafkaSecurityFromEnv({})).toEqual({});
    expect(kafkaSecurityFromEnv({ KAFKA_SSL: "1" })).toEqual({ ssl: true });
    const env = kafkaSecurityFromEnv({
      KAFKA_SSL_CA_FILE: file("ca.pem", PEM),
      KAFKA_SSL_REJECT_UNAUTHORIZED: "true",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "fabric",
      KAFKA_SASL_PASSWORD_FILE: file("pw", "s3cret\n"),
    });
    expect(env.ssl).toEqual({ ca: Buffer.from(PEM), rejectUnauthorized: true });
    expect(env.sasl).toEqual({ mechanism: "scram-sha-512", username: "fabric", password: "s3cret" });
  });

  it("refuses partial SASL, unknown mechanisms, unreadable files, bad flags and two passwords", () => {
    const error = (env: NodeJS.ProcessEnv): unknown => {
      try {
        kafkaSecurityFromEnv(env);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ KAFKA_SASL_USERNAME: "u" }, /KAFKA_SASL_MECHANISM, KAFKA_SASL_PASSWORD \(or KAFKA_SASL_PASSWORD_FILE\) are not set/],
      [
        { KAFKA_SASL_MECHANISM: "gssapi", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" },
        /KAFKA_SASL_MECHANISM="gssapi" is not supported/,
      ],
      [{ KAFKA_SSL_CA_FILE: path.join(dir, "missing.pem") }, /KAFKA_SSL_CA_FILE=.*missing\.pem cannot be read/],
      [{ KAFKA_SSL: "maybe" }, /KAFKA_SSL="maybe" is not a boolean/],
      [{ KAFKA_SSL: "0", KAFKA_SSL_CA_FILE: file("ca2.pem", PEM) }, /KAFKA_SSL=0 but KAFKA_SSL_\* settings are set/],
      [{ KAFKA_SASL_PASSWORD: "p", KAFKA_SASL_PASSWORD_FILE: file("pw2", "p") }, /both KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE/],
    ];
    for (const [env, message] of cases) {
      const e = error(env);
      expect(isConfigurationError(e), String(e)).toBe(true);
      expect((e as Error).message).toMatch(message);
    }
  });

  it("reaches KafkaTransport.fromEnv (a bad setting fails there)", () => {
    expect(() => KafkaTransport.fromEnv({}, { KAFKA_BROKERS: "h:1", KAFKA_SASL_USERNAME: "u" })).toThrow(/SASL is configured in part/);
  });
});

describe("classifying Kafka failures", () => {
  const context = { brokers: ["b:9094"], security: { sasl } };
  it("names authentication, certificate, handshake and authorization failures, through causes and aggregates", () => {
    const sasl401 = Object.assign(new Error("SASL SCRAM SHA256 authentication failed"), { name: "KafkaJSSASLAuthenticationError" });
    expect(kafkaSecurityError({ message: "retries", cause: sasl401 }, context)?.failure).toBe("authentication");
    const cert = Object.assign(new Error("Connection error: self-signed certificate in certificate chain"), {
      code: "SELF_SIGNED_CERT_IN_CHAIN",
    });
    expect(kafkaSecurityError(cert, context)?.failure).toBe("certificate");
    expect(kafkaSecurityError(Object.assign(new Error("wrong version number"), { code: "EPROTO" }), context)?.failure).toBe("tls");
    const acl = {
      name: "KafkaJSAggregateError",
      message: "Topic creation errors",
      errors: [{ type: "TOPIC_AUTHORIZATION_FAILED", message: "Not authorized" }],
    };
    expect(kafkaSecurityError(acl, context)?.failure).toBe("authorization");
    expect(isKafkaAuthorizationFailure(acl)).toBe(true);
    expect(
      kafkaSecurityError(Object.assign(new Error("Connection error: connect ECONNREFUSED"), { code: "ECONNREFUSED" }), context),
    ).toBeUndefined();
  });
});

describe("Redis tls, username and password", () => {
  it("are validated, and credentials may not be given twice", () => {
    expect(() => redisSecurityOptions({ tls: { ca: "nope" } })).toThrow(/^tls\.ca must be PEM text/);
    expect(() => redisSecurityOptions({ tls: { key: PEM } })).toThrow(/tls\.cert and tls\.key go together/);
    expect(() => redisSecurityOptions({ password: "" })).toThrow(/^password must be a non-empty string/);
    expect(() => RedisStateStore.fromUrl("rediss://u:p@h:1", { username: "v" })).toThrow(
      /username is given both in the URL and in the options/,
    );
    expect(redisSecurityOptions({ tls: { ca: PEM }, username: "u", password: "p" })).toEqual({
      tls: { ca: PEM },
      username: "u",
      password: "p",
    });
  });

  it("come from REDIS_TLS_*, REDIS_USERNAME and REDIS_PASSWORD(_FILE)", () => {
    expect(redisSecurityFromEnv({})).toBeUndefined();
    expect(
      redisSecurityFromEnv({ REDIS_TLS_CA_FILE: file("rca.pem", PEM), REDIS_USERNAME: "fabric", REDIS_PASSWORD_FILE: file("rpw", "pw\n") }),
    ).toEqual({
      tls: { ca: Buffer.from(PEM) },
      username: "fabric",
      password: "pw",
    });
    expect(() => redisSecurityFromEnv({ REDIS_PASSWORD: "a", REDIS_PASSWORD_FILE: file("rpw2", "b") })).toThrow(
      /both REDIS_PASSWORD and REDIS_PASSWORD_FILE/,
    );
  });

  it("failures are classified: WRONGPASS, NOPERM, certificates, handshakes", () => {
    expect(redisSecurityError(new Error("WRONGPASS invalid username-password pair or user is disabled."), "h:1")?.failure).toBe(
      "authentication",
    );
    expect(redisSecurityError(new Error("NOPERM this user has no permissions to access one of the keys"), "h:1")?.failure).toBe(
      "authorization",
    );
    expect(
      redisSecurityError(
        Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }),
        "h:1",
      )?.failure,
    ).toBe("certificate");
    expect(redisSecurityError(Object.assign(new Error("wrong version number"), { code: "EPROTO" }), "h:1")?.failure).toBe("tls");
    expect(redisSecurityError(new Error("connect ECONNREFUSED 127.0.0.1:1"), "h:1")).toBeUndefined();
  });
});
