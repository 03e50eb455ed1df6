#!/usr/bin/env node
// Local services for integration tests, examples and benchmarks: the machine's Redis and a real
// Apache Kafka broker (single-node KRaft) run from Maven Central jars, since there is no Docker.
//
//   node scripts/services.mjs up|down|status [--json] [--brokers 3] [--sentinel]
//
// `--brokers 3` and `--sentinel` select the cluster mode of scripts/servicesCluster.mjs (a 3-node
// KRaft cluster, a Redis primary + replica + 3 Sentinels) instead of the single broker / the
// machine's Redis; that module reuses the jar, config, format and start functions exported here.
//
// Plain ESM JavaScript so it runs without a build; the vitest global setup imports it too.
// Everything it creates lives under .services/ (git-ignored). It never stops a server it did not
// start: ownership is a pid file whose process command line still matches.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";

const execFileAsync = promisify(execFile);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REDIS_DIR = path.join(ROOT, ".services", "redis");
const KAFKA_DIR = path.join(ROOT, ".services", "kafka");
const at = (/** @type {string} */ dir, /** @type {string} */ name) => path.join(dir, name);
const REDIS = { pid: at(REDIS_DIR, "redis.pid"), log: at(REDIS_DIR, "redis.log") };
const KAFKA = {
  libs: at(KAFKA_DIR, "libs"),
  data: at(KAFKA_DIR, "data"),
  props: at(KAFKA_DIR, "server.properties"),
  log4j: at(KAFKA_DIR, "log4j2.properties"),
  serverLog: at(KAFKA_DIR, "server.log"),
  stdoutLog: at(KAFKA_DIR, "stdout.log"),
  pid: at(KAFKA_DIR, "kafka.pid"),
  lock: at(KAFKA_DIR, "up.lock"),
  users: at(KAFKA_DIR, "users"),
  clusterId: at(KAFKA_DIR, "cluster-id"),
};

const KAFKA_VERSION = "4.3.1";
const KAFKA_MARKER_JAR = `kafka_2.13-${KAFKA_VERSION}.jar`; // present => the jars of this version are there
const HOST = "127.0.0.1";
const KAFKA_PORT = 9092;
const CONTROLLER_PORT = 9093;
const DEFAULT_REDIS_URL = `redis://${HOST}:6379`;
const DEFAULT_KAFKA_BROKERS = [`${HOST}:${KAFKA_PORT}`];

const POLL_MS = 250;
const KAFKA_READY_TIMEOUT_MS = 120_000; // idle: 3-5 s; a loaded 2-core machine: 10-20 s
const KAFKA_STOP_TIMEOUT_MS = 20_000; // a controlled shutdown of one node takes 1-3 s
const REDIS_READY_TIMEOUT_MS = 10_000;
const LOG_TAIL_LINES = 60;

export const log = (/** @type {string} */ message) => process.stderr.write(`[services] ${message}\n`);
export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
const messageOf = (/** @type {unknown} */ error) => (error instanceof Error ? error.message : String(error));
const secondsSince = (/** @type {number} */ t0) => ((Date.now() - t0) / 1000).toFixed(1);
const rel = (/** @type {string} */ file) => path.relative(ROOT, file);

/** Alive and not a zombie (an unreaped zombie would otherwise look alive forever). */
export function isAlive(/** @type {number} */ pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true; // no /proc (not Linux): the signal check is all we have
  }
}

/** The pid in `file` if that process is alive and its command line contains `needle` (pid reuse); else removes the file. */
export function ownedPid(/** @type {string} */ file, /** @type {string} */ needle) {
  let pid = NaN;
  try {
    pid = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
  } catch {
    return null;
  }
  if (pid > 0 && isAlive(pid)) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle)) return pid;
    } catch {
      return pid;
    }
  }
  fs.rmSync(file, { force: true });
  return null;
}

export function tail(/** @type {string} */ file, lines = LOG_TAIL_LINES) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no such file)";
  }
}

