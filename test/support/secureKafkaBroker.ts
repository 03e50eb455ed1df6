// A private Kafka broker for the security tests: the jars of scripts/services.mjs, its own temp
// dir and ports 19092-19099, a PLAINTEXT listener (inter-broker traffic, the controller, and the
// test's own administration: its ANONYMOUS principal is a super user) beside a SASL_SSL one with
// SCRAM-SHA-256/512 users made at format time and a PLAIN user, and the StandardAuthorizer so that
// an authenticated user may do only what ACLs grant it.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { execFile } from "node:child_process";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from "kafkajs";
import { kafkaClasspath, waitForKafka } from "../../scripts/services.mjs";
import type { TestCertificates } from "./testCertificates.js";

const execFileAsync = promisify(execFile);
const HOST = "127.0.0.1";
/** The ports of this broker: this test suite's share of the machine (19092-19099). */
export const SECURE_KAFKA_PORTS = { plaintext: 19092, controller: 19093, saslSsl: 19094 } as const;
const STOP_TIMEOUT_MS = 15_000;

/** A user of the broker's SASL_SSL listener. */
export interface BrokerUser {
  readonly username: string;
  readonly password: string;
}

/** The users the broker is made with. */
export const BROKER_USERS = {
  /** SCRAM-SHA-256 and SCRAM-SHA-512; granted the fabric ACLs on {@link ACL_PREFIX}. */
  alice: { username: "alice", password: "alice-secret-7f3a" },
  /** PLAIN; granted the same ACLs as alice. */
  carol: { username: "carol", password: "carol-secret-91be" },
  /** SCRAM-SHA-512, and no ACLs at all. */
  mallory: { username: "mallory", password: "mallory-secret-c04d" },
} as const satisfies Record<string, BrokerUser>;

/** Topic and group prefix alice and carol may use (`<prefix>` of a fabric must start with it). */
export const ACL_PREFIX = "secure.";

