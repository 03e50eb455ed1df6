/**
 * `createFabric()` and {@link Fabric}: the wiring of transport, state store and registry, and the
 * three things a user does with them — `distribute` a graph builder (its named nodes call remote
 * replicas), `serve` nodes as replicas from the same graph module, and look at `status()` — plus
 * a graceful `stop()`.
 *
 * With no configuration the fabric is embedded: in-process transport, state and registry, so the
 * same graph runs in one process with no servers (tests, demos, local development). Kafka and Redis
 * come from `langgraph-fabric/kafka` and `langgraph-fabric/redis`
 * (`new KafkaTransport({ brokers })`, `RedisStateStore.fromUrl(url)`); reading `KAFKA_BROKERS` and
 * `REDIS_URL` is their `fromEnv()`'s job, so this core never imports a client library.
 *
 * @module
 */
import { Runnable, RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import { ConfigurationError, FabricStoppedError } from "./errors.js";
import { CallStats, type CallStatsSnapshot } from "./observability/CallStats.js";
import { createConsoleLogger, type Logger } from "./observability/logger.js";
import { distributeBuilder, resolveNodes, type GraphBuilderLike } from "./nodes/distribute.js";
import { IdempotencyStore, type IdempotencyOptions } from "./nodes/IdempotencyStore.js";
import { ReplicaServer, type ServedReplica, type ServedReplicaStatus } from "./nodes/ReplicaServer.js";
import { BalancedPicker, type PickerReplica } from "./balancer/BalancedPicker.js";
import type { Balancer, BalancerName, ReplicaBalanceStats } from "./balancer/Balancer.js";
import { createBalancer, type BalancerSpec } from "./balancer/createBalancer.js";
import { isRetryableErrorData } from "./nodes/errorCodec.js";
import type { CallOutcome } from "./nodes/wireFormat.js";
import { BreakerEventLog, type BreakerEvent } from "./resilience/BreakerEvents.js";
import { FailoverCaller, isBreakerFailure } from "./resilience/FailoverCaller.js";
import { OutlierDetector } from "./resilience/OutlierDetector.js";
import { ReplicaBreakers, type BreakerSnapshot } from "./resilience/ReplicaBreakers.js";
import { SharedBreakerState } from "./resilience/SharedBreakerState.js";
import type { NoticeHandler, ParticipantHandler } from "./negotiation/LocalParticipants.js";
import type { ParticipantChannel, ParticipantMessage, ParticipantNotice } from "./negotiation/ParticipantChannel.js";
import { RemoteParticipants, participantNode, participantNoticeNode } from "./negotiation/RemoteParticipants.js";
import { resolveResilience, type ResilienceOptions } from "./resilience/resilienceOptions.js";
import { RemoteNodeClient } from "./nodes/RemoteNodeClient.js";
import { RemoteNodeRunnable } from "./nodes/RemoteNodeRunnable.js";
import type { Registry, ReplicaInfo } from "./registry/Registry.js";
import { StoreRegistry, type StoreRegistryOptions } from "./registry/StoreRegistry.js";
import { InMemoryStateStore } from "./state/InMemoryStateStore.js";
import type { StateStore } from "./state/StateStore.js";
import { InMemoryTransport } from "./transport/InMemoryTransport.js";
import { FabricSerializer } from "./transport/payloadCodec.js";
import type { Transport } from "./transport/Transport.js";

/** Configuration of {@link createFabric}. Every field is optional: nothing at all is the embedded default. */
export interface FabricConfig {
  /** How node calls travel. Default: an {@link InMemoryTransport} (this process only). */
  transport?: Transport;
  /** Where idempotency records, registry records and coordination state live. Default: an {@link InMemoryStateStore}. */
  state?: StateStore;
  /** Replica registry. Default: a {@link StoreRegistry} over `state`. */
  registry?: Registry;
  /** Options of the default registry (heartbeat interval, expiry). Ignored when `registry` is given. */
  registryOptions?: StoreRegistryOptions;
  /** Where the fabric logs. Default: stderr at `warn` (`FABRIC_LOG_LEVEL` changes it). */
  logger?: Logger;
  /** Longest wait for a remote node's reply, in ms. Default 300 000. */
  callTimeoutMs?: number;
  /** Longest wait for a replica of a node to appear before a call fails with `NoReplicaError`, in ms. Default 10 000. */
  replicaWaitMs?: number;
  /** Longest graceful drain in {@link Fabric.stop}, in ms. Default 30 000. */
  drainTimeoutMs?: number;
  /** Leases and retention of node-call idempotency records. */
  idempotency?: IdempotencyOptions;
  /**
   * How a replica is chosen per call: a strategy name (`"p2c-ewma"`, the default; `"round-robin"`,
   * `"weighted-round-robin"`, `"least-connections"`, `"performance"`, `"resource"`,
   * `"consistent-hash"`), strategy options, or a `Balancer` instance.
   */
  balancer?: BalancerName | BalancerSpec | Balancer<PickerReplica>;
  /** Circuit breakers, outlier detection, failover retry and bulkheads; see {@link ResilienceOptions}. */
  resilience?: ResilienceOptions;
}

/** Options of {@link Fabric.distribute}. */
export interface DistributeOptions {
  /** Nodes of the builder that run on remote replicas; the others stay local. */
  nodes: readonly string[];
}

/** Options of {@link Fabric.serve}. */
export interface ServeNodesOptions {
  /** Nodes of the builder this process serves (one replica each). */
  nodes: readonly string[];
  /** Most calls one replica runs at once. Default 8. */
  concurrency?: number;
  /** Capability tags published with the replicas. */
  capabilities?: readonly string[];
  /** Code version published with the replicas. Default `""`. */
  version?: string;
  /** Traffic weight for weighted balancers. Default 1. */
  weight?: number;
}

/** The replicas started by one {@link Fabric.serve} call. */
export interface ServedNodes {
  /** Replica ids by node. */
  readonly replicas: Readonly<Record<string, string>>;
  /** Stops these replicas gracefully (finish in-flight calls, then leave). */
  stop(): Promise<void>;
}

/** A snapshot of the fabric, for people and dashboards. */
export interface FabricStatus {
  state: "running" | "draining" | "stopped";
  transport: string;
  callerId: string;
  /** Remote calls made by this process, per node. */
  calls: Record<string, CallStatsSnapshot & { pending: number }>;
  /** Replicas served by this process. */
  served: ServedReplicaStatus[];
  /** Every replica the registry knows, per node (including draining ones). */
  replicas: Record<string, ReplicaInfo[]>;
  /** The balancer's figures per node: selections, in flight, latency estimate, errors. */
  balancer: Record<string, ReplicaBalanceStats[]>;
  /** Breakers that are open, half-open or ejected (or were ejected recently). */
  breakers: BreakerSnapshot[];
  /** Recent breaker events (break, half-open, reset, eject, return), oldest first. */
  breakerEvents: BreakerEvent[];
}

const DEFAULTS = {
  drainTimeoutMs: 30_000, // ms
  replicaWaitMs: 10_000, // ms
  concurrency: 8, // calls per replica
};

/** The running fabric of one process. Create it with {@link createFabric}. */
export class Fabric {
  readonly transport: Transport;
  readonly state: StateStore;
  readonly registry: Registry;
  readonly logger: Logger;
  private readonly client: RemoteNodeClient;
  private readonly picker: BalancedPicker;
  private readonly breakers: ReplicaBreakers;
  private readonly outliers: OutlierDetector;
  private readonly sharedBreakers: SharedBreakerState | undefined;
  private readonly breakerEvents = new BreakerEventLog();
  private readonly removedListeners = new Map<string, Set<(replicaId: string) => void>>();
  private readonly registryWatches: (() => void)[] = [];
  private readonly idempotency: IdempotencyStore;
  private readonly serde = new FabricSerializer();
  private readonly drainTimeoutMs: number;
  private readonly ownsState: boolean;
  private readonly server: ReplicaServer;
  private readonly callStats = new Map<string, CallStats>();
  private lifecycle: FabricStatus["state"] = "running";

  /** Prefer {@link createFabric}, which also starts the fabric. @throws RangeError or ConfigurationError for bad options. */
  constructor(config: FabricConfig = {}) {
    this.logger = config.logger ?? createConsoleLogger({ name: "fabric" });
    this.ownsState = config.state === undefined;
    this.state = config.state ?? new InMemoryStateStore();
    this.transport = config.transport ?? new InMemoryTransport({ logger: this.logger });
    this.registry = config.registry ?? new StoreRegistry(this.state, config.registryOptions);
    this.drainTimeoutMs = config.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs;
    if (!Number.isInteger(this.drainTimeoutMs) || this.drainTimeoutMs < 0) {
      throw new RangeError(`drainTimeoutMs must be a non-negative integer of milliseconds (got ${this.drainTimeoutMs})`);
    }
    this.idempotency = new IdempotencyStore(this.state.namespace("calls"), this.logger, config.idempotency);
    this.server = new ReplicaServer({
      transport: this.transport,
      registry: this.registry,
      idempotency: this.idempotency,
      serde: this.serde,
      logger: this.logger,
    });
    const resilience = resolveResilience(config.resilience);
    this.breakers = new ReplicaBreakers(resilience, this.breakerEvents, isBreakerFailure);
    this.outliers = new OutlierDetector(resilience.outlier, this.breakers);
    if (resilience.shared) {
      this.sharedBreakers = new SharedBreakerState({
        store: this.state,
        callerId: this.transport.callerId,
        logger: this.logger,
        halfOpenInitialMs: resilience.halfOpenInitialMs,
        halfOpenMaxMs: resilience.halfOpenMaxMs,
        replicaIds: (node) => this.registry.replicas(node, { includeDraining: true }).map((r) => r.replicaId),
        onRemoteChange: (node, replicaId, record) => {
          if (record === undefined) this.breakers.resetLocal(node, replicaId);
          this.breakerEvents.emit({
            at: Date.now(),
            node,
            replicaId,
            type: record ? "break" : "reset",
            reason: record ? `opened by ${record.by}` : "closed by another caller",
            shared: true,
          });
        },
      });
      this.breakers.shared = this.sharedBreakers;
    }
    this.picker = new BalancedPicker({
      balancer: isBalancer(config.balancer) ? config.balancer : createBalancer<PickerReplica>(config.balancer),
      exclude: (node, count) => {
        this.sharedBreakers?.track(node);
        return this.breakers.exclusions(node, count);
      },
    });
    const replicaWaitMs = config.replicaWaitMs ?? DEFAULTS.replicaWaitMs;
    if (!Number.isInteger(replicaWaitMs) || replicaWaitMs <= 0) {
      throw new RangeError(`replicaWaitMs must be a positive integer of milliseconds (got ${replicaWaitMs})`);
    }
    const failover = new FailoverCaller<CallOutcome>({
      transport: this.transport,
      picker: this.picker,
      breakers: this.breakers,
      outliers: this.outliers,
      options: resilience,
      logger: this.logger,
      replicas: (node) => this.registry.replicas(node),
      onReplicaRemoved: (node, listener) => this.onReplicaRemoved(node, listener),
      decode: async (reply) => (await this.serde.loadsTyped(reply.header.payloadType, reply.payload)) as CallOutcome,
      isFailedOutcome: (outcome) => resilience.countNodeErrors && outcome.kind === "error" && isRetryableErrorData(outcome.error),
      replicaWaitMs,
    });
    this.client = new RemoteNodeClient({
      failover,
      serde: this.serde,
      logger: this.logger,
      ...(config.callTimeoutMs !== undefined ? { callTimeoutMs: config.callTimeoutMs } : {}),
      onCallDone: (node, _replica, ms, outcome) => this.statsOf(node).record(ms, outcome === "failed" || outcome === "error"),
    });
    if (config.transport === undefined && process.env.KAFKA_BROKERS) {
      this.logger.info("KAFKA_BROKERS is set but no transport was given: using the in-memory transport (pass KafkaTransport.fromEnv())");
    }
  }

  /** Connects the transport and loads the registry. Called by {@link createFabric}. */
  async start(): Promise<void> {
    await this.transport.start();
    await this.registry.start();
    await this.sharedBreakers?.start();
    this.outliers.start();
  }

  /** Tells `listener` when a replica of `node` leaves the registry (one registry watch per node). */
  private onReplicaRemoved(node: string, listener: (replicaId: string) => void): () => void {
    let listeners = this.removedListeners.get(node);
    if (listeners === undefined) {
      const set = new Set<(replicaId: string) => void>();
      listeners = set;
      this.removedListeners.set(node, set);
      this.registryWatches.push(
        this.registry.watch(node, (event) => {
          if (event.type !== "removed") return;
          this.breakers.forget(node, new Set(this.registry.replicas(node, { includeDraining: true }).map((r) => r.replicaId)));
          for (const l of set) l(event.replica.replicaId);
        }),
      );
    }
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /**
   * A copy of `builder` whose `nodes` call remote replicas, with every node option kept. Compile
   * it as usual (`.compile({ checkpointer })`).
   *
   * @throws UnknownNodeError for a name the builder does not have.
   */
  distribute<B extends object>(builder: B, options: DistributeOptions): B {
    this.assertRunning("distribute");
    return distributeBuilder(builder as B & GraphBuilderLike, options.nodes, (name) => this.remoteNode(name));
  }

  /** A runnable that calls remote replicas of `node` (use it as a node by hand: `addNode("x", fabric.remoteNode("x"))`). */
  remoteNode(node: string): Runnable {
    if (typeof node !== "string" || node.length === 0)
      throw new RangeError(`node must be a non-empty string (got ${JSON.stringify(node)})`);
    return new RemoteNodeRunnable(node, this);
  }

  /** Runs `node` on a remote replica as LangGraph's task would run it locally (what remote node runnables call). */
  callNode(node: string, input: unknown, config: RunnableConfig): Promise<unknown> {
    return this.client.call(node, input, config);
  }

  /**
   * Serves `options.nodes` of `builder` from this process: one replica per node, registered in the
   * registry, until {@link stop} (or the returned handle's `stop`). `builder` may also be a map of
   * node functions or runnables (`{ momentum: momentumAgent }`), for nodes wrapped with `remoteNode`.
   *
   * @throws UnknownNodeError for a name the builder does not have.
   */
  async serve(builder: object, options: ServeNodesOptions): Promise<ServedNodes> {
    this.assertRunning("serve");
    const concurrency = options.concurrency ?? DEFAULTS.concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a positive integer (got ${concurrency})`);
    const specs = resolveNodes(asBuilder(builder), options.nodes, "serve");
    const started: ServedReplica[] = [];
    try {
      for (const [i, spec] of specs.entries()) {
        started.push(await this.server.start(options.nodes[i] ?? "", spec.runnable, concurrency, options));
      }
    } catch (e) {
      await Promise.allSettled(started.map((r) => this.server.stop(r, this.drainTimeoutMs)));
      throw e;
    }
    return {
      replicas: Object.fromEntries(started.map((r) => [r.node, r.replicaId])),
      stop: async () => {
        await Promise.all(started.map((r) => this.server.stop(r, this.drainTimeoutMs)));
      },
    };
  }

  /**
   * Serves negotiation participants from this process: each handler answers the proposals of
   * sessions it takes part in, as a replica reachable from any process through
   * {@link Fabric.participants}. `onNotice` receives contract-net awards and rejections.
   */
  async serveParticipants(
    handlers: Readonly<Record<string, ParticipantHandler>>,
    options: { concurrency?: number; onNotice?: NoticeHandler } = {},
  ): Promise<ServedNodes> {
    const nodes: Record<string, Runnable> = {};
    for (const [participant, handler] of Object.entries(handlers)) {
      nodes[participantNode(participant)] = RunnableLambda.from((message: ParticipantMessage, config?: RunnableConfig) =>
        handler({ ...message, participant }, config?.signal ?? new AbortController().signal),
      );
      nodes[participantNoticeNode(participant)] = RunnableLambda.from(async (notice: ParticipantNotice) => {
        await options.onNotice?.(participant, notice);
        return null;
      });
    }
    return this.serve(nodes, {
      nodes: Object.keys(nodes),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    });
  }

  /** A participant channel whose participants are served (by any process) with {@link Fabric.serveParticipants}. */
  participants(): ParticipantChannel {
    return new RemoteParticipants(this);
  }

  /** A snapshot of calls, served replicas and the registry's view. */
  status(): FabricStatus {
    const replicas: Record<string, ReplicaInfo[]> = {};
    if (this.lifecycle !== "stopped") {
      for (const node of this.registry.nodes()) replicas[node] = this.registry.replicas(node, { includeDraining: true });
    }
    return {
      state: this.lifecycle,
      transport: this.transport.kind,
      callerId: this.transport.callerId,
      calls: Object.fromEntries([...this.callStats].map(([node, s]) => [node, { ...s.snapshot(), pending: 0 }])),
      served: this.server.status(),
      replicas,
      balancer: Object.fromEntries([...this.callStats.keys()].map((node) => [node, this.picker.stats(node)])),
      breakers: this.breakers.snapshot(),
      breakerEvents: this.breakerEvents.recent(50),
    };
  }

  /** Listens to breaker events (break, half-open, reset, eject, return); returns a function that stops. */
  onBreakerEvent(listener: (event: BreakerEvent) => void): () => void {
    return this.breakerEvents.listen(listener);
  }

  /**
   * Stops gracefully: new calls and new requests are refused at once (with `FabricStoppedError`),
   * calls in flight and requests being served finish (for at most `drainTimeoutMs`), replicas
   * leave the registry, then the transport and registry stop. Idempotent.
   */
  async stop(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.lifecycle !== "running") return;
    this.lifecycle = "draining";
    const timeout = options.drainTimeoutMs ?? this.drainTimeoutMs;
    await Promise.all([this.client.drain(timeout), this.server.stopAll(timeout)]);
    this.outliers.stop();
    this.breakers.dispose();
    await this.sharedBreakers?.stop();
    for (const unwatch of this.registryWatches.splice(0)) unwatch();
    await this.transport.stop();
    await this.registry.stop();
    if (this.ownsState) await this.state.close();
    this.lifecycle = "stopped";
  }

  private statsOf(node: string): CallStats {
    let s = this.callStats.get(node);
    if (!s) {
      s = new CallStats();
      this.callStats.set(node, s);
    }
    return s;
  }

  private assertRunning(what: string): void {
    if (this.lifecycle !== "running") throw new FabricStoppedError(what);
  }
}

/** Creates and starts a fabric. `createFabric()` with no arguments is the embedded default. */
export async function createFabric(config: FabricConfig = {}): Promise<Fabric> {
  if (typeof config !== "object") throw new ConfigurationError("createFabric expects an options object");
  const fabric = new Fabric(config);
  await fabric.start();
  return fabric;
}

/** Options of {@link remoteNode}. */
export interface RemoteNodeOptions {
  /** The fabric whose replicas serve the node (or a promise of it, e.g. `createFabric(…)` not yet awaited). */
  fabric: Fabric | Promise<Fabric>;
}

/**
 * Wraps one node by hand: `builder.addNode("momentum", remoteNode("momentum", { fabric }))`. The
 * worker processes serve the real function under the same name (`fabric.serve({ momentum: fn }, …)`).
 */
export function remoteNode(node: string, options: RemoteNodeOptions): Runnable {
  if (typeof node !== "string" || node.length === 0) throw new RangeError(`node must be a non-empty string (got ${JSON.stringify(node)})`);
  const { fabric } = options;
  return new RemoteNodeRunnable(node, fabric instanceof Fabric ? fabric : Promise.resolve(fabric));
}

function isBalancer(value: unknown): value is Balancer<PickerReplica> {
  return typeof value === "object" && value !== null && typeof (value as Partial<Balancer>).select === "function";
}

/** Accepts a graph builder, or a map of node functions/runnables, as a builder-like object. */
function asBuilder(builder: object): GraphBuilderLike {
  const nodes = (builder as Partial<GraphBuilderLike>).nodes;
  if (nodes && typeof nodes === "object") return builder as GraphBuilderLike;
  return {
    nodes: Object.fromEntries(
      Object.entries(builder).map(([name, fn]) => [
        name,
        { runnable: Runnable.isRunnable(fn) ? fn : RunnableLambda.from(fn as (input: unknown) => unknown) },
      ]),
    ),
  };
}
