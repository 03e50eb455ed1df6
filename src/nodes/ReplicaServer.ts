/**
 * The replicas one process serves: for each served node, a {@link NodeWorker} behind the
 * transport and a registration (with heartbeats carrying load figures) in the registry; and their
 * graceful end — marked draining so callers stop choosing them, drained, deregistered.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Runnable } from "@langchain/core/runnables";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { CallStats, type CallStatsSnapshot } from "../observability/CallStats.js";
import type { Logger } from "../observability/logger.js";
import type { RegistrationHandle, Registry } from "../registry/Registry.js";
import type { FabricSerializer } from "../transport/payloadCodec.js";
import type { ReplicaAddress, ServeHandle, Transport } from "../transport/Transport.js";
import type { IdempotencyStore } from "./IdempotencyStore.js";
import { NodeWorker } from "./NodeWorker.js";
import { compiledGraphOf } from "./SubgraphRunner.js";

/** What a replica publishes besides its address. */
export interface ReplicaProfile {
  capabilities?: readonly string[];
  version?: string;
  weight?: number;
}

/** One served replica. */
export interface ServedReplica {
  readonly node: string;
  readonly replicaId: string;
  readonly handle: ServeHandle;
  readonly registration: RegistrationHandle;
  readonly stats: CallStats;
}

/** A served replica, for status pages. */
export interface ServedReplicaStatus {
  node: string;
  replicaId: string;
  inFlight: number;
  address: ReplicaAddress;
  stats: CallStatsSnapshot;
}

/** Starts, tracks and stops the replicas of one process. */
export class ReplicaServer {
  private readonly served = new Map<string, ServedReplica>();

  constructor(
    private readonly deps: {
      transport: Transport;
      registry: Registry;
      idempotency: IdempotencyStore;
      serde: FabricSerializer;
      logger: Logger;
    },
  ) {}

  /**
   * Serves `node` with `runnable` as one new replica and registers it. `checkpointer` is the store
   * the callers' graphs use (needed by compiled subgraph nodes; see `NodeWorkerOptions.checkpointer`).
   */
  async start(
    node: string,
    runnable: Runnable,
    concurrency: number,
    profile: ReplicaProfile & { checkpointer?: BaseCheckpointSaver },
  ): Promise<ServedReplica> {
    const { transport, registry, logger } = this.deps;
    const replicaId = `${node}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const stats = new CallStats();
    const subgraph = compiledGraphOf(runnable);
    const worker = new NodeWorker({
      node,
      runnable,
      replicaId,
      serde: this.deps.serde,
      idempotency: this.deps.idempotency,
      logger,
      onCallDone: (ms, failed) => stats.record(ms, failed),
      ...(profile.checkpointer !== undefined ? { checkpointer: profile.checkpointer } : {}),
      ...(subgraph !== undefined ? { subgraph } : {}),
    });
    // The transport may report an address before the registration exists (Kafka joins its group
    // first): keep the latest and register with it.
    let registration: RegistrationHandle | undefined = undefined;
    let lastAddress: ReplicaAddress | undefined;
    const handle = await transport.serve(node, worker.handler, {
      replicaId,
      concurrency,
      onAddressChange: (address) => {
        lastAddress = address;
        registration
          ?.update({ address })
          .catch((e: unknown) => logger.warn("could not publish a replica's new address", { replicaId, error: e }));
      },
    });
    const rate = { at: performance.now(), calls: 0 };
    registration = await registry.register({
      node,
      replicaId,
      address: lastAddress ?? handle.address,
      capabilities: profile.capabilities ?? [],
      version: profile.version ?? "",
      weight: profile.weight ?? 1,
      meta: { host: hostname(), pid: String(process.pid), transport: transport.kind },
      loadProvider: () => {
        const s = stats.snapshot();
        // A rate only the replica can measure: observers see one heartbeat, not two.
        const at = performance.now();
        const callsPerSecond = at > rate.at ? ((s.calls - rate.calls) * 1000) / (at - rate.at) : 0;
        rate.at = at;
        rate.calls = s.calls;
        return { inFlight: handle.inFlight, latencyEwmaMs: s.latencyEwmaMs, errorRate: s.errorRate, calls: s.calls, callsPerSecond };
      },
    });
    const replica: ServedReplica = { node, replicaId, handle, registration, stats };
    this.served.set(replicaId, replica);
    return replica;
  }

  /** Ends a replica gracefully: draining (callers stop choosing it), drained, deregistered. */
  async stop(replica: ServedReplica, timeoutMs: number): Promise<void> {
    if (!this.served.delete(replica.replicaId)) return;
    await replica.registration.update({ status: "draining" }).catch(() => undefined);
    await replica.handle.drain(timeoutMs);
    await replica.registration
      .deregister()
      .catch((e: unknown) => this.deps.logger.warn("deregistration failed", { replicaId: replica.replicaId, error: e }));
  }

  /** Ends every replica gracefully. */
  async stopAll(timeoutMs: number): Promise<void> {
    await Promise.all([...this.served.values()].map((r) => this.stop(r, timeoutMs)));
  }

  /** The replicas served now. */
  status(): ServedReplicaStatus[] {
    return [...this.served.values()].map((r) => ({
      node: r.node,
      replicaId: r.replicaId,
      inFlight: r.handle.inFlight,
      address: r.handle.address,
      stats: r.stats.snapshot(),
    }));
  }
}