/** SIGTERM, wait for the exit, SIGKILL after `timeoutMs`. */
export async function terminate(/** @type {number} */ pid, /** @type {number} */ timeoutMs) {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (!isAlive(pid)) return;
  log(`pid ${pid} still running after ${timeoutMs / 1000} s; sending SIGKILL`);
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return; // it exited just now
  }
  while (isAlive(pid)) await sleep(50);
}

// ---- Redis -------------------------------------------------------------------------------------

/** PINGs `url` once; null when it answers, else the reason. */
export async function pingRedis(/** @type {string} */ url) {
  // One attempt and no offline queue: callers poll, and a dead server must fail fast.
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  /** @type {unknown} */
  let socketError;
  client.on("error", (error) => (socketError = error)); // more telling than connect()'s "Connection is closed."
  try {
    await client.connect();
    const reply = await client.ping();
    return reply === "PONG" ? null : `unexpected reply ${reply}`;
  } catch (error) {
    return messageOf(socketError ?? error);
  } finally {
    client.disconnect();
  }
}

/**
 * Makes sure a Redis answers: `REDIS_URL` if set (only checked), else 127.0.0.1:6379, started
 * with the machine's flags (data and log under .services/redis) when nothing answers there.
 * @returns {Promise<{ url: string, started: boolean }>}
 */
export async function ensureRedis() {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    const error = await pingRedis(fromEnv);
    if (error !== null) throw new Error(`REDIS_URL=${fromEnv} does not answer PING: ${error}`);
    log(`Redis: using REDIS_URL=${fromEnv}`);
    return { url: fromEnv, started: false };
  }
  if ((await pingRedis(DEFAULT_REDIS_URL)) === null) {
    log(`Redis: already answering at ${DEFAULT_REDIS_URL}`);
    return { url: DEFAULT_REDIS_URL, started: false };
  }
  fs.mkdirSync(REDIS_DIR, { recursive: true });
  // The machine's own flags (shared, nothing on disk), daemonized so it outlives this process.
  const args = [
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    REDIS_DIR,
    "--logfile",
    REDIS.log,
    "--pidfile",
    REDIS.pid,
  ];
  log(`Redis: nothing at ${DEFAULT_REDIS_URL}; starting redis-server ${args.join(" ")}`);
  try {
    await execFileAsync("redis-server", args);
  } catch (error) {
    throw new Error(`could not run redis-server (is it installed?): ${messageOf(error)}`);
  }
  const deadline = Date.now() + REDIS_READY_TIMEOUT_MS;
  let error = await pingRedis(DEFAULT_REDIS_URL);
  while (error !== null && Date.now() < deadline) {
    await sleep(100);
    error = await pingRedis(DEFAULT_REDIS_URL);
  }
  if (error !== null) {
    process.stderr.write(`${tail(REDIS.log)}\n`);
    throw new Error(`redis-server started but ${DEFAULT_REDIS_URL} does not answer PING: ${error}`);
  }
  log(`Redis: started at ${DEFAULT_REDIS_URL} (pid ${ownedPid(REDIS.pid, "redis-server") ?? "?"})`);
  return { url: DEFAULT_REDIS_URL, started: true };
}

async function stopRedis() {
  const pid = ownedPid(REDIS.pid, "redis-server");
  if (pid === null) {
    log("Redis: not started by this script; leaving it alone");
    return false;
  }
  log(`Redis: stopping pid ${pid}`);
  await terminate(pid, 10_000);
  fs.rmSync(REDIS.pid, { force: true });
  return true;
}

// ---- Kafka: probes -----------------------------------------------------------------------------

/**
 * Runs `fn` on a kafkajs admin with no retries and no logging (callers poll and report themselves).
 * @template T
 * @param {string[]} brokers
 * @param {(admin: import("kafkajs").Admin) => Promise<T>} fn
 * @returns {Promise<{ ok: true, value: T } | { ok: false, error: string }>}
 */
