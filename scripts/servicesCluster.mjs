// The cluster mode of scripts/services.mjs: what a production deployment looks like, on loopback.
//
//   node scripts/services.mjs up|down|status --brokers 3 [--sentinel]
//
// - `--brokers 3`: a 3-node KRaft cluster, each node a combined broker + controller (three JVMs,
//   not six: the machine has two cores), from the same Maven jars as the single broker, with
//   default replication factor 3 and min.insync.replicas 2 for every topic, the internal ones
//   (offsets, transactions, share state) included. Clients on 127.0.0.1:29092,29094,29096,
//   controllers on 29093,29095,29097.
// - `--sentinel`: a Redis primary (26380) with one replica (26381) and three Sentinels
//   (26390-26392, quorum 2) watching it under the name `fabric`. Sentinels run as
//   `redis-server <conf> --sentinel` (the Debian package redis-server is installed when missing).
//
// Everything lives under .services/kafka-cluster and .services/redis-sentinel (git-ignored).
// Like the single-node mode, it stops only processes whose pid file it wrote. The chaos suite
// (bench/chaos.ts) imports these functions to start, kill and restart single nodes.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import {
  ensureJars,
  formatAndStart,
  isAlive,
  log,
  ownedPid,
  pingRedis,
  portOpen,
  replicationSettings,
  sleep,
  startKafkaProcess,
  terminate,
  withAdmin,
  withKafkaLock,
} from "./services.mjs";

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1";

// ---- Kafka cluster -----------------------------------------------------------------------------

const CLUSTER_DIR = path.join(ROOT, ".services", "kafka-cluster");
/** Client port of node 1; node i listens on BASE + 2(i-1) and its controller on the port after. */
const CLUSTER_BASE_PORT = 29092;
/** The only cluster size supported: three nodes are the smallest that survive one loss with RF 3 / min ISR 2. */
export const CLUSTER_SIZE = 3;
const REPLICATION_FACTOR = 3;
const MIN_INSYNC_REPLICAS = 2;
/** Per node: three JVMs share two cores and the other users of this machine. */
const CLUSTER_HEAP = "512m";
const KAFKA_STOP_TIMEOUT_MS = 20_000;

const clientPort = (/** @type {number} */ id) => CLUSTER_BASE_PORT + 2 * (id - 1);
const controllerPort = (/** @type {number} */ id) => clientPort(id) + 1;
const NODE_IDS = Array.from({ length: CLUSTER_SIZE }, (_, i) => i + 1);

/** The cluster's bootstrap brokers, `host:port`. */
export const CLUSTER_BROKERS = NODE_IDS.map((id) => `${HOST}:${clientPort(id)}`);

/**
 * The files and settings of cluster node `id` (1-based).
 * @param {number} id
 * @returns {import("./services.mjs").KafkaNode}
 */
export function clusterNode(id) {
  const dir = path.join(CLUSTER_DIR, `node-${id}`);
  return {
    label: `Kafka node ${id}`,
    dir,
    data: path.join(dir, "data"),
    props: path.join(dir, "server.properties"),
    log4j: path.join(dir, "log4j2.properties"),
    serverLog: path.join(dir, "server.log"),
    stdoutLog: path.join(dir, "stdout.log"),
    pid: path.join(dir, "kafka.pid"),
    clusterIdFile: path.join(CLUSTER_DIR, "cluster-id"),
    broker: `${HOST}:${clientPort(id)}`,
    heap: CLUSTER_HEAP,
    settings: {
      "process.roles": "broker,controller",
      "node.id": id,
      "controller.quorum.voters": NODE_IDS.map((n) => `${n}@${HOST}:${controllerPort(n)}`).join(","),
      listeners: `PLAINTEXT://${HOST}:${clientPort(id)},CONTROLLER://${HOST}:${controllerPort(id)}`,
      "advertised.listeners": `PLAINTEXT://${HOST}:${clientPort(id)}`,
      ...replicationSettings(REPLICATION_FACTOR, MIN_INSYNC_REPLICAS),
    },
  };
}

/** Pid of cluster node `id` when this script started it and it still runs, else null. */
export function clusterNodePid(/** @type {number} */ id) {
  return ownedPid(clusterNode(id).pid, "kafka.Kafka");
}

