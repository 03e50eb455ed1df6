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
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { Runnable, RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import { ConfigurationError, FabricStoppedError } from "./errors.js";
import { CallStats, type CallStatsSnapshot } from "./observability/CallStats.js";
import { createConsoleLogger, type Logger } from "./observability/logger.js";
import { distributeBuilder, resolveNodes, type GraphBuilderLike } from "./nodes/distribute.js";
import { IdempotencyStore, type IdempotencyOptions } from "./nodes/IdempotencyStore.js";
import { NodeWorker } from "./nodes/NodeWorker.js";
import { RoundRobinPicker, type ReplicaPicker } from "./nodes/pickReplica.js";
import { RemoteNodeClient } from "./nodes/RemoteNodeClient.js";
import { RemoteNodeRunnable } from "./nodes/RemoteNodeRunnable.js";
import type { RegistrationHandle, Registry, ReplicaInfo } from "./registry/Registry.js";
import { StoreRegistry, type StoreRegistryOptions } from "./registry/StoreRegistry.js";
import { InMemoryStateStore } from "./state/InMemoryStateStore.js";
import type { StateStore } from "./state/StateStore.js";
import { InMemoryTransport } from "./transport/InMemoryTransport.js";
import { FabricSerializer } from "./transport/payloadCodec.js";
import type { ReplicaAddress, ServeHandle, Transport } from "./transport/Transport.js";

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
  /** Chooses a replica per call. Default: round robin. */
  picker?: ReplicaPicker;
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
  served: { node: string; replicaId: string; inFlight: number; address: ReplicaAddress; stats: CallStatsSnapshot }[];
  /** Every replica the registry knows, per node (including draining ones). */
  replicas: Record<string, ReplicaInfo[]>;
}

interface ServedReplica {
  node: string;
  replicaId: string;
  handle: ServeHandle;
  registration: RegistrationHandle;
  stats: CallStats;
}

const DEFAULTS = { drainTimeoutMs: 30_000, concurrency: 8 }; // ms; calls

/** The running fabric of one process. Create it with {@link createFabric}. */
export class Fabric {
  readonly transport: Transport;
  readonly state: StateStore;
  readonly registry: Registry;
  readonly logger: Logger;
  private readonly client: RemoteNodeClient;
  private readonly idempotency: IdempotencyStore;
  private readonly serde = new FabricSerializer();
  private readonly drainTimeoutMs: number;
  private readonly ownsState: boolean;
  private readonly served = new Map<string, ServedReplica>();
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
    this.client = new RemoteNodeClient({
      transport: this.transport,
      replicas: { replicas: (node) => this.registry.replicas(node) },
      picker: config.picker ?? new RoundRobinPicker(),
      serde: this.serde,
      logger: this.logger,
      ...(config.callTimeoutMs !== undefined ? { callTimeoutMs: config.callTimeoutMs } : {}),
      ...(config.replicaWaitMs !== undefined ? { replicaWaitMs: config.replicaWaitMs } : {}),
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
        started.push(await this.serveOne(options.nodes[i] ?? "", spec.runnable, concurrency, options));
      }
    } catch (e) {
      await Promise.allSettled(started.map((r) => this.stopReplica(r)));
      throw e;
    }
    return {
      replicas: Object.fromEntries(started.map((r) => [r.node, r.replicaId])),
      stop: async () => {
        await Promise.all(started.map((r) => this.stopReplica(r)));
      },
    };
  }

  private async serveOne(node: string, runnable: Runnable, concurrency: number, options: ServeNodesOptions): Promise<ServedReplica> {
    const replicaId = `${node}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const stats = new CallStats();
    const worker = new NodeWorker({
      node,
      runnable,
      replicaId,
      serde: this.serde,
      idempotency: this.idempotency,
      logger: this.logger,
      onCallDone: (ms, failed) => stats.record(ms, failed),
    });
    // The transport may report an address change before the registration exists (Kafka joins its
    // group first): keep the latest and register with it.
    let registration: RegistrationHandle | undefined = undefined;
    let lastAddress: ReplicaAddress | undefined;
    const served = await this.transport.serve(node, worker.handler, {
      replicaId,
      concurrency,
      onAddressChange: (address) => {
        lastAddress = address;
        registration
          ?.update({ address })
          .catch((e: unknown) => this.logger.warn("could not publish a replica's new address", { replicaId, error: e }));
      },
    });
    registration = await this.registry.register({
      node,
      replicaId,
      address: lastAddress ?? served.address,
      capabilities: options.capabilities ?? [],
      version: options.version ?? "",
      weight: options.weight ?? 1,
      meta: { host: hostname(), pid: String(process.pid), transport: this.transport.kind },
      loadProvider: () => {
        const s = stats.snapshot();
        return { inFlight: served.inFlight, latencyEwmaMs: s.latencyEwmaMs, errorRate: s.errorRate };
      },
    });
    const replica: ServedReplica = { node, replicaId, handle: served, registration, stats };
    this.served.set(replicaId, replica);
    return replica;
  }

  private async stopReplica(replica: ServedReplica, timeoutMs = this.drainTimeoutMs): Promise<void> {
    if (!this.served.delete(replica.replicaId)) return;
    // Draining first, so callers stop choosing it while it finishes what it has.
    await replica.registration.update({ status: "draining" }).catch(() => undefined);
    await replica.handle.drain(timeoutMs);
    await replica.registration
      .deregister()
      .catch((e: unknown) => this.logger.warn("deregistration failed", { replicaId: replica.replicaId, error: e }));
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
      served: [...this.served.values()].map((r) => ({
        node: r.node,
        replicaId: r.replicaId,
        inFlight: r.handle.inFlight,
        address: r.handle.address,
        stats: r.stats.snapshot(),
      })),
      replicas,
    };
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
    await Promise.all([this.client.drain(timeout), ...[...this.served.values()].map((r) => this.stopReplica(r, timeout))]);
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