export async function withAdmin(brokers, fn) {
  const kafka = new Kafka({
    clientId: "fabric-services",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return { ok: true, value: await fn(admin) };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

const describeKafka = (/** @type {string[]} */ brokers) => withAdmin(brokers, (admin) => admin.describeCluster());

/**
 * The first consumer group makes the broker create __consumer_offsets, and until its partitions
 * load every JoinGroup fails ("coordinator not available / loading"). Waiting for it here keeps
 * that out of the first test that uses a group.
 */
async function groupCoordinatorReady(/** @type {string[]} */ brokers) {
  const result = await withAdmin(brokers, async (admin) => {
    await admin.describeCluster(); // loads the broker list the coordinator lookup needs
    return (await admin.describeGroups(["fabric-services-warmup"])).groups.every((g) => !g.errorCode);
  });
  return result.ok && result.value;
}

/**
 * Polls until the broker answers describeCluster and its group coordinator is loaded.
 * @param {string[]} brokers
 * @param {() => string | null} gone why the broker can no longer come up, or null while it may
 * @returns {Promise<{ ready: true, clusterId: string } | { ready: false, reason: string }>}
 */
export async function waitForKafka(brokers, gone) {
  const t0 = Date.now();
  let clusterId = "";
  let last = "no answer yet";
  while (Date.now() - t0 < KAFKA_READY_TIMEOUT_MS) {
    const reason = gone();
    if (reason !== null) return { ready: false, reason };
    if (!clusterId) {
      const result = await describeKafka(brokers);
      if (result.ok) {
        clusterId = result.value.clusterId;
        log(`Kafka: answering after ${secondsSince(t0)} s; warming up the group coordinator`);
      } else {
        last = result.error;
      }
    }
    if (clusterId) {
      if (await groupCoordinatorReady(brokers)) return { ready: true, clusterId };
      last = "the group coordinator is not available yet";
    }
    await sleep(POLL_MS);
  }
  return { ready: false, reason: `it was not ready within ${KAFKA_READY_TIMEOUT_MS / 1000} s (last error: ${last})` };
}

export function portOpen(/** @type {number} */ port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port, timeout: 500 });
    const done = (/** @type {boolean} */ open) => {
      socket.destroy();
      resolve(open);
    };
    socket
      .once("connect", () => done(true))
      .once("error", () => done(false))
      .once("timeout", () => done(false));
  });
}

// ---- Kafka: install, configure, format, start --------------------------------------------------

/**
 * The Java classpath of the Kafka broker and its tools, after fetching the jars when missing; for
 * tests that run a broker of their own (another listener setup, other ports) from the same jars.
 * @returns {Promise<string>}
 */
export async function kafkaClasspath() {
  await ensureJars();
  return CLASSPATH;
}

