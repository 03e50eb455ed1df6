// Types for scripts/servicesCluster.mjs (plain JavaScript so it runs without a build), so strict
// TypeScript (the cluster-mode test, the chaos suite) can import it.

/** The number of nodes of the KRaft cluster (each a combined broker + controller). */
export const CLUSTER_SIZE: number;
/** The cluster's bootstrap brokers (`host:port`): 127.0.0.1:29092,29094,29096. */
export const CLUSTER_BROKERS: string[];

/** Pid of cluster node `id` (1-based) when this script started it and it still runs, else null. */
export function clusterNodePid(id: number): number | null;

/** Starts every cluster node not running and waits until all answer; which nodes it started. */
export function ensureKafkaCluster(): Promise<{ brokers: string[]; started: number[]; pids: number[] }>;

/** Restarts cluster node `id` (after a kill); resolves once it answers. */
export function restartClusterNode(id: number): Promise<{ pid: number; startupMs: number }>;

/** SIGKILLs cluster node `id`; resolves with its pid once it is gone (null when it was not running). */
export function killClusterNode(id: number): Promise<number | null>;

/** Stops every cluster node this script started; the ids of the nodes it stopped. */
export function stopKafkaCluster(): Promise<number[]>;

/** Whether the cluster answers, how many brokers it has, and the pid of each node. */
export function kafkaClusterStatus(): Promise<{
  brokers: string[];
  answers: boolean;
  error: string | null;
  clusterId: string | null;
  liveBrokers: number;
  pids: (number | null)[];
}>;

/** The name the Sentinels monitor the primary under. */
export const SENTINEL_MASTER_NAME: string;
/** Port of the Redis that starts as the primary. */
export const REDIS_PRIMARY_PORT: number;
/** Port of the Redis that starts as the replica. */
export const REDIS_REPLICA_PORT: number;
/** Ports of the three Sentinels. */
export const SENTINEL_PORTS: number[];
/** `host:port` of each Sentinel. */
export const SENTINELS: string[];

/** Pid of the Redis process this script started on `port`, or null. */
export function redisPid(port: number): number | null;
/** SIGKILLs the Redis process this script started on `port`; its pid, or null when none ran. */
export function killRedisNode(port: number): Promise<number | null>;
/** Stops (SIGTERM) the Redis process this script started on `port`; whether there was one. */
export function stopRedisNode(port: number): Promise<boolean>;
/** Starts a daemonized redis-server on `port` (optionally a replica of the Redis on port `replicaOf`); its pid. */
export function startRedisNode(options: { port: number; replicaOf?: number }): Promise<number>;
/** The primary's address as the Sentinel on `port` (default: the first) answers it. */
export function sentinelPrimary(port?: number): Promise<{ host: string; port: number } | null>;

/** Starts whatever of the primary, replica and Sentinels is not running and waits until they settle. */
export function ensureRedisSentinel(): Promise<{ sentinels: string[]; name: string; started: string[] }>;
/** Stops the primary, replica and Sentinels this script started; the ports it stopped. */
export function stopRedisSentinel(): Promise<number[]>;
/** Where the Sentinels say the primary is, and the pid of each process (by port). */
export function redisSentinelStatus(): Promise<{
  sentinels: string[];
  name: string;
  answers: boolean;
  error: string | null;
  primary: { host: string; port: number } | null;
  pids: Record<string, number | null>;
}>;

/** `up`, `down` or `status` of the selected cluster-mode services (what services.mjs runs for them). */
export function clusterMain(
  command: "up" | "down" | "status",
  which: { brokers: boolean; sentinel: boolean },
): Promise<{ value: Record<string, unknown>; human: string[]; exitCode: number }>;
