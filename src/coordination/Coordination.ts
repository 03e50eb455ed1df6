/**
 * The coordination layer of a fabric: the agent directory, emergency broadcasts, signal fusion,
 * risk assessment, resource allocation and the background monitors, wired to the fabric's
 * transport, state store and registry. `Fabric` owns one and delegates its coordination methods to
 * it; `fabric.coordination` gives the less common operations (watching agents, reading a pool,
 * running the monitors now).
 *
 * @module
 */
import type { JsonValue, Signal } from "../negotiation/NegotiationSession.js";
import { RemoteParticipants, participantNode } from "../negotiation/RemoteParticipants.js";
import type { NodeCaller } from "../nodes/RemoteNodeRunnable.js";
import type { Logger } from "../observability/logger.js";
import type { Registry } from "../registry/Registry.js";
import type { StateStore } from "../state/StateStore.js";
import type { Transport } from "../transport/Transport.js";
import {
  AgentDirectory,
  type AgentEvent,
  type AgentHandle,
  type AgentInfo,
  type AgentQuery,
  type AgentRegistration,
  type AgentRegistrationOptions,
} from "./AgentDirectory.js";
import { resolveCoordination, type CoordinationOptions } from "./coordinationOptions.js";
import { EmergencyBroadcaster, type BroadcastOptions, type BroadcastResult } from "./EmergencyBroadcaster.js";
import { EmergencyReceiver } from "./EmergencyReceiver.js";
import type { MonitorEvent } from "./monitors/MonitorEvent.js";
import { resolveMonitors, type MonitorOptions } from "./monitors/monitorOptions.js";
import { Monitors, type MonitorSample, type MonitorStatus } from "./monitors/Monitors.js";
import type { NegotiationParts } from "./negotiate.js";
import { ResourceAllocator, type Allocation, type AllocationRequest } from "./ResourceAllocator.js";
import { RiskAssessment, type RiskOptions, type RiskRequest, type RiskResult } from "./RiskAssessment.js";
import { SignalFusion, type SignalFusionOptions, type SignalFusionResult } from "./SignalFusion.js";

/** What the coordination layer is wired to. */
export interface CoordinationParts {
  transport: Transport;
  state: StateStore;
  registry: Registry;
  logger: Logger;
  /** Reaches participants served with `serveParticipants` (the fabric). */
  caller: NodeCaller;
  /** The call figures of `fabric.status()`, for the performance monitor and the caller report. */
  sample: () => MonitorSample;
  /** Drops the breakers of replicas that left the registry. */
  forgetBreakers: () => void;
}

/** The coordination sections of `fabric.status()`. */
export interface CoordinationStatus {
  /** Every live agent in the directory. */
  agents: AgentInfo[];
  /** The monitors (absent when `monitors: false`). */
  monitors?: MonitorStatus;
}

/** The coordination layer; see the module comment. No I/O before `start()`. */
export class Coordination {
  /** The agent directory. */
  readonly directory: AgentDirectory;
  private readonly receiver: EmergencyReceiver;
  private readonly broadcaster: EmergencyBroadcaster;
  private readonly fusion: SignalFusion;
  private readonly risk: RiskAssessment;
  private readonly allocator: ResourceAllocator;
  private readonly monitors: Monitors | undefined;