/** Downloads the broker jars unless this version's are already there (mvn: about 10 s). Not concurrency-safe: call it once before starting several nodes. */
export async function ensureJars() {
  if (fs.existsSync(at(KAFKA.libs, KAFKA_MARKER_JAR))) return;
  // Download beside the target and rename, so a failed run never leaves a half-filled libs/.
  const staging = `${KAFKA.libs}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  const args = [
    "-q",
    "-B",
    "-f",
    at(ROOT, "scripts/kafka/pom.xml"),
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    `-DoutputDirectory=${staging}`,
  ];
  log(`Kafka: fetching broker jars: mvn ${args.join(" ")}`);
  const t0 = Date.now();
  try {
    await execFileAsync("mvn", args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = /** @type {{ stdout?: string, stderr?: string }} */ (error);
    process.stderr.write(`${e.stdout ?? ""}${e.stderr ?? ""}\n`);
    throw new Error(`mvn could not fetch the Kafka ${KAFKA_VERSION} jars (Maven installed? Maven Central reachable?): ${messageOf(error)}`);
  }
  if (!fs.existsSync(at(staging, KAFKA_MARKER_JAR))) throw new Error(`mvn ran but ${KAFKA_MARKER_JAR} is missing in ${staging}`);
  fs.rmSync(KAFKA.libs, { recursive: true, force: true });
  fs.renameSync(staging, KAFKA.libs);
  log(`Kafka: ${fs.readdirSync(KAFKA.libs).length} jars in ${rel(KAFKA.libs)} (${secondsSince(t0)} s)`);
}

/**
 * One Kafka node: its files, its client listener, its heap and the settings that depend on the
 * topology (node id, quorum, listeners, replication). The single broker is {@link SINGLE_NODE};
 * scripts/servicesCluster.mjs builds one per cluster node.
 * @typedef {{
 *   label: string, dir: string, data: string, props: string, log4j: string, serverLog: string,
 *   stdoutLog: string, pid: string, clusterIdFile: string, broker: string, heap: string,
 *   settings: Record<string, string | number | boolean>,
 * }} KafkaNode
 */

/**
 * Replication settings of a cluster where every replicated topic, internal ones included, has
 * `factor` replicas and takes writes while `minIsr` of them are in sync.
 */
export function replicationSettings(/** @type {number} */ factor, /** @type {number} */ minIsr) {
  return {
    "offsets.topic.replication.factor": factor,
    "transaction.state.log.replication.factor": factor,
    "transaction.state.log.min.isr": minIsr,
    "share.coordinator.state.topic.replication.factor": factor,
    "share.coordinator.state.topic.min.isr": minIsr,
    "default.replication.factor": factor,
    "min.insync.replicas": minIsr,
  };
}

/** @type {KafkaNode} */
const SINGLE_NODE = {
  label: "Kafka",
  dir: KAFKA_DIR,
  data: KAFKA.data,
  props: KAFKA.props,
  log4j: KAFKA.log4j,
  serverLog: KAFKA.serverLog,
  stdoutLog: KAFKA.stdoutLog,
  pid: KAFKA.pid,
  clusterIdFile: KAFKA.clusterId,
  broker: DEFAULT_KAFKA_BROKERS[0],
  heap: "1g",
  settings: {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@${HOST}:${CONTROLLER_PORT}`,
    listeners: `PLAINTEXT://${HOST}:${KAFKA_PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}`,
    "advertised.listeners": `PLAINTEXT://${HOST}:${KAFKA_PORT}`,
    // One broker: every replicated internal topic must make do with a single replica.
    ...replicationSettings(1, 1),
  },
};

/** Rewritten on every start, so changes here apply to an existing data dir. */
function writeKafkaConfig(/** @type {KafkaNode} */ node) {
  const props = {
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name": "PLAINTEXT",
    "log.dirs": node.data,
    "num.partitions": 1,
    ...node.settings,
    // Tests create groups constantly: no 3 s wait for more members; fewer offsets partitions to load.
    "group.initial.rebalance.delay.ms": 0,
    "offsets.topic.num.partitions": 10,
    // Failover tests need consumer session timeouts below the broker's default minimum of 6 s.
    "group.min.session.timeout.ms": 1000,
    "auto.create.topics.enable": true,
    "delete.topic.enable": true,
  };
  const lines = Object.entries(props).map(([key, value]) => `${key}=${value}`);
  fs.writeFileSync(node.props, `# Written by scripts/services.mjs; edits are overwritten.\n${lines.join("\n")}\n`);
  // INFO keeps startup, shutdown and errors; per-request logs and config dumps are only noise.
  const quiet = ["kafka.request.logger", "org.apache.kafka.common.config.AbstractConfig", "org.apache.kafka.common.utils.AppInfoParser"];
  const log4j = [
    "status = warn",
    "appender.file.type = File",
    "appender.file.name = FILE",
    `appender.file.fileName = ${node.serverLog}`,
    "appender.file.layout.type = PatternLayout",
    "appender.file.layout.pattern = [%d] %p %m (%c)%n",
    "rootLogger.level = INFO",
    "rootLogger.appenderRef.file.ref = FILE",
    ...quiet.flatMap((name, i) => [`logger.quiet${i}.name = ${name}`, `logger.quiet${i}.level = WARN`]),
  ];
  fs.writeFileSync(node.log4j, `${log4j.join("\n")}\n`);
}

