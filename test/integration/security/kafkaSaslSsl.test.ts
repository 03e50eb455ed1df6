// Kafka over TLS with SASL, on a private broker (test/support/secureKafkaBroker.ts) whose
// certificates are made for this run: a graph's node called across two fabrics over SASL_SSL
// (built from options, and by createFabricFromEnv with a TLS Redis beside), each SASL mechanism, a
// GraphChannel, the CLI, and the failures a misconfigured client must get at once and by name — a
// wrong password, a CA that did not sign the broker's certificate, a user without ACLs.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Annotation, MemorySaver, StateGraph } from "@langchain/langgraph";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { GraphChannel } from "../../../adapters/kafka/GraphChannel.js";
import {
  decodeGraphChannelOutput,
  encodeGraphChannelInput,
  type GraphChannelOutput,
} from "../../../adapters/kafka/graphChannelMessages.js";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabricFromEnv } from "../../../adapters/kafka/createFabricFromEnv.js";
import { KafkaTransport, type KafkaTransportOptions } from "../../../adapters/kafka/KafkaTransport.js";
import type { KafkaSaslOptions } from "../../../adapters/kafka/kafkaSecurity.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { isConnectionSecurityError, type ConnectionSecurityError } from "../../../src/errors.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { startRedisServer, type RedisServerHandle } from "../../support/redisServers.js";
import { ACL_PREFIX, BROKER_USERS, startSecureKafkaBroker, type SecureKafkaBroker } from "../../support/secureKafkaBroker.js";
import { kafkaTransportOptions, redisUrl } from "../../support/services.js";
import { makeTestCertificates, type TestCertificates } from "../../support/testCertificates.js";

let certs: TestCertificates;
let broker: SecureKafkaBroker;
/** A TLS-only redis-server with an ACL user, for the fabric configured from the environment. */
let redisTls: RedisServerHandle;
const REDIS_TLS_PORT = 16381; // 16380-16389 are the security tests'
const REDIS_USER = { username: "fabric", password: "fabric-redis-secret-3c9" };
const prefixes: string[] = [];
const fabrics: Fabric[] = [];