  /** @throws RangeError naming an invalid option and its value. */
  constructor(p: CoordinationParts, options: CoordinationOptions = {}, monitorOptions: MonitorOptions | false = {}) {
    const o = resolveCoordination(options);
    const owner = p.transport.callerId;
    const { now, timers } = o;
    this.directory = new AgentDirectory(p.state, owner, { now, ...(o.injectedTimers ? { timers } : {}), logger: p.logger, ...o.agents });
    const common = { transport: p.transport, store: p.state, directory: this.directory, logger: p.logger, owner, now };
    this.receiver = new EmergencyReceiver({ ...common, retentionMs: o.retentionMs });
    this.broadcaster = new EmergencyBroadcaster({
      ...common,
      timers,
      timeoutMs: o.emergencyTimeoutMs,
      pollMs: o.emergencyPollMs,
      retentionMs: o.retentionMs,
    });
    const negotiation: NegotiationParts = { store: p.state, logger: p.logger, now, timers: o.injectedTimers, owner: o.initiator };
    const remote = () => new RemoteParticipants(p.caller);
    this.fusion = new SignalFusion({ ...negotiation, remote, deadlineMs: o.fusionDeadlineMs });
    this.risk = new RiskAssessment({
      ...negotiation,
      remote,
      directory: this.directory,
      served: (participant) => p.registry.replicas(participantNode(participant)).length > 0,
      role: o.riskRole,
      deadlineMs: o.riskDeadlineMs,
    });
    this.allocator = new ResourceAllocator(p.state, { owner, maxAttempts: o.maxAllocationAttempts, now });
    if (monitorOptions !== false) {
      const resolved = resolveMonitors(monitorOptions, { now, ...(o.injectedTimers ? { timers } : {}) });
      this.monitors = new Monitors(
        {
          directory: this.directory,
          registry: p.registry,
          state: p.state,
          logger: p.logger,
          sample: p.sample,
          callerId: p.transport.callerId,
          forgetBreakers: p.forgetBreakers,
        },
        resolved,
      );
    }
  }

  /** Loads the agent directory and starts the monitors. */
  async start(): Promise<void> {
    await this.directory.start();
    this.monitors?.start();
  }

  /** Stops the monitors, ends waiting broadcasts, stops listening for emergencies and deregisters this process's agents. Idempotent. */
  async stop(): Promise<void> {
    await this.monitors?.stop();
    await this.broadcaster.stop();
    await this.receiver.stop();
    await this.directory.stop();
  }

  /** Registers an agent of this process (listening for emergencies first, so none sent after registration is missed). */
  async registerAgent(agent: AgentRegistration, options?: AgentRegistrationOptions): Promise<AgentHandle> {
    await this.receiver.listen();
    return this.directory.register(agent, options);
  }

  /** Live agents matching `query`, from the cache (no I/O). */
  agents(query?: AgentQuery): AgentInfo[] {
    return this.directory.agents(query);
  }

  /** Calls `listener` for every change of the agent directory; returns a function that stops it. */
  watchAgents(listener: (event: AgentEvent) => void): () => void {
    return this.directory.watch(listener);
  }

  /** See `Fabric.coordinateSignalFusion`. */
  coordinateSignalFusion(
    symbol: string,
    signals: Readonly<Record<string, Signal>>,
    options?: SignalFusionOptions,
  ): Promise<SignalFusionResult> {
    return this.fusion.coordinate(symbol, signals, options);
  }

  /** See `Fabric.assessRisk`. */
  assessRisk(request: RiskRequest, options?: RiskOptions): Promise<RiskResult> {
    return this.risk.assess(request, options);
  }

  /** See `Fabric.allocateResources`. */
  allocateResources(request: AllocationRequest): Promise<Allocation> {
    return this.allocator.allocate(request);
  }

  /** The current allocation of pool `key`, or `undefined`. */
  allocation(key: string): Promise<Allocation | undefined> {
    return this.allocator.get(key);
  }

  /** See `Fabric.broadcastEmergency`. */
  broadcastEmergency(message: JsonValue, options?: BroadcastOptions): Promise<BroadcastResult> {
    return this.broadcaster.broadcast(message, options);
  }

  /** Listens to monitor events; returns a function that stops. (A no-op when monitors are off.) */
  onMonitorEvent(listener: (event: MonitorEvent) => void): () => void {
    return this.monitors?.onEvent(listener) ?? (() => undefined);
  }

  /** Runs the monitors now and returns their events (`[]` when monitors are off). */
  runMonitors(): Promise<MonitorEvent[]> {
    return this.monitors?.runOnce() ?? Promise.resolve([]);
  }

  /** The coordination sections of `fabric.status()`. */
  status(): CoordinationStatus {
    let agents: AgentInfo[] = [];
    try {
      agents = this.directory.agents();
    } catch {
      // Before start or after stop the directory has no view: report none.
    }
    return { agents, ...(this.monitors ? { monitors: this.monitors.status() } : {}) };
  }
}