/** A running private broker. */
export interface SecureKafkaBroker {
  /** PLAINTEXT bootstrap address (no authentication, super user): for administration only. */
  readonly plaintextBrokers: string[];
  /** SASL_SSL bootstrap address. */
  readonly saslSslBrokers: string[];
  /** Stops the broker and removes its directory. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

function properties(dir: string, certs: TestCertificates): string {
  const scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
  const plain =
    `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
    `user_${BROKER_USERS.carol.username}="${BROKER_USERS.carol.password}";`;
  const props: Record<string, string | number> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@${HOST}:${SECURE_KAFKA_PORTS.controller}`,
    listeners: `PLAINTEXT://${HOST}:${SECURE_KAFKA_PORTS.plaintext},CONTROLLER://${HOST}:${SECURE_KAFKA_PORTS.controller},SASL_SSL://${HOST}:${SECURE_KAFKA_PORTS.saslSsl}`,
    "advertised.listeners": `PLAINTEXT://${HOST}:${SECURE_KAFKA_PORTS.plaintext},SASL_SSL://${HOST}:${SECURE_KAFKA_PORTS.saslSsl}`,
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
    "inter.broker.listener.name": "PLAINTEXT",
    "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
    "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": scram,
    "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
    "listener.name.sasl_ssl.plain.sasl.jaas.config": plain,
    "ssl.keystore.type": "PKCS12",
    "ssl.keystore.location": certs.keystoreFile,
    "ssl.keystore.password": certs.keystorePassword,
    "ssl.key.password": certs.keystorePassword,
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    // The PLAINTEXT and CONTROLLER listeners authenticate nobody: their principal is ANONYMOUS.
    "super.users": "User:ANONYMOUS",
    "log.dirs": path.join(dir, "data"),
    "num.partitions": 1,
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 4,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "share.coordinator.state.topic.replication.factor": 1,
    "share.coordinator.state.topic.min.isr": 1,
    "default.replication.factor": 1,
    "min.insync.replicas": 1,
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "auto.create.topics.enable": "false",
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

function log4j(dir: string): string {
  return [
    "status = warn",
    "appender.file.type = File",
    "appender.file.name = FILE",
    `appender.file.fileName = ${path.join(dir, "server.log")}`,
    "appender.file.layout.type = PatternLayout",
    "appender.file.layout.pattern = [%d] %p %m (%c)%n",
    "rootLogger.level = INFO",
    "rootLogger.appenderRef.file.ref = FILE",
    "",
  ].join("\n");
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-40).join("\n");
  } catch {
    return "";
  }
}

/** Grants `user` what a fabric needs on topics and groups named `<prefix>…`. */
async function grantFabricAcls(admin: ReturnType<Kafka["admin"]>, user: string, prefix: string): Promise<void> {
  const principal = `User:${user}`;
  const entry = (resourceType: AclResourceTypes, operation: AclOperationTypes) => ({
    resourceType,
    resourceName: prefix,
    resourcePatternType: ResourcePatternTypes.PREFIXED,
    principal,
    host: "*",
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  await admin.createAcls({
    acl: [
      ...[AclOperationTypes.CREATE, AclOperationTypes.DESCRIBE, AclOperationTypes.READ, AclOperationTypes.WRITE].map((op) =>
        entry(AclResourceTypes.TOPIC, op),
      ),
      ...[AclOperationTypes.READ, AclOperationTypes.DESCRIBE, AclOperationTypes.DELETE].map((op) => entry(AclResourceTypes.GROUP, op)),
    ],
  });
}

/**
 * Formats and starts the broker (about 5-10 s), then grants alice and carol the fabric ACLs on
 * {@link ACL_PREFIX}. Stop it in `afterAll`; a test process that exits kills it too.
 */
export async function startSecureKafkaBroker(certs: TestCertificates): Promise<SecureKafkaBroker> {
  hookExit();
  const classpath = await kafkaClasspath();
  const dir = mkdtempSync(path.join(os.tmpdir(), "fabric-secure-kafka-"));
  const props = path.join(dir, "server.properties");
  const log4jFile = path.join(dir, "log4j2.properties");
  writeFileSync(props, properties(dir, certs));
  writeFileSync(log4jFile, log4j(dir));
  const log4jFlag = `-Dlog4j2.configurationFile=${log4jFile}`;
  const clusterId = randomBytes(16).toString("base64url").replace(/^-/, "A");
  const { alice, mallory } = BROKER_USERS;
  const scram = (mechanism: string, user: BrokerUser): string[] => [
    "--add-scram",
    `${mechanism}=[name=${user.username},password=${user.password}]`,
  ];
  try {
    await execFileAsync("java", [
      "-cp",
      classpath,
      log4jFlag,
      "kafka.tools.StorageTool",
      "format",
      "--config",
      props,
      "--cluster-id",
      clusterId,
      ...scram("SCRAM-SHA-256", alice),
      ...scram("SCRAM-SHA-512", alice),
      ...scram("SCRAM-SHA-512", mallory),
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`formatting the secure broker's storage failed: ${e.stderr ?? ""}${e.stdout ?? ""}${e.message}`);
  }
  const out = openSync(path.join(dir, "stdout.log"), "a");
  const child = spawn(
    "java",
    ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true", log4jFlag, "-cp", classpath, "kafka.Kafka", props],
    {
      stdio: ["ignore", out, out],
    },
  );
  closeSync(out);
  child.unref();
  live.add(child);
  let exited: string | null = null;
  const gone = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = `the broker exited with ${signal ?? `code ${code}`}`;
      live.delete(child);
      resolve();
    });
    child.once("error", (e) => {
      exited = `could not run java: ${e.message}`;
      live.delete(child);
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (exited === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const plaintextBrokers = [`${HOST}:${SECURE_KAFKA_PORTS.plaintext}`];
  try {
    const ready = await waitForKafka(plaintextBrokers, () => exited);
    if (!ready.ready)
      throw new Error(
        `the secure broker did not start: ${ready.reason}\n${tail(path.join(dir, "server.log"))}\n${tail(path.join(dir, "stdout.log"))}`,
      );
    const admin = new Kafka({ clientId: "secure-broker-setup", brokers: plaintextBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await grantFabricAcls(admin, alice.username, ACL_PREFIX);
      await grantFabricAcls(admin, BROKER_USERS.carol.username, ACL_PREFIX);
    } finally {
      await admin.disconnect();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { plaintextBrokers, saslSslBrokers: [`${HOST}:${SECURE_KAFKA_PORTS.saslSsl}`], stop };
}