/**
 * Starts every node of the cluster that is not running (all at once: a KRaft node is ready only
 * once a majority of the controllers runs) and waits until each answers.
 * @returns {Promise<{ brokers: string[], started: number[], pids: number[] }>}
 */
export async function ensureKafkaCluster() {
  return withKafkaLock(
    async () => {
      /** @type {number[]} */
      const missing = [];
      for (const id of NODE_IDS) {
        if (clusterNodePid(id) !== null) continue;
        if ((await portOpen(clientPort(id))) || (await portOpen(controllerPort(id))))
          throw new Error(
            `something not started by services.mjs listens on ${HOST}:${clientPort(id)} or :${controllerPort(id)}; free the port`,
          );
        missing.push(id);
      }
      if (missing.length === 0) log(`Kafka cluster: already running at ${CLUSTER_BROKERS.join(",")}`);
      else log(`Kafka cluster: starting node(s) ${missing.join(", ")} (RF ${REPLICATION_FACTOR}, min ISR ${MIN_INSYNC_REPLICAS})`);
      if (missing.length > 0) await ensureJars(); // once: the nodes below would otherwise each run mvn into one folder
      const results = await Promise.allSettled(missing.map((id) => formatAndStart(clusterNode(id))));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) {
        await stopKafkaCluster();
        throw /** @type {PromiseRejectedResult} */ (failed).reason;
      }
      const described = await withAdmin(CLUSTER_BROKERS, (admin) => admin.describeCluster());
      if (!described.ok) throw new Error(`the Kafka cluster does not answer describeCluster: ${described.error}`);
      if (described.value.brokers.length !== CLUSTER_SIZE)
        throw new Error(`the Kafka cluster has ${described.value.brokers.length} live brokers, expected ${CLUSTER_SIZE}`);
      return { brokers: CLUSTER_BROKERS, started: missing, pids: NODE_IDS.map((id) => clusterNodePid(id) ?? 0) };
    },
    path.join(CLUSTER_DIR, "up.lock"),
  );
}

/** Restarts cluster node `id` (after a kill); resolves once it answers. */
export async function restartClusterNode(/** @type {number} */ id) {
  return startKafkaProcess(clusterNode(id));
}

/** SIGKILLs cluster node `id`, as a crash; resolves once it is gone. Returns its pid, or null when it was not running. */
export async function killClusterNode(/** @type {number} */ id) {
  const pid = clusterNodePid(id);
  if (pid === null) return null;
  process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(20);
  return pid;
}

/** Stops every node this script started (SIGTERM, SIGKILL after 20 s); the list of nodes it stopped. */
export async function stopKafkaCluster() {
  /** @type {number[]} */
  const stopped = [];
  await Promise.all(
    NODE_IDS.map(async (id) => {
      const pid = clusterNodePid(id);
      if (pid === null) return;
      log(`Kafka node ${id}: stopping pid ${pid}`);
      await terminate(pid, KAFKA_STOP_TIMEOUT_MS);
      fs.rmSync(clusterNode(id).pid, { force: true });
      stopped.push(id);
    }),
  );
  if (stopped.length === 0) log("Kafka cluster: no node started by this script is running");
  return stopped.sort();
}

/** Whether the cluster answers, how many brokers it has, and the pid of each node. */
export async function kafkaClusterStatus() {
  const described = await withAdmin(CLUSTER_BROKERS, (admin) => admin.describeCluster());
  return {
    brokers: CLUSTER_BROKERS,
    answers: described.ok,
    error: described.ok ? null : described.error,
    clusterId: described.ok ? described.value.clusterId : null,
    liveBrokers: described.ok ? described.value.brokers.length : 0,
    pids: NODE_IDS.map((id) => clusterNodePid(id)),
  };
}

// ---- Redis primary + replica + Sentinels --------------------------------------------------------

