/**
 * The caller side of remote node calls, as one process wires it: the balancer's picker, per-replica
 * breakers (optionally shared through the state store), outlier detection, failover retry on
 * another replica, the `RemoteNodeClient`, per-node call figures, and the registry watches that
 * abort calls waiting on a replica that left. `Fabric` owns one; it lives here so the fabric stays
 * a thin composition of its parts.
 *
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { BalancedPicker, type PickerReplica } from "../balancer/BalancedPicker.js";
import type { Balancer, BalancerName, ReplicaBalanceStats } from "../balancer/Balancer.js";
import { createBalancer, type BalancerSpec } from "../balancer/createBalancer.js";
import { isRetryableErrorData } from "../nodes/errorCodec.js";
import { RemoteNodeClient } from "../nodes/RemoteNodeClient.js";
import type { CallOutcome } from "../nodes/wireFormat.js";
import { CallStats, type CallStatsSnapshot } from "../observability/CallStats.js";
import type { Logger } from "../observability/logger.js";
import type { Registry } from "../registry/Registry.js";
import type { StateStore } from "../state/StateStore.js";
import type { FabricSerializer } from "../transport/payloadCodec.js";
import type { Transport } from "../transport/Transport.js";
import { BreakerEventLog, type BreakerEvent } from "./BreakerEvents.js";
import { FailoverCaller, isBreakerFailure } from "./FailoverCaller.js";
import { OutlierDetector } from "./OutlierDetector.js";
import { ReplicaBreakers, type BreakerSnapshot } from "./ReplicaBreakers.js";
import { resolveResilience, type ResilienceOptions } from "./resilienceOptions.js";
import { SharedBreakerState } from "./SharedBreakerState.js";

/** What a {@link CallPath} is built from. */
export interface CallPathOptions {
  transport: Transport;
  registry: Registry;
  state: StateStore;
  serde: FabricSerializer;
  logger: Logger;
  /** A strategy name, strategy options, or a `Balancer` instance. Default `"p2c-ewma"`. */
  balancer?: BalancerName | BalancerSpec | Balancer<PickerReplica> | undefined;
  /** Breakers, outliers, failover retry, bulkheads. */
  resilience?: ResilienceOptions | undefined;
  /** Longest wait for a replica of a node to appear, in ms. Default 10 000. */
  replicaWaitMs?: number | undefined;
  /** Longest wait for a reply, in ms. Default: the client's (300 000). */
  callTimeoutMs?: number | undefined;
}

/** The call figures of `fabric.status()`. */
export interface CallPathStatus {
  calls: Record<string, CallStatsSnapshot & { pending: number }>;
  balancer: Record<string, ReplicaBalanceStats[]>;
  breakers: BreakerSnapshot[];
  breakerEvents: BreakerEvent[];
}

/** Defaults of {@link CallPathOptions}. */
export const CALL_PATH_DEFAULTS = { replicaWaitMs: 10_000 /* ms */ };

/** The caller side of remote node calls; see the module comment. No I/O before `start()`. */
export class CallPath {
  /** Breaker events (break, half-open, reset, eject, return). */
  readonly breakerEvents = new BreakerEventLog();
  private readonly client: RemoteNodeClient;
  private readonly picker: BalancedPicker;
  private readonly breakers: ReplicaBreakers;
  private readonly outliers: OutlierDetector;
  private readonly sharedBreakers: SharedBreakerState | undefined;
  private readonly removedListeners = new Map<string, Set<(replicaId: string) => void>>();
  private readonly registryWatches: (() => void)[] = [];
  private readonly callStats = new Map<string, CallStats>();
  private readonly registry: Registry;

