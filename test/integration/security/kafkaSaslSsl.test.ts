// Kafka over TLS with SASL, on a private broker (test/support/secureKafkaBroker.ts) whose
// certificates are made for this run: a graph's node called across two fabrics over SASL_SSL,
// each SASL mechanism, and the failures a misconfigured client must get at once and by name — a
// wrong password, a CA that did not sign the broker's certificate, a user without ACLs.
import { randomBytes } from "node:crypto";
import { Annotation, StateGraph } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaTransport, type KafkaTransportOptions } from "../../../adapters/kafka/KafkaTransport.js";
import type { KafkaSaslOptions } from "../../../adapters/kafka/kafkaSecurity.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { isConnectionSecurityError, type ConnectionSecurityError } from "../../../src/errors.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { ACL_PREFIX, BROKER_USERS, startSecureKafkaBroker, type SecureKafkaBroker } from "../../support/secureKafkaBroker.js";
import { kafkaTransportOptions, redisUrl } from "../../support/services.js";
import { makeTestCertificates, type TestCertificates } from "../../support/testCertificates.js";

let certs: TestCertificates;
let broker: SecureKafkaBroker;
const prefixes: string[] = [];
const fabrics: Fabric[] = [];

beforeAll(async () => {
  certs = await makeTestCertificates();
  broker = await startSecureKafkaBroker(certs);
}, 180_000);

afterAll(async () => {
  await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 500 }).catch(() => undefined)));
  const redis = new Redis(redisUrl());
  for (const p of prefixes) await deleteByPrefix(redis, p);
  await redis.quit();
  // Undefined when beforeAll failed midway.
  await (broker as SecureKafkaBroker | undefined)?.stop();
  (certs as TestCertificates | undefined)?.remove();
}, 60_000);

const alice256: KafkaSaslOptions = { mechanism: "scram-sha-256", ...BROKER_USERS.alice };

function newPrefix(): string {
  const prefix = `${ACL_PREFIX}${randomBytes(4).toString("hex")}`;
  prefixes.push(prefix);
  return prefix;
}

/** A transport on the SASL_SSL listener, from the test run's common options. */
function secureTransport(prefix: string, options: Partial<KafkaTransportOptions>): KafkaTransport {
  return new KafkaTransport({
    ...kafkaTransportOptions(),
    brokers: broker.saslSslBrokers,
    topicPrefix: prefix,
    requestPartitions: 2,
    replyPartitions: 2,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 300,
    logger: silentLogger,
    ...options,
  });
}

/** The error `start()` rejects with. */
async function startFailure(transport: KafkaTransport): Promise<ConnectionSecurityError> {
  const error = await transport.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  await transport.stop().catch(() => undefined);
  if (!isConnectionSecurityError(error)) throw new Error(`expected a ConnectionSecurityError, got: ${String(error)}`, { cause: error });
  return error;
}

const State = Annotation.Root({ n: Annotation<number>, by: Annotation<string> });
const builder = new StateGraph(State)
  .addNode("double", (s: typeof State.State) => ({ n: s.n * 2, by: `pid ${process.pid}` }))
  .addEdge("__start__", "double")
  .addEdge("double", "__end__");

describe("Kafka over SASL_SSL", () => {
  it("carries a distributed graph's node call between two fabrics (SCRAM-SHA-256, private CA)", async () => {
    const prefix = newPrefix();
    const fabric = async (): Promise<Fabric> => {
      const f = await createFabric({
        transport: secureTransport(prefix, { ssl: { ca: certs.ca }, sasl: alice256 }),
        state: RedisStateStore.fromUrl(redisUrl(), { keyPrefix: prefix }),
        closeState: true,
        logger: silentLogger,
        monitors: false,
        registryOptions: { heartbeatIntervalMs: 300 },
      });
      fabrics.push(f);
      return f;
    };
    const worker = await fabric();
    const caller = await fabric();
    await worker.serve(builder, { nodes: ["double"] });
    const graph = caller.distribute(builder, { nodes: ["double"] }).compile();
    const out = await graph.invoke({ n: 21 }, { configurable: { thread_id: `t-${prefix}` } });
    expect(out.n).toBe(42);
  });

  it("speaks SCRAM-SHA-512 and PLAIN too", async () => {
    for (const sasl of [
      { mechanism: "scram-sha-512", ...BROKER_USERS.alice },
      { mechanism: "plain", ...BROKER_USERS.carol },
    ] satisfies KafkaSaslOptions[]) {
      const transport = secureTransport(newPrefix(), { ssl: { ca: certs.ca }, sasl });
      await transport.start(); // creates the fabric's topics and its reply group: needs the ACLs too
      await transport.stop();
    }
  });

  it("reports a wrong password as an authentication failure, at once", { timeout: 30_000 }, async () => {
    const error = await startFailure(secureTransport(newPrefix(), { ssl: { ca: certs.ca }, sasl: { ...alice256, password: "wrong" } }));
    expect(error.service).toBe("kafka");
    expect(error.failure).toBe("authentication");
    expect(error.message).toMatch(/refused to authenticate this client as user "alice" \(scram-sha-256\)/);
    expect(error.message).toMatch(/KAFKA_SASL_PASSWORD/);
  });

  it("reports a broker certificate from an untrusted CA as a certificate failure, at once", { timeout: 30_000 }, async () => {
    for (const ssl of [{ ca: certs.otherCa }, true as const]) {
      const error = await startFailure(secureTransport(newPrefix(), { ssl, sasl: alice256 }));
      expect(error.failure).toBe("certificate");
      expect(error.message).toMatch(/certificate of Kafka at 127\.0\.0\.1:19094 is not trusted/);
      expect(error.message).toMatch(/KAFKA_SSL_CA_FILE/);
    }
  });

  it("reports a user without ACLs as an authorization failure", { timeout: 30_000 }, async () => {
    const error = await startFailure(
      secureTransport(newPrefix(), { ssl: { ca: certs.ca }, sasl: { mechanism: "scram-sha-512", ...BROKER_USERS.mallory } }),
    );
    expect(error.failure).toBe("authorization");
    expect(error.message).toMatch(/refused user "mallory"/);
    expect(error.message).toMatch(/ACLs/);
  });

  it("makes createFabric fail with the security error itself, not as an outage", { timeout: 30_000 }, async () => {
    const prefix = newPrefix();
    const state = RedisStateStore.fromUrl(redisUrl(), { keyPrefix: prefix });
    const error = await createFabric({
      transport: secureTransport(prefix, { ssl: { ca: certs.ca }, sasl: { ...alice256, password: "wrong" } }),
      state,
      logger: silentLogger,
      degradation: "fallback", // an outage would fall back to in-process; a wrong password must not
    }).catch((e: unknown) => e);
    await state.close();
    expect(isConnectionSecurityError(error)).toBe(true);
    expect((error as ConnectionSecurityError).failure).toBe("authentication");
  });
});
