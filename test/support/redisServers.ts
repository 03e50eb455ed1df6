// Private redis-server processes for tests that must restart, kill, configure or cluster Redis.
// The machine's Redis on 6379 is shared by everything else, so such tests never touch it; they
// start their own servers on spare loopback ports here and stop them afterwards.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import { isMainThread } from "node:worker_threads";
import { Redis } from "ioredis";

const execFileAsync = promisify(execFile);

const HOST = "127.0.0.1";
// 17000-19999 keeps clear of common services; a cluster bus port is port + 10000 (27000-29999).
const PORT_MIN = 17_000;
const PORT_SPAN = 3_000;
const CLUSTER_BUS_OFFSET = 10_000;
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const CLUSTER_OK_TIMEOUT_MS = 30_000;

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port to use; default: a free one in 17000-19999 (another one is tried if it is taken). */
  port?: number;
  /** Extra redis-server arguments, after the defaults so they override them (e.g. `["--appendonly", "yes"]`). */
  args?: string[];
  /** Serve TLS only: `port` becomes the `tls-port` (the plaintext port is off) with this certificate. */
  tls?: RedisServerTls;
}

/** Certificate files of a TLS-only server (see test/support/testCertificates.ts). */
export interface RedisServerTls {
  certFile: string;
  keyFile: string;
  /** CA of client certificates; clients need none (`tls-auth-clients no`), and the ready check trusts it. */
  caFile: string;
}