  /** @throws RangeError for bad options. */
  constructor(o: CallPathOptions) {
    const { transport, registry, state, serde, logger } = o;
    this.registry = registry;
    const resilience = resolveResilience(o.resilience);
    this.breakers = new ReplicaBreakers(resilience, this.breakerEvents, isBreakerFailure);
    this.outliers = new OutlierDetector(resilience.outlier, this.breakers);
    if (resilience.shared) {
      this.sharedBreakers = new SharedBreakerState({
        store: state,
        callerId: transport.callerId,
        logger,
        halfOpenInitialMs: resilience.halfOpenInitialMs,
        halfOpenMaxMs: resilience.halfOpenMaxMs,
        replicaIds: (node) => this.liveIds(node),
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
        onProbeClosed: (node, replicaId) => {
          this.breakers.resetLocal(node, replicaId);
          this.breakerEvents.emit({
            at: Date.now(),
            node,
            replicaId,
            type: "reset",
            reason: "closed by this caller's probe",
            shared: true,
          });
        },
      });
      this.breakers.shared = this.sharedBreakers;
    }
    this.picker = new BalancedPicker({
      balancer: isBalancer(o.balancer) ? o.balancer : createBalancer<PickerReplica>(o.balancer),
      exclude: (node, count) => {
        this.sharedBreakers?.track(node);
        return this.breakers.exclusions(node, count);
      },
    });
    const replicaWaitMs = o.replicaWaitMs ?? CALL_PATH_DEFAULTS.replicaWaitMs;
    if (!Number.isInteger(replicaWaitMs) || replicaWaitMs <= 0) {
      throw new RangeError(`replicaWaitMs must be a positive integer of milliseconds (got ${replicaWaitMs})`);
    }
    const failover = new FailoverCaller<CallOutcome>({
      transport,
      picker: this.picker,
      breakers: this.breakers,
      outliers: this.outliers,
      options: resilience,
      logger,
      replicas: (node) => registry.replicas(node),
      onReplicaRemoved: (node, listener) => this.onReplicaRemoved(node, listener),
      decode: async (reply) => (await serde.loadsTyped(reply.header.payloadType, reply.payload)) as CallOutcome,
      isFailedOutcome: (outcome) => resilience.countNodeErrors && outcome.kind === "error" && isRetryableErrorData(outcome.error),
      replicaWaitMs,
    });
    this.client = new RemoteNodeClient({
      failover,
      serde,
      logger,
      ...(o.callTimeoutMs !== undefined ? { callTimeoutMs: o.callTimeoutMs } : {}),
      onCallDone: (node, _replica, ms, outcome) => this.statsOf(node).record(ms, outcome === "failed" || outcome === "error"),
    });
  }

  /** Starts shared breaker state (when on) and outlier detection. */
  async start(): Promise<void> {
    await this.sharedBreakers?.start();
    this.outliers.start();
  }

  /** Runs `node` on a remote replica (what remote node runnables call). */
  call(node: string, input: unknown, config: RunnableConfig): Promise<unknown> {
    return this.client.call(node, input, config);
  }

  /** Refuses new calls and waits for the ones in flight (at most `timeoutMs`). */
  drain(timeoutMs: number): Promise<void> {
    return this.client.drain(timeoutMs);
  }

  /** Stops outlier detection, breaker timers, shared breaker state and registry watches. */
  async stop(): Promise<void> {
    this.outliers.stop();
    this.breakers.dispose();
    await this.sharedBreakers?.stop();
    for (const unwatch of this.registryWatches.splice(0)) unwatch();
  }

  /** Drops the breakers of replicas that are no longer in the registry, for every node this process called. */
  forgetVanished(): void {
    for (const node of this.callStats.keys()) this.breakers.forget(node, new Set(this.liveIds(node)));
  }

  /** The call figures of `fabric.status()`. */
  status(): CallPathStatus {
    return {
      calls: Object.fromEntries([...this.callStats].map(([node, s]) => [node, { ...s.snapshot(), pending: 0 }])),
      balancer: Object.fromEntries([...this.callStats.keys()].map((node) => [node, this.picker.stats(node)])),
      breakers: this.breakers.snapshot(),
      breakerEvents: this.breakerEvents.recent(50),
    };
  }

  private liveIds(node: string): string[] {
    return this.registry.replicas(node, { includeDraining: true }).map((r) => r.replicaId);
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
          this.breakers.forget(node, new Set(this.liveIds(node)));
          for (const l of set) l(event.replica.replicaId);
        }),
      );
    }
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  private statsOf(node: string): CallStats {
    let s = this.callStats.get(node);
    if (!s) {
      s = new CallStats();
      this.callStats.set(node, s);
    }
    return s;
  }
}

function isBalancer(value: unknown): value is Balancer<PickerReplica> {
  return typeof value === "object" && value !== null && typeof (value as Partial<Balancer>).select === "function";
}