/** A fixed cluster id per checkout: 16 random bytes in base64url (22 chars), as Kafka's Uuid. */
function clusterId(/** @type {string} */ file) {
  try {
    const id = fs.readFileSync(file, "utf8").trim();
    if (/^[A-Za-z0-9_-]{22}$/.test(id)) return id;
  } catch {
    // first run
  }
  let id;
  do id = randomBytes(16).toString("base64url");
  while (id.startsWith("-")); // Kafka refuses ids that look like command-line flags
  fs.writeFileSync(file, `${id}\n`);
  return id;
}

/** Failure text meaning the data dir belongs to another cluster id or node (e.g. after a crash). */
const STALE_DATA = /meta\.properties|InconsistentClusterIdException|Invalid cluster\.id|Stored node id/i;
const CLASSPATH = `${KAFKA.libs}/*`; // the JVM expands the wildcard itself; no shell involved
const log4jFlag = (/** @type {KafkaNode} */ node) => `-Dlog4j2.configurationFile=${node.log4j}`;

async function formatStorage(/** @type {KafkaNode} */ node) {
  const args = [
    "-cp",
    CLASSPATH,
    log4jFlag(node),
    "kafka.tools.StorageTool",
    "format",
    "--config",
    node.props,
    "--cluster-id",
    clusterId(node.clusterIdFile),
    "--ignore-formatted",
  ];
  log(`${node.label}: java ${args.join(" ")}`);
  try {
    const { stdout, stderr } = await execFileAsync("java", args);
    // Its last line says what happened ("Formatting metadata directory …" / "… already formatted.").
    log(`${node.label}: ${`${stdout}${stderr}`.trim().split("\n").at(-1) ?? ""}`);
  } catch (error) {
    const e = /** @type {{ stdout?: string, stderr?: string, code?: unknown }} */ (error);
    if (e.code === "ENOENT") throw new Error("java not found: the Kafka broker needs a Java 17+ runtime on PATH");
    const output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    const summary = output
      .split("\n")
      .filter((l) => l.trim() && !/^\s+at /.test(l))
      .slice(0, 5)
      .join("\n");
    throw Object.assign(new Error(`kafka.tools.StorageTool format failed: ${summary || messageOf(error)}`), { output });
  }
}

/**
 * Starts the node detached and waits until it is ready; on failure stops it, prints its logs and throws.
 * Exported for the cluster mode, which also restarts one node of a running cluster with it.
 * @param {KafkaNode} node
 * @returns {Promise<{ pid: number, startupMs: number }>}
 */