/** A redis-server process owned by the test that started it. */
export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (`rediss://` for a TLS server). */
  readonly url: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** Its own temporary `--dir` (AOF/RDB files, log), kept across restarts. */
  readonly dir: string;
  /** SIGTERM and wait for exit (SIGKILL after 10 s); `restart()` can bring it back. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: nothing is flushed. */
  kill(): Promise<void>;
  /** Stops it if running, then starts it again on the same port with the same dir and arguments. */
  restart(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Number of master nodes, at least 3 (redis-cli's minimum); default 3. */
  masters?: number;
}

/** A Redis Cluster of private servers with every slot assigned. */
export interface RedisClusterHandle {
  /** Addresses of the nodes, to seed an ioredis `Cluster`. */
  readonly nodes: { host: string; port: number }[];
  /** The node processes, to kill or restart one. */
  readonly servers: RedisServerHandle[];
  /** Stops every node. */
  stop(): Promise<void>;
}

// Servers a test left behind (it forgot stop() or failed midway) must not outlive it. vitest ends
// its workers with SIGTERM, which skips "exit" handlers, so both are hooked; a process killed
// outright is swept by the next one: its pid is in each temp dir's name, the server's in redis.pid.
const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const reservedPorts = new Set<number>();
let hooksInstalled = false;

function cleanup(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
  // maxRetries: a dying server may still be writing into its dir.
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function sweepOrphans(): void {
  for (const name of readdirSync(os.tmpdir())) {
    const owner = Number(/^fabric-redis-(\d+)-/.exec(name)?.[1]);
    if (!(owner > 0) || existsSync(`/proc/${owner}`)) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      const pid = Number.parseInt(readFileSync(path.join(dir, "redis.pid"), "utf8"), 10);
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("redis-server")) process.kill(pid, "SIGKILL");
    } catch {
      // no server left
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  sweepOrphans();
  process.once("exit", cleanup);
  // Signals reach only the main thread; after cleaning up, re-raise so the default action (exit) runs.
  if (isMainThread) {
    process.once("SIGTERM", () => {
      cleanup();
      process.kill(process.pid, "SIGTERM");
    });
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port free now (and its bus port, for cluster nodes), not yet handed out by this process. */
async function freePort(withBusPort: boolean): Promise<number> {
  // A random start spreads concurrent test processes over the range instead of racing for one port.
  const start = Math.floor(Math.random() * PORT_SPAN);
  for (let i = 0; i < PORT_SPAN; i++) {
    const port = PORT_MIN + ((start + i) % PORT_SPAN);
    if (reservedPorts.has(port)) continue;
    if (!(await canListen(port))) continue;
    if (withBusPort && !(await canListen(port + CLUSTER_BUS_OFFSET))) continue;
    reservedPorts.add(port);
    return port;
  }
  throw new Error(`no free port in ${PORT_MIN}-${PORT_MIN + PORT_SPAN - 1}`);
}

/** Resolves true once the server answers PING (NOAUTH counts: it is up, just password-protected). */
function pingOnce(port: number, tls?: RedisServerTls): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      tls === undefined
        ? net.connect({ host: HOST, port })
        : tlsConnect({ host: HOST, port, ca: readFileSync(tls.caFile), servername: "localhost" });
    let reply = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once(tls === undefined ? "connect" : "secureConnect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("utf8");
      // -LOADING (AOF/RDB still loading) means not ready yet.
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class ManagedRedisServer implements RedisServerHandle {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private readonly logFile: string;

  constructor(
    readonly dir: string,
    public port: number,
    private readonly argsFor: (port: number, dir: string) => string[],
    /** Arguments before the defaults: a config file must come first (Sentinel's does). */
    private readonly leadingArgsFor: (port: number, dir: string) => string[] = () => [],
    private readonly tls?: RedisServerTls,
  ) {
    this.logFile = path.join(dir, "redis.log");
  }

  get url(): string {
    return `${this.tls === undefined ? "redis" : "rediss"}://${HOST}:${this.port}`;
  }

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error(`redis-server on port ${this.port} is not running`);
    return this.child.pid;
  }

  /** Spawns on `port`; resolves once it answers PING, rejects (with its log) if it exits first. */
  async spawnOn(port: number): Promise<void> {
    this.port = port;
    const listen =
      this.tls === undefined
        ? ["--port", String(port)]
        : [
            "--port",
            "0",
            "--tls-port",
            String(port),
            "--tls-cert-file",
            this.tls.certFile,
            "--tls-key-file",
            this.tls.keyFile,
            "--tls-ca-cert-file",
            this.tls.caFile,
            "--tls-auth-clients",
            "no",
          ];
    const args = [
      ...this.leadingArgsFor(port, this.dir),
      ...listen,
      "--bind",
      HOST,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
      "--pidfile",
      path.join(this.dir, "redis.pid"),
      ...this.argsFor(port, this.dir),
    ];
    // Output to a file rather than a pipe: an unread pipe can block the server, and a file survives for post-mortems.
    const out = openSync(this.logFile, "a");
    const child = spawn("redis-server", args, { stdio: ["ignore", out, out] });
    closeSync(out);
    // Unref'd so a forgotten server does not keep the test process alive; the exit hook kills it.
    child.unref();
    this.child = child;
    liveChildren.add(child);
    let exitReason: string | undefined;
    this.exited = new Promise((resolve) => {
      const gone = (reason: string): void => {
        exitReason ??= reason;
        liveChildren.delete(child);
        resolve();
      };
      child.once("error", (error) => gone(`could not run redis-server: ${error.message}`));
      child.once("exit", (code, signal) => gone(`redis-server exited with ${signal ?? `code ${code}`}`));
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && exitReason === undefined) {
      if (await pingOnce(port, this.tls)) return;
      await sleep(50);
    }
    if (exitReason === undefined) await this.signalAndWait("SIGKILL", STOP_TIMEOUT_MS);
    throw new Error(`${exitReason ?? `redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`}\n${this.logTail()}`);
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-20).join("\n");
    } catch {
      return "";
    }
  }

  private async signalAndWait(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), timeoutMs).unref());
    if ((await Promise.race([this.exited, timer])) === "timeout") {
      child.kill("SIGKILL");
      await this.exited;
    }
  }

  stop = (): Promise<void> => this.signalAndWait("SIGTERM", STOP_TIMEOUT_MS);
  kill = (): Promise<void> => this.signalAndWait("SIGKILL", STOP_TIMEOUT_MS);

  async restart(): Promise<void> {
    await this.stop();
    await this.spawnOn(this.port);
  }
}

async function launch(
  options: RedisServerOptions,
  cluster: boolean,
  argsFor: (port: number, dir: string) => string[],
  leadingArgsFor?: (port: number, dir: string) => string[],
): Promise<ManagedRedisServer> {
  installHooks();
  const dir = mkdtempSync(path.join(os.tmpdir(), `fabric-redis-${process.pid}-`));
  tempDirs.add(dir);
  const extra = options.args ?? [];
  const server = new ManagedRedisServer(dir, 0, (port, d) => [...argsFor(port, d), ...extra], leadingArgsFor, options.tls);
  // A free port can be taken between the check and redis-server's bind: try a few others then.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort(cluster));
    try {
      await server.spawnOn(port);
      return server;
    } catch (error) {
      const portTaken = error instanceof Error && /Address already in use/i.test(error.message);
      if (options.port !== undefined || !portTaken || attempt >= 5) throw error;
    }
  }
}