const SENTINEL_DIR = path.join(ROOT, ".services", "redis-sentinel");
/** The name the Sentinels monitor the primary under (`REDIS_SENTINEL_NAME`). */
export const SENTINEL_MASTER_NAME = "fabric";
export const REDIS_PRIMARY_PORT = 26380;
export const REDIS_REPLICA_PORT = 26381;
export const SENTINEL_PORTS = [26390, 26391, 26392];
/** `host:port` of each Sentinel (`REDIS_SENTINELS`). */
export const SENTINELS = SENTINEL_PORTS.map((port) => `${HOST}:${port}`);
const SENTINEL_QUORUM = 2;
/** A primary that does not answer for this long is down; Redis's default is 30 s. */
const DOWN_AFTER_MS = 2000;
const FAILOVER_TIMEOUT_MS = 10_000;
const REDIS_READY_TIMEOUT_MS = 30_000;

/** Runs `redis-server` (installing Debian's package first when it is missing). */
async function ensureRedisServerBinary() {
  try {
    await execFileAsync("redis-server", ["--version"]);
    return;
  } catch {
    // not installed
  }
  const root = process.getuid?.() === 0;
  const cmd = root ? "apt-get" : "sudo";
  const prefix = root ? [] : ["-n", "apt-get"];
  log(
    `Redis: redis-server not found; installing Debian's redis-server package (${cmd} ${[...prefix, "install", "-y", "redis-server"].join(" ")})`,
  );
  try {
    await execFileAsync(cmd, [...prefix, "update"], { maxBuffer: 64 * 1024 * 1024 });
    await execFileAsync(cmd, [...prefix, "install", "-y", "--no-install-recommends", "redis-server"], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    throw new Error(
      `could not install redis-server (install Debian's redis-server package yourself): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Files of the Redis data node or Sentinel on `port`: under .services/redis-sentinel/<port>. */
function redisFiles(/** @type {number} */ port) {
  const dir = path.join(SENTINEL_DIR, String(port));
  return { dir, pid: path.join(dir, "redis.pid"), log: path.join(dir, "redis.log"), conf: path.join(dir, "sentinel.conf") };
}

/** Pid of the Redis process (data node or Sentinel) this script started on `port`, or null. */
export function redisPid(/** @type {number} */ port) {
  // A daemonized redis-server retitles itself "redis-server 127.0.0.1:<port>", which /proc shows.
  return ownedPid(redisFiles(port).pid, `:${port}`);
}

/** SIGKILLs the Redis process this script started on `port`, as a crash; its pid, or null when none ran. */
export async function killRedisNode(/** @type {number} */ port) {
  const pid = redisPid(port);
  if (pid === null) return null;
  process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(20);
  return pid;
}

/** Stops (SIGTERM) the Redis process this script started on `port`; whether there was one. */
export async function stopRedisNode(/** @type {number} */ port) {
  const pid = redisPid(port);
  if (pid === null) return false;
  log(`Redis ${port}: stopping pid ${pid}`);
  await terminate(pid, 10_000);
  return true;
}

/** Polls until `fn` resolves truthy or `timeoutMs` passes; throws `what` on timeout. */
async function waitUntil(/** @type {() => Promise<boolean>} */ fn, /** @type {string} */ what, timeoutMs = REDIS_READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** Sends one command to the Redis on `port` with a throwaway connection. */
async function command(/** @type {number} */ port, /** @type {string} */ name, /** @type {string[]} */ ...args) {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.call(name, ...args);
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a daemonized redis-server on `port` (nothing on disk, as the machine's Redis), optionally
 * as a replica of `replicaOf` (a port on 127.0.0.1), and waits until it answers PING. The chaos
 * suite also uses it for its own effect ledger and to bring a killed primary back as a replica.
 * @param {{ port: number, replicaOf?: number }} options
 * @returns {Promise<number>} its pid
 */
export async function startRedisNode({ port, replicaOf }) {
  await ensureRedisServerBinary();
  const files = redisFiles(port);
  fs.mkdirSync(files.dir, { recursive: true });
  const args = ["--daemonize", "yes", "--bind", HOST, "--port", String(port), "--save", "", "--appendonly", "no"];
  args.push("--dir", files.dir, "--logfile", files.log, "--pidfile", files.pid);
  if (replicaOf !== undefined) args.push("--replicaof", HOST, String(replicaOf));
  log(`Redis ${port}: redis-server ${args.join(" ")}`);
  await execFileAsync("redis-server", args);
  await waitUntil(async () => (await pingRedis(`redis://${HOST}:${port}`)) === null, `redis-server on port ${port}`);
  return ownedPid(files.pid, `:${port}`) ?? 0;
}

/** Starts a Sentinel on `port` watching the primary; a fresh config each time (Sentinels rewrite theirs). */
async function startSentinel(/** @type {number} */ port) {
  const files = redisFiles(port);
  fs.mkdirSync(files.dir, { recursive: true });
  const conf = [
    `port ${port}`,
    `bind ${HOST}`,
    "daemonize yes",
    `pidfile ${files.pid}`,
    `logfile ${files.log}`,
    `dir ${files.dir}`,
    `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${REDIS_PRIMARY_PORT} ${SENTINEL_QUORUM}`,
    `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${DOWN_AFTER_MS}`,
    `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
    `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
  ];
  fs.writeFileSync(files.conf, `${conf.join("\n")}\n`);
  log(`Redis sentinel ${port}: redis-server ${files.conf} --sentinel`);
  await execFileAsync("redis-server", [files.conf, "--sentinel"]);
  await waitUntil(async () => (await pingRedis(`redis://${HOST}:${port}`)) === null, `Sentinel on port ${port}`);
}

/**
 * The primary's address as the Sentinel on `port` answers it (`SENTINEL get-master-addr-by-name`).
 * @returns {Promise<{ host: string, port: number } | null>}
 */
export async function sentinelPrimary(port = /** @type {number} */ (SENTINEL_PORTS[0])) {
  const reply = /** @type {unknown} */ (await command(port, "SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER_NAME));
  if (!Array.isArray(reply) || reply.length !== 2) return null;
  return { host: String(reply[0]), port: Number(reply[1]) };
}

/** Flat `[k, v, k, v]` replies as an object. */
function fields(/** @type {unknown} */ reply) {
  /** @type {Record<string, string>} */
  const out = {};
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

/** True once every Sentinel knows the other two and the replica, and the replica is in sync. */
async function sentinelsSettled() {
  for (const port of SENTINEL_PORTS) {
    const master = fields(await command(port, "SENTINEL", "master", SENTINEL_MASTER_NAME));
    if (Number(master["num-other-sentinels"]) < SENTINEL_PORTS.length - 1 || Number(master["num-slaves"]) < 1) return false;
  }
  const primary = await sentinelPrimary();
  if (primary === null) return false;
  const replicaPort = primary.port === REDIS_PRIMARY_PORT ? REDIS_REPLICA_PORT : REDIS_PRIMARY_PORT;
  return String(await command(replicaPort, "INFO", "replication")).includes("master_link_status:up");
}

/**
 * Starts whatever of the primary, replica and Sentinels is not running, and waits until the
 * Sentinels know each other and the replica is in sync.
 * @returns {Promise<{ sentinels: string[], name: string, started: string[] }>}
 */
export async function ensureRedisSentinel() {
  await ensureRedisServerBinary();
  /** @type {string[]} */
  const started = [];
  const current =
    redisPid(REDIS_PRIMARY_PORT) !== null || redisPid(REDIS_REPLICA_PORT) !== null ? await sentinelPrimary().catch(() => null) : null;
  const primaryPort = current?.port ?? REDIS_PRIMARY_PORT;
  for (const port of [REDIS_PRIMARY_PORT, REDIS_REPLICA_PORT]) {
    if (redisPid(port) !== null) continue;
    if (await portOpen(port)) throw new Error(`something not started by services.mjs listens on ${HOST}:${port}; free the port`);
    await startRedisNode({ port, ...(port === primaryPort ? {} : { replicaOf: primaryPort }) });
    started.push(String(port));
  }
  for (const port of SENTINEL_PORTS) {
    if (redisPid(port) !== null) continue;
    if (await portOpen(port)) throw new Error(`something not started by services.mjs listens on ${HOST}:${port}; free the port`);
    await startSentinel(port);
    started.push(String(port));
  }
  await waitUntil(sentinelsSettled, "the Sentinels to find each other and the replica to sync");
  const primary = await sentinelPrimary();
  log(`Redis sentinel: primary ${primary?.host}:${primary?.port} under "${SENTINEL_MASTER_NAME}", Sentinels ${SENTINELS.join(",")}`);
  return { sentinels: SENTINELS, name: SENTINEL_MASTER_NAME, started };
}

/** Stops the primary, replica and Sentinels this script started; the names of those it stopped. */
export async function stopRedisSentinel() {
  /** @type {number[]} */
  const stopped = [];
  for (const port of [...SENTINEL_PORTS, REDIS_REPLICA_PORT, REDIS_PRIMARY_PORT]) if (await stopRedisNode(port)) stopped.push(port);
  if (stopped.length === 0) log("Redis sentinel: nothing started by this script is running");
  return stopped;
}

/** Where the Sentinels say the primary is, and the pid of each process. */
export async function redisSentinelStatus() {
  const primary = await sentinelPrimary().catch((/** @type {unknown} */ e) => (e instanceof Error ? e.message : String(e)));
  return {
    sentinels: SENTINELS,
    name: SENTINEL_MASTER_NAME,
    answers: typeof primary === "object" && primary !== null,
    error: typeof primary === "string" ? primary : primary === null ? `no primary named ${SENTINEL_MASTER_NAME}` : null,
    primary: typeof primary === "object" ? primary : null,
    pids: Object.fromEntries([REDIS_PRIMARY_PORT, REDIS_REPLICA_PORT, ...SENTINEL_PORTS].map((port) => [String(port), redisPid(port)])),
  };
}

// ---- Command line (called by scripts/services.mjs for --brokers 3 / --sentinel) ---------------

/**
 * `up`, `down` or `status` of the cluster-mode services selected by `which`.
 * @param {"up" | "down" | "status"} command
 * @param {{ brokers: boolean, sentinel: boolean }} which
 * @returns {Promise<{ value: Record<string, unknown>, human: string[], exitCode: number }>}
 */
export async function clusterMain(command, which) {
  /** @type {Record<string, unknown>} */
  const value = {};
  /** @type {string[]} */
  const human = [];
  let exitCode = 0;
  if (command === "down") {
    if (which.brokers) value.kafkaCluster = { stopped: await stopKafkaCluster() };
    if (which.sentinel) value.redisSentinel = { stopped: await stopRedisSentinel() };
    return { value, human: ["done"], exitCode };
  }
  if (command === "up") {
    // Both at once: the JVMs take a while to start; the Redis processes hardly any.
    const [kafka, redis] = await Promise.all([
      which.brokers ? ensureKafkaCluster() : undefined,
      which.sentinel ? ensureRedisSentinel() : undefined,
    ]);
    if (kafka) value.kafkaCluster = kafka;
    if (redis) value.redisSentinel = redis;
  }
  if (which.brokers) {
    const status = await kafkaClusterStatus();
    value.kafkaCluster = { .../** @type {object} */ (value.kafkaCluster ?? {}), ...status };
    if (!status.answers) exitCode = 1;
    human.push(
      `Kafka cluster  ${status.brokers.join(",")}  ${status.answers ? `answers (${status.liveBrokers} live brokers)` : `DOWN (${status.error})`}` +
        `  pids ${status.pids.map((p) => p ?? "-").join(",")}`,
      `  KAFKA_BROKERS=${status.brokers.join(",")}`,
    );
  }
  if (which.sentinel) {
    const status = await redisSentinelStatus();
    value.redisSentinel = { .../** @type {object} */ (value.redisSentinel ?? {}), ...status };
    if (!status.answers) exitCode = 1;
    human.push(
      `Redis sentinel ${status.sentinels.join(",")}  ${status.primary ? `primary ${status.primary.host}:${status.primary.port}` : `DOWN (${status.error})`}` +
        `  pids ${Object.entries(status.pids)
          .map(([port, pid]) => `${port}:${pid ?? "-"}`)
          .join(",")}`,
      `  REDIS_SENTINELS=${status.sentinels.join(",")} REDIS_SENTINEL_NAME=${status.name}`,
    );
  }
  return { value, human, exitCode };
}