export async function startKafkaProcess(node) {
  // The JVM settings of Kafka's own start scripts (kafka-server-start.sh, kafka-run-class.sh): a
  // fixed heap (1 GiB for the single broker) and G1 aiming at 20 ms pauses (G1's default aim is 200 ms). Young collections
  // of this broker still take 14-20 ms on this kind of 2-core machine, every few seconds under
  // load: they are part of the tail of every latency benchmark here.
  const jvm = [`-Xms${node.heap}`, `-Xmx${node.heap}`, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35"];
  const args = [
    ...jvm,
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
    log4jFlag(node),
    "-cp",
    CLASSPATH,
    "kafka.Kafka",
    node.props,
  ];
  log(`${node.label}: java ${args.join(" ")}`);
  const t0 = Date.now();
  const out = fs.openSync(node.stdoutLog, "a");
  // Detached (own session) and unref'd so it outlives `up`, the test run and the terminal.
  const child = spawn("java", args, { cwd: node.dir, detached: true, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  /** @type {string | null} */
  let exited = null;
  child.once("error", (error) => (exited = `could not run java: ${error.message}`));
  child.once("exit", (code, signal) => (exited = `the java process exited with ${signal ?? `code ${code}`}`));
  child.unref();
  const pid = child.pid;
  if (pid !== undefined) {
    fs.writeFileSync(node.pid, `${pid}\n`);
    log(`${node.label}: broker pid ${pid}; waiting for ${node.broker} (up to ${KAFKA_READY_TIMEOUT_MS / 1000} s)`);
    const result = await waitForKafka([node.broker], () => exited);
    if (result.ready) {
      log(`${node.label}: ready at ${node.broker} in ${secondsSince(t0)} s (cluster ${result.clusterId}, pid ${pid})`);
      return { pid, startupMs: Date.now() - t0 };
    }
    if (exited === null) await terminate(pid, 5000);
    fs.rmSync(node.pid, { force: true });
  } else {
    await sleep(100); // let the "error" event say why
  }
  for (const file of [node.serverLog, node.stdoutLog]) log(`---- last ${LOG_TAIL_LINES} lines of ${rel(file)} ----\n${tail(file)}`);
  const output = `${tail(node.serverLog, 300)}\n${tail(node.stdoutLog, 300)}`;
  const reason = exited ?? `it was not ready within ${KAFKA_READY_TIMEOUT_MS / 1000} s`;
  throw Object.assign(new Error(`${node.label} broker failed to start: ${reason}; logs in ${rel(node.dir)}/`), { output });
}

/**
 * Format + start; wipes a data dir left by another cluster id or node and retries, once.
 * Exported for the cluster mode, which runs it for each node at once (a KRaft node is ready only
 * when a majority of the controllers runs).
 * @param {KafkaNode} node
 */
export async function formatAndStart(node = SINGLE_NODE) {
  await ensureJars();
  fs.mkdirSync(node.dir, { recursive: true });
  writeKafkaConfig(node);
  for (let attempt = 1; ; attempt++) {
    // Keep the previous run's logs one generation back, so a failure shows only this run's lines.
    for (const file of [node.serverLog, node.stdoutLog]) if (fs.existsSync(file)) fs.renameSync(file, `${file}.1`);
    try {
      await formatStorage(node);
      return await startKafkaProcess(node);
    } catch (error) {
      if (attempt > 1 || !STALE_DATA.test(/** @type {{ output?: string }} */ (error).output ?? "")) throw error;
      log(`${node.label}: ${rel(node.data)} belongs to another cluster or node; wiping it and retrying once`);
      fs.rmSync(node.data, { recursive: true, force: true });
    }
  }
}

/**
 * Serializes concurrent `up`s (a person and a test run) so only one of them starts the broker.
 * @template T
 * @param {() => Promise<T>} fn
 * @param {string} [lockFile] the single broker's unless given (the cluster mode has its own)
 * @returns {Promise<T>}
 */
export async function withKafkaLock(fn, lockFile = KAFKA.lock) {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + KAFKA_READY_TIMEOUT_MS + 60_000;
  for (let waiting = false; ; waiting = true) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (error) {
      if (/** @type {{ code?: string }} */ (error).code !== "EEXIST") throw error;
      const holder = Number.parseInt(fs.readFileSync(lockFile, "utf8"), 10);
      if (!(holder > 0 && isAlive(holder))) {
        fs.rmSync(lockFile, { force: true }); // its holder died
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile} (held by pid ${holder})`);
      if (!waiting) log(`Kafka: another services.mjs (pid ${holder}) is starting Kafka; waiting`);
      await sleep(POLL_MS);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

// ---- Kafka: API --------------------------------------------------------------------------------

/**
 * Makes sure a Kafka broker answers: `KAFKA_BROKERS` (comma-separated host:port) if set, only
 * checked; else 127.0.0.1:9092, started from Maven Central jars when nothing answers there.
 * @returns {Promise<{ brokers: string[], started: boolean, pid: number | null, startupMs?: number }>}
 */
export async function ensureKafka() {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) {
    const brokers = fromEnv
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean);
    const result = await describeKafka(brokers);
    if (!result.ok) throw new Error(`KAFKA_BROKERS=${fromEnv} does not answer describeCluster: ${result.error}`);
    log(`Kafka: using KAFKA_BROKERS=${fromEnv} (${result.value.brokers.length} broker(s))`);
    return { brokers, started: false, pid: null };
  }
  const brokers = DEFAULT_KAFKA_BROKERS;
  return withKafkaLock(async () => {
    const ours = ownedPid(KAFKA.pid, "kafka.Kafka");
    if ((await describeKafka(brokers)).ok) {
      log(`Kafka: already answering at ${brokers[0]}${ours === null ? " (not started by this checkout)" : ` (pid ${ours})`}`);
      return { brokers, started: false, pid: ours };
    }
    // A broker still starting (ours, or another checkout's: its controller port opens first)
    // would make a second one fail to bind: wait for it instead.
    if (ours !== null || (await portOpen(CONTROLLER_PORT))) {
      log(`Kafka: a broker${ours === null ? "" : ` (pid ${ours})`} is starting on ${HOST}; waiting for it`);
      const result = await waitForKafka(brokers, () => (ours === null || isAlive(ours) ? null : "it exited"));
      if (result.ready) return { brokers, started: false, pid: ours };
      if (ours === null)
        throw new Error(`something holds ${HOST}:${CONTROLLER_PORT} but never became a ready Kafka at ${brokers[0]}: ${result.reason}`);
      log(`Kafka: pid ${ours} never became ready (${result.reason}); stopping it and starting afresh`);
      await terminate(ours, KAFKA_STOP_TIMEOUT_MS);
    }
    if (await portOpen(KAFKA_PORT))
      throw new Error(`something that is not a working Kafka broker listens on ${brokers[0]}; free the port or set KAFKA_BROKERS`);
    const { pid, startupMs } = await formatAndStart();
    return { brokers, started: true, pid, startupMs };
  });
}

/** Stops the broker this script started (.services/kafka/kafka.pid); never another. */
export async function stopKafka() {
  const pid = ownedPid(KAFKA.pid, "kafka.Kafka");
  if (pid === null) {
    log("Kafka: no broker started by this script is running");
    return false;
  }
  log(`Kafka: stopping pid ${pid} (SIGTERM, SIGKILL after ${KAFKA_STOP_TIMEOUT_MS / 1000} s)`);
  const t0 = Date.now();
  await terminate(pid, KAFKA_STOP_TIMEOUT_MS);
  fs.rmSync(KAFKA.pid, { force: true });
  log(`Kafka: stopped in ${secondsSince(t0)} s`);
  return true;
}

/**
 * Marks this process as a user of the local broker until the returned function is called, so a
 * concurrent test run that happened to start the broker does not stop it under this one.
 * @returns {() => void}
 */
export function useKafka() {
  fs.mkdirSync(KAFKA.users, { recursive: true });
  const file = at(KAFKA.users, String(process.pid));
  fs.writeFileSync(file, "");
  return () => fs.rmSync(file, { force: true });
}

/** Like stopKafka(), but leaves the broker up while another live process has called useKafka(). */
export async function stopKafkaUnlessInUse() {
  const others = (fs.existsSync(KAFKA.users) ? fs.readdirSync(KAFKA.users) : []).map(Number).filter((pid) => pid !== process.pid);
  const live = others.filter((pid) => isAlive(pid) || (fs.rmSync(at(KAFKA.users, String(pid)), { force: true }), false));
  if (live.length > 0) {
    log(`Kafka: leaving the broker running: still used by pid ${live.join(", ")}`);
    return false;
  }
  return stopKafka();
}

// ---- Both --------------------------------------------------------------------------------------

/**
 * Redis and Kafka, each used if running and started if not.
 * @returns {Promise<{ redisUrl: string, kafkaBrokers: string[], started: { redis: boolean, kafka: boolean } }>}
 */
export async function ensureServices() {
  const [redis, kafka] = await Promise.all([ensureRedis(), ensureKafka()]);
  return { redisUrl: redis.url, kafkaBrokers: kafka.brokers, started: { redis: redis.started, kafka: kafka.started } };
}

/** Stops what this script started (Kafka broker, Redis); leaves everything else alone. */
export async function stopServices() {
  const kafka = await stopKafka();
  const redis = await stopRedis();
  return { stopped: { kafka, redis } };
}

/** Whether each service answers, where, and its pid when this script started it. */
export async function servicesStatus() {
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const brokers = process.env.KAFKA_BROKERS ? process.env.KAFKA_BROKERS.split(",").map((b) => b.trim()) : DEFAULT_KAFKA_BROKERS;
  const [redisError, kafka] = await Promise.all([pingRedis(redisUrl), describeKafka(brokers)]);
  return {
    redis: { url: redisUrl, answers: redisError === null, error: redisError, pid: ownedPid(REDIS.pid, "redis-server") },
    kafka: {
      brokers,
      answers: kafka.ok,
      error: kafka.ok ? null : kafka.error,
      clusterId: kafka.ok ? kafka.value.clusterId : null,
      pid: ownedPid(KAFKA.pid, "kafka.Kafka"),
    },
  };
}

const USAGE = "usage: node scripts/services.mjs up|down|status [--json] [--brokers 1|3] [--sentinel]\n";

async function main(/** @type {string[]} */ argv) {
  const json = argv.includes("--json");
  const brokersAt = argv.indexOf("--brokers");
  const brokers = brokersAt >= 0 ? Number(argv[brokersAt + 1]) : 1;
  const sentinel = argv.includes("--sentinel");
  const command = argv.find((a, i) => !a.startsWith("--") && !(brokersAt >= 0 && i === brokersAt + 1));
  const print = (/** @type {unknown} */ value, /** @type {string[]} */ human) =>
    process.stdout.write(`${json ? JSON.stringify(value, null, 2) : human.join("\n")}\n`);
  if (brokers !== 1 && brokers !== 3) {
    process.stderr.write(`--brokers must be 1 (the single broker on 9092) or 3 (the cluster mode), got ${argv[brokersAt + 1]}\n${USAGE}`);
    process.exitCode = 2;
  } else if ((brokers === 3 || sentinel) && (command === "up" || command === "down" || command === "status")) {
    // Loaded only here, so the single-node path (and the test setup that imports this file) never loads it.
    const { clusterMain } = await import("./servicesCluster.mjs");
    const result = await clusterMain(command, { brokers: brokers === 3, sentinel });
    print(result.value, result.human);
    process.exitCode = result.exitCode;
  } else if (command === "up") {
    const result = await ensureServices();
    const { redis, kafka } = await servicesStatus();
    const pid = (/** @type {number | null} */ p) => (p === null ? "" : ` (pid ${p})`);
    print(result, [`Redis  ${result.redisUrl}${pid(redis.pid)}`, `Kafka  ${result.kafkaBrokers.join(",")}${pid(kafka.pid)}`]);
  } else if (command === "down") {
    print(await stopServices(), ["done"]);
  } else if (command === "status") {
    const status = await servicesStatus();
    const line = (/** @type {string} */ name, /** @type {string} */ where, /** @type {import("./services.d.mts").ServiceStatus} */ s) =>
      `${name.padEnd(6)} ${where}  ${s.answers ? "answers" : `DOWN (${s.error})`}` +
      `${s.pid !== null ? `  pid ${s.pid} (started by services.mjs)` : s.answers ? "  (not started by services.mjs)" : ""}`;
    print(status, [line("Redis", status.redis.url, status.redis), line("Kafka", status.kafka.brokers.join(","), status.kafka)]);
    process.exitCode = status.redis.answers && status.kafka.answers ? 0 : 1;
  } else {
    process.stderr.write(USAGE);
    process.exitCode = 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error) => {
    log(`ERROR: ${messageOf(error)}`);
    process.exitCode = 1;
  });
}