/**
 * Starts a private redis-server (no persistence unless `args` say so) and waits until it answers.
 * Stop it in `afterAll`/`afterEach`; leftovers are killed when the test process exits.
 */
export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  return launch(options, false, () => []);
}

/** One command on a fresh connection, without retries; `undefined` when the server does not answer. */
async function askOnce(port: number, command: string, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined); // the rejected command carries the error
  try {
    await client.connect();
    return await client.call(command, ...args);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function clusterInfo(port: number): Promise<string> {
  const info = await askOnce(port, "CLUSTER", "INFO");
  return typeof info === "string" ? info : "";
}

/**
 * Starts `masters` cluster-enabled servers, assigns every slot with `redis-cli --cluster create`
 * and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) throw new RangeError(`masters must be an integer >= 3, got ${masters}`);
  const servers: ManagedRedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      // The node keeps its identity and slots in nodes-P.conf, so restart() rejoins the cluster.
      const clusterArgs = (port: number, dir: string): string[] => [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        path.join(dir, `nodes-${port}.conf`),
        "--cluster-node-timeout",
        "5000",
      ];
      servers.push(await launch({}, true, clusterArgs));
    }
    const addresses = servers.map((s) => `${HOST}:${s.port}`);
    await execFileAsync("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], {
      timeout: 30_000,
    });
    const deadline = Date.now() + CLUSTER_OK_TIMEOUT_MS;
    for (;;) {
      const infos = await Promise.all(servers.map((s) => clusterInfo(s.port)));
      if (infos.every((info) => info.includes("cluster_state:ok"))) break;
      if (Date.now() > deadline) throw new Error(`cluster did not reach cluster_state:ok within ${CLUSTER_OK_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: servers.map((s) => ({ host: HOST, port: s.port })), servers, stop };
}

/** Options of {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** Name the sentinels monitor the master under (the `name` of an ioredis Sentinel connection); default `"fabric-master"`. */
  name?: string;
  /** Number of replicas of the master, at least 1 (a failover needs one); default 1. */
  replicas?: number;
  /** Number of sentinel processes, at least 1; default 1. The quorum is a majority of them. */
  sentinels?: number;
  /** `down-after-milliseconds`: how long the master may be silent before it counts as down, in ms; default 1000. */
  downAfterMs?: number;
  /** `failover-timeout`, in ms; default 5000. */
  failoverTimeoutMs?: number;
}

/** A master, its replicas and the sentinels that monitor them: all private servers. */
export interface RedisSentinelHandle {
  /** The name the master is monitored under. */
  readonly name: string;
  /** Sentinel addresses, for a `{ sentinels, name }` connection. */
  readonly sentinels: { host: string; port: number }[];
  /** The data servers: the initial master first, then its replicas. */
  readonly servers: RedisServerHandle[];
  /** The sentinel processes. */
  readonly sentinelServers: RedisServerHandle[];
  /** The master's address as the sentinels report it now. */
  masterAddress(): Promise<{ host: string; port: number }>;
  /** Waits until every online replica has everything the current master has written so far. */
  waitForReplication(timeoutMs?: number): Promise<void>;
  /** Waits until the sentinels report, and the server confirms, a master other than the one on `oldPort`. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<RedisServerHandle>;
  /** Stops the sentinels, then every data server. */
  stop(): Promise<void>;
}

const SENTINEL_READY_TIMEOUT_MS = 15_000;

/** Polls `probe` every 100 ms until it returns a value, or throws naming `what` after `timeoutMs`. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** `INFO replication` as a map of its `field:value` lines. */
async function replicationInfo(port: number): Promise<Map<string, string> | undefined> {
  const info = await askOnce(port, "INFO", "replication");
  if (typeof info !== "string") return undefined;
  const lines = info.split("\r\n").filter((line) => line.includes(":"));
  return new Map(lines.map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]));
}

/** A Sentinel reply of flat `[field, value, …]` arrays as records. */
function sentinelRecords(reply: unknown): Record<string, string>[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((flat: string[]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1] ?? ""]] : []))));
}

