// Types for scripts/services.mjs (plain JavaScript so it runs without a build), so strict
// TypeScript (the vitest global setup, benchmarks) can import it.

/** What `ensureServices()` found or started. */
export interface EnsuredServices {
  /** Redis to use: `REDIS_URL` when set, else `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** Kafka bootstrap brokers (`host:port`): `KAFKA_BROKERS` split on commas, else `127.0.0.1:9092`. */
  kafkaBrokers: string[];
  /** Which servers this call started (false when they were already running or came from the environment). */
  started: { redis: boolean; kafka: boolean };
}

/** Checks `REDIS_URL`, or uses/starts Redis on 127.0.0.1:6379. Throws when it cannot answer PING. */
export function ensureRedis(): Promise<{ url: string; started: boolean }>;

/** Checks `KAFKA_BROKERS`, or uses/starts a single-node KRaft broker on 127.0.0.1:9092. Throws when it cannot answer. */
export function ensureKafka(): Promise<{ brokers: string[]; started: boolean; pid: number | null; startupMs?: number }>;

/** Redis and Kafka, each used if running and started if not. */
export function ensureServices(): Promise<EnsuredServices>;

/** Stops the broker this script started (pid file); resolves to whether there was one. */
export function stopKafka(): Promise<boolean>;

/** Marks this process as a user of the local broker until the returned function is called. */
export function useKafka(): () => void;

/** Like `stopKafka()`, but leaves the broker up while another live process has called `useKafka()`. */
export function stopKafkaUnlessInUse(): Promise<boolean>;

/** Stops what this script started (Kafka, and Redis only if it started it). */
export function stopServices(): Promise<{ stopped: { kafka: boolean; redis: boolean } }>;

/** Status of one service; `pid` is set only when this script started it. */
export interface ServiceStatus {
  answers: boolean;
  error: string | null;
  pid: number | null;
}

/** Whether each service answers, where, and its pid when this script started it. */
export function servicesStatus(): Promise<{
  redis: ServiceStatus & { url: string };
  kafka: ServiceStatus & { brokers: string[]; clusterId: string | null };
}>;

/** The Java classpath (`<dir>/*`) of the Kafka broker jars, fetched with mvn when missing. */
export function kafkaClasspath(): Promise<string>;

/**
 * Polls `brokers` (plaintext) until they answer describeCluster and the group coordinator is
 * loaded; `gone` says why the broker can no longer come up (or null while it may).
 */
export function waitForKafka(
  brokers: string[],
  gone: () => string | null,
): Promise<{ ready: true; clusterId: string } | { ready: false; reason: string }>;