beforeAll(async () => {
  certs = await makeTestCertificates();
  broker = await startSecureKafkaBroker(certs);
  redisTls = await startRedisServer({
    port: REDIS_TLS_PORT,
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile },
    args: ["--user", "default", "off", "--user", REDIS_USER.username, "on", `>${REDIS_USER.password}`, "~*", "&*", "+@all"],
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 500 }).catch(() => undefined)));
  const redis = new Redis(redisUrl());
  for (const p of prefixes) await deleteByPrefix(redis, p);
  await redis.quit();
  // Undefined when beforeAll failed midway.
  await (redisTls as RedisServerHandle | undefined)?.stop();
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

  it("is what createFabricFromEnv builds from KAFKA_SSL_CA_FILE, KAFKA_SASL_* and a rediss:// REDIS_URL with REDIS_TLS_CA_FILE", async () => {
    const prefix = newPrefix();
    const passwordFile = path.join(certs.dir, "kafka-password");
    writeFileSync(passwordFile, `${BROKER_USERS.alice.password}\n`);
    // The run's own settings (e.g. message signing) first, as a child process would inherit them.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: broker.saslSslBrokers.join(","),
      KAFKA_SSL_CA_FILE: certs.caFile,
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: BROKER_USERS.alice.username,
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
      REDIS_URL: `rediss://${REDIS_USER.username}:${REDIS_USER.password}@127.0.0.1:${REDIS_TLS_PORT}`,
      REDIS_TLS_CA_FILE: certs.caFile,
      FABRIC_PREFIX: prefix,
    };
    const options = {
      logger: silentLogger,
      monitors: false as const,
      registryOptions: { heartbeatIntervalMs: 300 },
      kafka: { requestPartitions: 2, replyPartitions: 2 },
    };
    const worker = await createFabricFromEnv(options, env);
    fabrics.push(worker);
    const caller = await createFabricFromEnv(options, env);
    fabrics.push(caller);
    await worker.serve(builder, { nodes: ["double"] });
    const graph = caller.distribute(builder, { nodes: ["double"] }).compile();
    expect((await graph.invoke({ n: 5 }, { configurable: { thread_id: `env-${prefix}` } })).n).toBe(10);
    expect(caller.state).toBeInstanceOf(RedisStateStore);
  });

  it("makes createFabricFromEnv fail with the security error when KAFKA_SASL_PASSWORD is wrong", { timeout: 30_000 }, async () => {
    const error = await createFabricFromEnv(
      { logger: silentLogger, monitors: false },
      {
        ...process.env,
        KAFKA_BROKERS: broker.saslSslBrokers.join(","),
        KAFKA_SSL_CA_FILE: certs.caFile,
        KAFKA_SASL_MECHANISM: "scram-sha-256",
        KAFKA_SASL_USERNAME: BROKER_USERS.alice.username,
        KAFKA_SASL_PASSWORD: "wrong",
        REDIS_URL: `rediss://${REDIS_USER.username}:${REDIS_USER.password}@127.0.0.1:${REDIS_TLS_PORT}`,
        REDIS_TLS_CA_FILE: certs.caFile,
        FABRIC_PREFIX: newPrefix(),
      },
    ).catch((e: unknown) => e);
    expect(isConnectionSecurityError(error)).toBe(true);
    expect((error as ConnectionSecurityError).failure).toBe("authentication");
  });

  it("is what the CLI connects to with --kafka-ca, --kafka-sasl-* and --redis-ca; a wrong password exits 3 saying so", async () => {
    const goodFile = path.join(certs.dir, "cli-password");
    const badFile = path.join(certs.dir, "cli-wrong-password");
    writeFileSync(goodFile, `${BROKER_USERS.alice.password}\n`);
    writeFileSync(badFile, "wrong\n");
    const args = (passwordFile: string): string[] => [
      "status",
      "--json",
      "--kafka",
      broker.saslSslBrokers.join(","),
      "--kafka-ca",
      certs.caFile,
      "--kafka-sasl-mechanism",
      "scram-sha-256",
      "--kafka-sasl-username",
      BROKER_USERS.alice.username,
      "--kafka-sasl-password-file",
      passwordFile,
      "--redis",
      `rediss://${REDIS_USER.username}:${REDIS_USER.password}@127.0.0.1:${REDIS_TLS_PORT}`,
      "--redis-ca",
      certs.caFile,
      "--prefix",
      newPrefix(),
    ];
    const [ok, refused] = await Promise.all([runCli(args(goodFile)), runCli(args(badFile))]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ nodes: [] });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/refused to authenticate this client as user "alice" \(scram-sha-256\)/);
    expect(refused.stderr).not.toContain(BROKER_USERS.alice.password);
  });

  it("runs a GraphChannel over SASL_SSL (its consumer, producer and admin all authenticate)", async () => {
    const prefix = newPrefix();
    const channel = new GraphChannel({
      graph: builder.compile({ checkpointer: new MemorySaver() }),
      brokers: broker.saslSslBrokers,
      ssl: { ca: certs.ca },
      sasl: alice256,
      groupId: `${prefix}.channel`,
      inputTopic: `${prefix}.in`,
      outputTopic: `${prefix}.out`,
      partitions: 1,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 300,
      maxWaitTimeMs: 50,
      logger: silentLogger,
    });
    // The test's own producer and reader use the PLAINTEXT listener (its super user).
    const admin = new Kafka({ clientId: "channel-test", brokers: broker.plaintextBrokers, logLevel: logLevel.NOTHING });
    const producer = admin.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const reader = admin.consumer({ groupId: `${prefix}.reader`, maxWaitTimeInMs: 50 });
    try {
      await channel.start();
      const outputs: GraphChannelOutput[] = [];
      await reader.connect();
      await reader.subscribe({ topic: `${prefix}.out`, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => void outputs.push(await decodeGraphChannelOutput(message.value ?? Buffer.alloc(0))),
      });
      await producer.connect();
      await producer.send({ topic: `${prefix}.in`, messages: [{ key: "t1", value: await encodeGraphChannelInput({ input: { n: 4 } }) }] });
      const t0 = Date.now();
      while (!outputs.some((o) => o.type === "result") && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
      const result = outputs.find((o) => o.type === "result");
      expect(result).toMatchObject({ type: "result", values: { n: 8 } });
    } finally {
      await channel.stop(1000);
      await reader.disconnect();
      await producer.disconnect();
    }
  });
});

/** Runs the CLI from source to completion, without the test run's service addresses. */
function runCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = fileURLToPath(new URL("../../../cli/main.ts", import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, FABRIC_LOG_LEVEL: "error" };
  delete env.KAFKA_BROKERS;
  delete env.REDIS_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", cli, ...args], { env, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}