/**
 * Starts a master, `replicas` replicas (`--replicaof`) and `sentinels` sentinels
 * (`redis-server <conf> --sentinel`) monitoring it, and waits until replication is up and every
 * sentinel sees every replica (and, with several, each other), so a failover can start at once.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const name = options.name ?? "fabric-master";
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 1;
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 5000;
  for (const [field, value] of Object.entries({ replicas: replicaCount, sentinels: sentinelCount, downAfterMs, failoverTimeoutMs })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer, got ${value}`);
  }
  const servers: ManagedRedisServer[] = [];
  const sentinelServers: ManagedRedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(sentinelServers.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  const masterAddress = async (): Promise<{ host: string; port: number }> => {
    for (const sentinel of sentinelServers) {
      const reply = await askOnce(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name);
      if (Array.isArray(reply) && reply.length === 2) return { host: String(reply[0]), port: Number(reply[1]) };
    }
    throw new Error(`no sentinel reports a master named ${name}`);
  };
  try {
    const master = await launch({}, false, () => []);
    servers.push(master);
    for (let i = 0; i < replicaCount; i++) servers.push(await launch({}, false, () => ["--replicaof", HOST, String(master.port)]));
    for (const replica of servers.slice(1)) {
      await waitFor(`replica ${replica.port} to sync`, SENTINEL_READY_TIMEOUT_MS, async () =>
        (await replicationInfo(replica.port))?.get("master_link_status") === "up" ? true : undefined,
      );
    }
    // Sentinel rewrites its config file, so each sentinel gets its own, written once (kept on restart).
    const sentinelConfig = (_port: number, dir: string): string[] => {
      const file = path.join(dir, "sentinel.conf");
      if (!existsSync(file)) {
        const quorum = Math.floor(sentinelCount / 2) + 1;
        writeFileSync(
          file,
          [
            `sentinel monitor ${name} ${HOST} ${master.port} ${quorum}`,
            `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
            `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
            "",
          ].join("\n"),
        );
      }
      return [file, "--sentinel"];
    };
    for (let i = 0; i < sentinelCount; i++) sentinelServers.push(await launch({}, false, () => [], sentinelConfig));
    const replicaPorts = servers.slice(1).map((s) => String(s.port));
    for (const sentinel of sentinelServers) {
      await waitFor(`sentinel ${sentinel.port} to see the replicas and its peers`, SENTINEL_READY_TIMEOUT_MS, async () => {
        const replicas = sentinelRecords(await askOnce(sentinel.port, "SENTINEL", "REPLICAS", name));
        const ready = replicas.filter((r) => r.flags === "slave" && r["master-link-status"] === "ok").map((r) => r.port);
        const peers = sentinelRecords(await askOnce(sentinel.port, "SENTINEL", "SENTINELS", name));
        return replicaPorts.every((p) => ready.includes(p)) && peers.length === sentinelCount - 1 ? true : undefined;
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name,
    sentinels: sentinelServers.map((s) => ({ host: HOST, port: s.port })),
    servers,
    sentinelServers,
    masterAddress,
    async waitForReplication(timeoutMs = SENTINEL_READY_TIMEOUT_MS): Promise<void> {
      const { port } = await masterAddress();
      const target = Number((await replicationInfo(port))?.get("master_repl_offset"));
      if (!Number.isFinite(target)) throw new Error(`master ${port} does not answer INFO replication`);
      await waitFor(`replicas to reach offset ${target}`, timeoutMs, async () => {
        const info = await replicationInfo(port);
        const offsets = [...(info?.entries() ?? [])]
          .filter(([field, value]) => /^slave\d+$/.test(field) && value.includes("state=online"))
          .map(([, value]) => Number(/offset=(\d+)/.exec(value)?.[1]));
        return offsets.length > 0 && offsets.every((offset) => offset >= target) ? true : undefined;
      });
    },
    async waitForFailover(oldPort: number, timeoutMs = 30_000): Promise<RedisServerHandle> {
      return waitFor(`a failover away from port ${oldPort}`, timeoutMs, async () => {
        const { port } = await masterAddress();
        if (port === oldPort || (await replicationInfo(port))?.get("role") !== "master") return undefined;
        return servers.find((s) => s.port === port);
      });
    },
    stop,
  };
}
