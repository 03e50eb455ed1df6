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
 * `REDIS_URL` is `createFabricFromEnv()`'s job (in `langgraph-fabric/kafka`), so this core never
 * imports a client library.
 *
 * @module
 */
import { Runnable, RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { ConfigurationError, FabricStoppedError } from "./errors.js";
import type { CallStatsSnapshot } from "./observability/CallStats.js";
import { createConsoleLogger, type Logger } from "./observability/logger.js";
import { distributeBuilder, resolveNodes, type GraphBuilderLike } from "./nodes/distribute.js";
import { IdempotencyStore, type IdempotencyOptions } from "./nodes/IdempotencyStore.js";
import { ReplicaServer, type ServedReplicaStatus } from "./nodes/ReplicaServer.js";
import type { PickerReplica } from "./balancer/BalancedPicker.js";
import type { Balancer, BalancerName, ReplicaBalanceStats } from "./balancer/Balancer.js";
import type { BalancerSpec } from "./balancer/createBalancer.js";
import type { BreakerEvent } from "./resilience/BreakerEvents.js";
import { CallPath } from "./resilience/CallPath.js";
import type { BreakerSnapshot } from "./resilience/ReplicaBreakers.js";
import type { NoticeHandler, ParticipantHandler } from "./negotiation/LocalParticipants.js";
import type { ParticipantChannel } from "./negotiation/ParticipantChannel.js";
import { RemoteParticipants } from "./negotiation/RemoteParticipants.js";
import { bindNegotiationNodes } from "./negotiation/bindNegotiationNodes.js";
import type { ResilienceOptions } from "./resilience/resilienceOptions.js";
import { RemoteNodeRunnable } from "./nodes/RemoteNodeRunnable.js";
import type { Registry, ReplicaInfo } from "./registry/Registry.js";
import { GoneReplicas } from "./registry/GoneReplicas.js";
import { StoreRegistry, type StoreRegistryOptions } from "./registry/StoreRegistry.js";
import { InMemoryStateStore } from "./state/InMemoryStateStore.js";
import type { StateStore } from "./state/StateStore.js";
import { InMemoryTransport } from "./transport/InMemoryTransport.js";
import { FabricSerializer } from "./transport/payloadCodec.js";
import type { Transport } from "./transport/Transport.js";
import type * as C from "./coordination/index.js";
import { Coordination } from "./coordination/Coordination.js";
import { assertBackends, openBackends, resolveDegradation } from "./coordination/degradation.js";
import { participantRunnables } from "./coordination/participantRunnables.js";
import type { JsonValue, Signal } from "./negotiation/NegotiationSession.js";

/** Configuration of {@link createFabric}. Every field is optional: nothing at all is the embedded default. */
export interface FabricConfig {
  /** How node calls travel. Default: an {@link InMemoryTransport} (this process only). */
  transport?: Transport;
  /** Where idempotency records, registry records and coordination state live. Default: an {@link InMemoryStateStore}. */
  state?: StateStore;
  /** Whether {@link Fabric.stop} also closes `state`. Default: false for a store passed in (it is the caller's), true for the default one. */
  closeState?: boolean;
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
   * LangChain classes revived from node payloads beside the default allowlist (messages, their
   * chunks, documents: `DEFAULT_REVIVABLE_CLASSES`), as id paths such as
   * `"langchain_core/prompts/PromptTemplate"`; anything else is refused (`RevivalRefusedError`).
   * Give every process of the fabric the same list. Default: none.
   */
  revivable?: readonly string[];
  /**
   * How a replica is chosen per call: a strategy name (`"p2c-ewma"`, the default; `"round-robin"`,
   * `"weighted-round-robin"`, `"least-connections"`, `"performance"`, `"resource"`,
   * `"consistent-hash"`), strategy options, or a `Balancer` instance.
   */
  balancer?: BalancerName | BalancerSpec | Balancer<PickerReplica>;
  /** Circuit breakers, outlier detection, failover retry and bulkheads; see {@link ResilienceOptions}. */
  resilience?: ResilienceOptions;
  /** Agents, emergencies, signal fusion, risk and allocation defaults; see {@link CoordinationOptions}. */
  coordination?: C.CoordinationOptions;
  /** Background monitors (heartbeats, performance, failover sweep), or `false` for none. Default: on, every 5 000 ms. */
  monitors?: C.MonitorOptions | false;
  /** When Kafka or Redis cannot be reached at start: throw `FabricUnavailableError` (`"fail-fast"`, the default) or run in-process with a warning (`"fallback"`, only through {@link createFabric}). */
  degradation?: C.DegradationMode;
  /** How long the state store has to answer the start-up health check, in ms. Default 2 000. */
  healthCheckTimeoutMs?: number;
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
  /**
   * The checkpointer the callers' graphs compile with (another client of the same store, e.g. a
   * `RedisSaver` on the same Redis and key prefix). Needed to serve a compiled subgraph or prebuilt
   * agent: it runs under the caller's thread and writes its checkpoints there, so that
   * `getState(config, { subgraphs: true })`, resumes and time travel work from the runner and on any
   * replica. Default: none (a subgraph node's calls then fail with a `ConfigurationError` when the
   * caller's graph has a checkpointer; plain nodes get a process-local `MemorySaver` for `interrupt()`).
   */
  checkpointer?: BaseCheckpointSaver;
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
  /** Every live agent in the agent directory. */
  agents: C.AgentInfo[];
  /** The background monitors: runs and recent events (absent with `monitors: false`). */
  monitors?: C.MonitorStatus;
  /** The backends this fabric runs without (degradation `"fallback"`), and why; `{}` when none. */
  degraded: C.DegradedBackends;
}

const DEFAULTS = {
  drainTimeoutMs: 30_000, // ms
  concurrency: 8, // calls per replica
  goneReplicaMemoryMs: 3_600_000, // ms: how long a replica that left the registry is remembered as dead
};

/** The running fabric of one process. Create it with {@link createFabric}. */
export class Fabric {
  readonly transport: Transport;
  readonly state: StateStore;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Agents, emergencies, fusion, risk, allocation and monitors (the methods below delegate to it). */
  readonly coordination: Coordination;
  private readonly degraded: C.DegradedBackends;
  private readonly healthCheckTimeoutMs: number;
  private readonly calls: CallPath;
  private readonly idempotency: IdempotencyStore;
  private readonly goneReplicas: GoneReplicas;
  private readonly serde: FabricSerializer;
  private readonly drainTimeoutMs: number;
  private readonly ownsState: boolean;
  private readonly server: ReplicaServer;
  private lifecycle: FabricStatus["state"] = "running";

  /**
   * Prefer {@link createFabric}, which also starts the fabric (and applies `degradation`).
   *
   * @param degraded internal: the backends {@link createFabric} replaced.
   * @throws RangeError or ConfigurationError for bad options.
   */
  constructor(config: FabricConfig = {}, degraded: C.DegradedBackends = {}) {
    this.logger = config.logger ?? createConsoleLogger({ name: "fabric" });
    this.serde = new FabricSerializer(config.revivable === undefined ? {} : { revivable: config.revivable });
    this.degraded = { ...degraded };
    this.healthCheckTimeoutMs = resolveDegradation(config).healthCheckTimeoutMs;
    this.ownsState = config.state === undefined || degraded.state !== undefined || config.closeState === true;
    this.state = config.state ?? new InMemoryStateStore();
    this.transport = config.transport ?? new InMemoryTransport({ logger: this.logger });
    this.registry = config.registry ?? new StoreRegistry(this.state, config.registryOptions);
    this.drainTimeoutMs = config.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs;
    if (!Number.isInteger(this.drainTimeoutMs) || this.drainTimeoutMs < 0) {
      throw new RangeError(`drainTimeoutMs must be a non-negative integer of milliseconds (got ${this.drainTimeoutMs})`);
    }
    // Removals are remembered far longer than any lease, so a dead owner's lease is taken over at once.
    this.goneReplicas = new GoneReplicas(this.registry, DEFAULTS.goneReplicaMemoryMs);
    this.idempotency = new IdempotencyStore(this.state.namespace("calls"), this.logger, config.idempotency, (owner) =>
      this.goneReplicas.has(owner),
    );
    this.server = new ReplicaServer({
      transport: this.transport,
      registry: this.registry,
      idempotency: this.idempotency,
      serde: this.serde,
      logger: this.logger,
    });
    const { balancer, resilience, replicaWaitMs, callTimeoutMs } = config;
    const base = { transport: this.transport, registry: this.registry, state: this.state, logger: this.logger };
    this.calls = new CallPath({ ...base, serde: this.serde, balancer, resilience, replicaWaitMs, callTimeoutMs });
    this.coordination = new Coordination(
      { ...base, caller: this, sample: () => this.status(), forgetBreakers: () => this.calls.forgetVanished() },
      config.coordination,
      config.monitors,
    );
    if (config.transport === undefined && process.env.KAFKA_BROKERS) {
      this.logger.info(
        'KAFKA_BROKERS is set but no transport was given: using the in-memory transport (use createFabricFromEnv from "langgraph-fabric/kafka")',
      );
    }
  }

  /**
   * Connects the transport, checks the state store, loads the registry and the agent directory,
   * and starts the monitors. Called by {@link createFabric}.
   *
   * @throws FabricUnavailableError when the transport cannot start or the state store does not answer.
   */
  async start(): Promise<void> {
    await assertBackends(this.transport, this.state, this.healthCheckTimeoutMs, this.logger);
    await this.registry.start();
    await this.calls.start();
    await this.coordination.start();
  }

  /**
   * A copy of `builder` whose `nodes` call remote replicas, with every node option kept. Compile
   * it as usual (`.compile({ checkpointer })`).
   *
   * @throws UnknownNodeError for a name the builder does not have.
   */
  distribute<B extends object>(builder: B, options: DistributeOptions): B {
    this.assertRunning("distribute");
    const copy = distributeBuilder(builder as B & GraphBuilderLike, options.nodes, (name) => this.remoteNode(name));
    // Negotiation nodes keep their sessions in this fabric's store (Redis, distributed) and can ask its participants.
    bindNegotiationNodes(copy, this, options.nodes);
    return copy;
  }

  /** A runnable that calls remote replicas of `node` (use it as a node by hand: `addNode("x", fabric.remoteNode("x"))`). */
  remoteNode(node: string): Runnable {
    if (typeof node !== "string" || node.length === 0)
      throw new RangeError(`node must be a non-empty string (got ${JSON.stringify(node)})`);
    return new RemoteNodeRunnable(node, this);
  }

  /** Runs `node` on a remote replica as LangGraph's task would run it locally (what remote node runnables call). */
  callNode(node: string, input: unknown, config: RunnableConfig): Promise<unknown> {
    return this.calls.call(node, input, config);
  }

  /**
   * Serves `options.nodes` of `builder` from this process: one replica per node, registered in the
   * registry, until {@link stop} (or the returned handle's `stop`). `builder` may also be a map of
   * node functions or runnables (`{ momentum: momentumAgent }`), for nodes wrapped with `remoteNode`.
   * A node that is a compiled graph (subgraph or prebuilt agent) is served whole; give it the
   * callers' checkpoint store in `options.checkpointer`.
   *
   * @throws UnknownNodeError for a name the builder does not have.
   */
  async serve(builder: object, options: ServeNodesOptions): Promise<ServedNodes> {
    this.assertRunning("serve");
    const concurrency = options.concurrency ?? DEFAULTS.concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a positive integer (got ${concurrency})`);
    const specs = resolveNodes(asBuilder(builder), options.nodes, "serve");
    // Replicas of these nodes may find a dead replica's lease on a call: follow who leaves.
    for (const node of options.nodes) this.goneReplicas.follow(node);
    // Together: a transport may serve several nodes with one consumer (Kafka), joining its group once for all.
    const results = await Promise.allSettled(
      specs.map((spec, i) => this.server.start(options.nodes[i] ?? "", spec.runnable, concurrency, options)),
    );
    const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) {
      await Promise.allSettled(started.map((r) => this.server.stop(r, this.drainTimeoutMs)));
      throw failed.reason;
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
    const nodes = participantRunnables(handlers, options.onNotice);
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
      ...this.calls.status(),
      served: this.server.status(),
      replicas,
      ...this.coordination.status(),
      degraded: { ...this.degraded },
    };
  }

  /** Listens to breaker events (break, half-open, reset, eject, return); returns a function that stops. */
  onBreakerEvent(listener: (event: BreakerEvent) => void): () => void {
    return this.calls.breakerEvents.listen(listener);
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
    await Promise.all([this.calls.drain(timeout), this.server.stopAll(timeout)]);
    await this.coordination.stop();
    await this.calls.stop();
    await this.transport.stop();
    this.goneReplicas.stop();
    await this.registry.stop();
    if (this.ownsState) await this.state.close();
    this.lifecycle = "stopped";
  }

  /** Registers an agent of this process (role, capabilities, heartbeats); its handle also takes emergency handlers. */
  async registerAgent(agent: C.AgentRegistration, options?: C.AgentRegistrationOptions): Promise<C.AgentHandle> {
    this.assertRunning("registerAgent");
    return await this.coordination.registerAgent(agent, options);
  }

  /** Live agents of the whole fabric matching `query` (role, capability, status), from a cache: no I/O. */
  agents(query?: C.AgentQuery): C.AgentInfo[] {
    return this.coordination.agents(query);
  }

  /** Fuses the agents' signals for `symbol` into buy / sell / hold through a negotiation; see `SignalFusion`. */
  async coordinateSignalFusion(
    symbol: string,
    signals: Readonly<Record<string, Signal>>,
    options?: C.SignalFusionOptions,
  ): Promise<C.SignalFusionResult> {
    this.assertRunning("coordinateSignalFusion");
    return await this.coordination.coordinateSignalFusion(symbol, signals, options);
  }

  /** Value at risk by consensus of the risk agents, or computed locally when none answers; see `RiskAssessment`. */
  async assessRisk(request: C.RiskRequest, options?: C.RiskOptions): Promise<C.RiskResult> {
    this.assertRunning("assessRisk");
    return await this.coordination.assessRisk(request, options);
  }

  /** Shares a resource by demand (weighted max-min fair, with minimums); with `key`, as a versioned pool in the state store. */
  async allocateResources(request: C.AllocationRequest): Promise<C.Allocation> {
    this.assertRunning("allocateResources");
    return await this.coordination.allocateResources(request);
  }

  /** Tells every registered agent (in every process) and waits for their acknowledgements; see `EmergencyBroadcaster`. */
  async broadcastEmergency(message: JsonValue, options?: C.BroadcastOptions): Promise<C.BroadcastResult> {
    this.assertRunning("broadcastEmergency");
    return await this.coordination.broadcastEmergency(message, options);
  }

  /** Listens to monitor events (expired agents and replicas, slow or failing nodes, sweeps); returns a function that stops. */
  onMonitorEvent(listener: (event: C.MonitorEvent) => void): () => void {
    return this.coordination.onMonitorEvent(listener);
  }

  private assertRunning(what: string): void {
    if (this.lifecycle !== "running") throw new FabricStoppedError(what);
  }
}

/**
 * Creates and starts a fabric. `createFabric()` with no arguments is the embedded default. When
 * the given transport or state store cannot be reached, `degradation` decides: throw
 * `FabricUnavailableError` (default) or fall back to in-process ones with a warning. A server that
 * refuses the credentials, certificate or permissions throws `ConnectionSecurityError` in both modes.
 */
export async function createFabric(config: FabricConfig = {}): Promise<Fabric> {
  if (typeof config !== "object") throw new ConfigurationError("createFabric expects an options object");
  const logger = config.logger ?? createConsoleLogger({ name: "fabric" });
  const { replacements, degraded } = await openBackends(config, logger);
  const fabric = new Fabric({ ...config, ...replacements, logger }, degraded);
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
