/**
 * The fabric of the failover tests, for the worker processes and for the test process (the
 * caller) alike: Kafka with 6 request partitions, Redis state, and short timings so that failover
 * happens within a test — registry heartbeats every 300 ms (a silent replica is gone after 900 ms),
 * idempotency leases of 1500 ms (a dead replica's claim on a call lapses that long after its last
 * renewal), consumer sessions of 3 s (Kafka moves a dead member's partitions after that).
 *
 * Environment (passed explicitly, so the test process need not change its own): KAFKA_BROKERS,
 * REDIS_URL, FABRIC_TOPIC_PREFIX, FABRIC_KEY_PREFIX, FABRIC_SESSION_TIMEOUT_MS (3000).
 */
import { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { signingFromEnv } from "../../../adapters/kafka/signingFromEnv.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { createFabric, type Fabric, type FabricConfig } from "../../../src/fabric.js";
import { createConsoleLogger } from "../../../src/observability/logger.js";
import type {
  CallOptions,
  CallReply,
  OutgoingRequestHeader,
  RequestHandler,
  ServeOptions,
  Transport,
} from "../../../src/transport/Transport.js";

/** Registry heartbeat interval of the failover tests, in ms. */
export const HEARTBEAT_MS = 300;
/** Idempotency lease of the failover tests, in ms. */
export const LEASE_MS = 1500;

/** Caller settings a test adds to {@link behaviourFabric}. */
export interface BehaviourCallerOptions extends Pick<FabricConfig, "balancer" | "resilience" | "logger"> {
  /**
   * Told of every reply as it arrives from the transport, before the fabric reads it: the moment a
   * replica's answer (or failure) reached this caller, which the graph's own result only shows
   * later (and after the breaker has seen it); and which replica answered, which is not always the
   * one the request was sent to (`request.replica`) when Kafka has moved partitions.
   */
  onReply?: (reply: CallReply, request: OutgoingRequestHeader) => void;
}

/** A transport that reports each reply's arrival, otherwise the wrapped one unchanged. */
class ObservedTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly onReply: (reply: CallReply, request: OutgoingRequestHeader) => void,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  get callerId(): string {
    return this.inner.callerId;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  async call(header: OutgoingRequestHeader, payload: Uint8Array, options: CallOptions): Promise<CallReply> {
    const reply = await this.inner.call(header, payload, options);
    this.onReply(reply, header);
    return reply;
  }

  serve(node: string, handler: RequestHandler, options: ServeOptions): ReturnType<Transport["serve"]> {
    return this.inner.serve(node, handler, options);
  }

  publish(channel: string, payload: Uint8Array): Promise<void> {
    return this.inner.publish(channel, payload);
  }

  subscribe(...args: Parameters<Transport["subscribe"]>): ReturnType<Transport["subscribe"]> {
    return this.inner.subscribe(...args);
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}

/** A started fabric on the test's topics and keys; `options` adds caller settings (balancer, resilience). */
export function behaviourFabric(env: Record<string, string | undefined>, options: BehaviourCallerOptions = {}): Promise<Fabric> {
  const { onReply, ...extra } = options;
  const sessionTimeoutMs = Number(env.FABRIC_SESSION_TIMEOUT_MS ?? 3000);
  const logger = extra.logger ?? createConsoleLogger({ level: "error", name: `failover-${process.pid}` });
  const transport = new KafkaTransport({
    ...signingFromEnv(env),
    brokers: (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","),
    topicPrefix: env.FABRIC_TOPIC_PREFIX ?? "lgf-failover",
    requestPartitions: 6,
    replyPartitions: 4,
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(100, Math.floor(sessionTimeoutMs / 6)),
    logger,
  });
  return createFabric({
    transport: onReply ? new ObservedTransport(transport, onReply) : transport,
    state: RedisStateStore.fromUrl(env.REDIS_URL ?? "redis://127.0.0.1:6379", { keyPrefix: env.FABRIC_KEY_PREFIX ?? "lgf-failover" }),
    registryOptions: { heartbeatIntervalMs: HEARTBEAT_MS },
    idempotency: { leaseMs: LEASE_MS },
    drainTimeoutMs: 2000,
    // Other test runs may saturate the machine while a worker starts; a slow first Redis answer
    // must not kill the worker (the default allows 2 s).
    healthCheckTimeoutMs: 15_000,
    ...extra,
    logger,
  });
}
