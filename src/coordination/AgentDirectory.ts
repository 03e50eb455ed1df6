/**
 * The agent directory: which agents (not replicas) take part in the system, in which role, with
 * which capabilities, and whether they are alive. An agent registers with heartbeats and a TTL;
 * every process reads a cached view that follows changes, so `agents()` never does I/O.
 *
 * It is a {@link StoreRegistry} under its own namespace (`"agents"`), with every agent a "replica"
 * of one node: the registry already has what an agent directory needs — records with a TTL,
 * compare-and-set heartbeats that heal an expired record, a followed cache with clock-skew and
 * outage guards, change events — and keeping agents out of the replica registry keeps them out of
 * the balancer's way. The agent's role, status and JSON labels travel in the record's string
 * labels (`meta`).
 *
 * @module
 */
import { z } from "zod";
import { RegistryError } from "../errors.js";
import { jsonValueSchema, type JsonValue } from "../negotiation/NegotiationSession.js";
import type { Logger } from "../observability/logger.js";
import type { RegistrationHandle, RegistryTimers, ReplicaInfo } from "../registry/Registry.js";
import { StoreRegistry } from "../registry/StoreRegistry.js";
import type { StateStore } from "../state/StateStore.js";
import type { EmergencyHandler } from "./emergencyMessages.js";
import { isRecord, nonEmpty, show } from "./validation.js";

/** What an agent is doing, as it reports it. `draining` agents are finishing up and take no new work. */
export type AgentStatus = "active" | "busy" | "degraded" | "draining";

const STATUSES: readonly AgentStatus[] = ["active", "busy", "degraded", "draining"];

/** What an agent registers. */
export interface AgentRegistration {
  /** Unique id of the agent across the fabric (also its participant name for negotiations). Non-empty. */
  agentId: string;
  /** Its role, e.g. `"risk"`, `"momentum"`, `"execution"`. Non-empty. */
  role: string;
  /** What it can do (free-form tags). Default: none. */
  capabilities?: readonly string[];
  /** Anything else to publish about it (JSON). Default `{}`. */
  meta?: Readonly<Record<string, JsonValue>>;
  /** Initial status. Default `"active"`. */
  status?: AgentStatus;
}

/** Options of {@link AgentDirectory.register}. */
export interface AgentRegistrationOptions {
  /**
   * An emergency handler attached before the agent becomes visible, so no broadcast can reach the
   * agent without it (one added later with `onEmergency` can miss a broadcast sent in between).
   */
  onEmergency?: EmergencyHandler;
}

/** The fields a registered agent may change; its role is fixed (register again under a new one). */
export type AgentUpdate = Partial<Pick<AgentRegistration, "capabilities" | "meta" | "status">>;

/** An agent as the directory publishes it. */
export interface AgentInfo {
  readonly agentId: string;
  readonly role: string;
  readonly capabilities: readonly string[];
  readonly meta: Readonly<Record<string, JsonValue>>;
  readonly status: AgentStatus;
  /** The caller id of the process that registered it. */
  readonly process: string;
  /** When it registered (epoch ms, its process's clock). */
  readonly registeredAt: number;
  /** When it last heartbeat (epoch ms, its process's clock). */
  readonly lastHeartbeat: number;
  /** How long after `lastHeartbeat` it counts as gone, in ms. */
  readonly expireAfterMs: number;
}

/** Filters of {@link AgentDirectory.agents}; an agent must match every filter given. */
export interface AgentQuery {
  /** Only agents of this role. */
  role?: string;
  /** Only agents listing this capability. */
  capability?: string;
  /** Only agents in this status (or one of these). Default: any status. */
  status?: AgentStatus | readonly AgentStatus[];
}

/** A change of the directory seen by this process. `removed` covers deregistration and expiry alike. */
export type AgentEvent =
  | { readonly type: "added"; readonly agent: AgentInfo }
  | { readonly type: "updated"; readonly agent: AgentInfo; readonly previous: AgentInfo }
  | { readonly type: "removed"; readonly agent: AgentInfo };

/** A registered agent of this process. Heartbeats run on their own until `deregister`. */
export interface AgentHandle {
  readonly agentId: string;
  /** The record as last written by this handle. */
  readonly info: AgentInfo;
  /** Sends a heartbeat now (the timer keeps running). */
  heartbeat(): Promise<void>;
  /** Changes capabilities, labels or status, and announces the change. @throws RangeError for an invalid field. */
  update(change: AgentUpdate): Promise<AgentInfo>;
  /** Stops heartbeats and removes the agent at once (rather than letting it expire). Idempotent. */
  deregister(): Promise<void>;
  /** Runs `handler` for every emergency broadcast that reaches this agent; returns a function that removes it. */
  onEmergency(handler: EmergencyHandler): () => void;
}

/** Options of {@link AgentDirectory}. */
export interface AgentDirectoryOptions {
  /** How often each agent registered here heartbeats, in ms. Default 5 000. */
  heartbeatIntervalMs?: number;
  /** How long after its last heartbeat an agent registered here counts as gone, in ms (> `heartbeatIntervalMs`). Default 3 × `heartbeatIntervalMs`. */
  expireAfterMs?: number;
  /** How often the view is re-read in full, in ms (bounds how late a crashed agent is noticed). Default `heartbeatIntervalMs`. */
  refreshIntervalMs?: number;
  /** Namespace of the directory's keys and channel in the store. Default `"agents"`. */
  namespace?: string;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Timers for heartbeats and refreshes. Default: real, unref'd timers. */
  timers?: RegistryTimers;
  /** Where warnings go. Default: console logger named `"agents"`. */
  logger?: Logger;
}

/** Defaults of {@link AgentDirectoryOptions}. */
export const AGENT_DIRECTORY_DEFAULTS = {
  heartbeatIntervalMs: 5_000, // ms: agents are fewer and slower-moving than replicas
  namespace: "agents",
} as const;

/** The one registry node every agent is a replica of. */
const AGENT_NODE = "agent";

const metaSchema = z.record(z.string(), jsonValueSchema);

const NO_LOAD = { inFlight: 0, latencyEwmaMs: 0, errorRate: 0, cpu: 0, memoryBytes: 0 };

/** The directory of agents; see the module comment. Construction does no I/O. */
export class AgentDirectory {
  private readonly registry: StoreRegistry;
  private readonly local = new Map<string, LocalAgent>();

  /**
   * @param owner the caller id of this process, recorded with each agent it registers.
   * @throws RangeError naming an invalid option and its value.
   */
  constructor(
    store: StateStore,
    private readonly owner: string,
    options: AgentDirectoryOptions = {},
  ) {
    this.registry = new StoreRegistry(store, {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? AGENT_DIRECTORY_DEFAULTS.heartbeatIntervalMs,
      namespace: options.namespace ?? AGENT_DIRECTORY_DEFAULTS.namespace,
      ...(options.expireAfterMs !== undefined ? { expireAfterMs: options.expireAfterMs } : {}),
      ...(options.refreshIntervalMs !== undefined ? { refreshIntervalMs: options.refreshIntervalMs } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.timers !== undefined ? { timers: options.timers } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    });
  }

  /** Loads the view and follows changes. */
  start(): Promise<void> {
    return this.registry.start();
  }

  /** Deregisters this process's agents and stops following. Idempotent. */
  async stop(): Promise<void> {
    this.local.clear();
    await this.registry.stop();
  }

  /**
   * Registers an agent of this process and starts its heartbeats.
   *
   * The agent is listed among this process's agents (for emergencies) before its record is
   * written, so a broadcast that finds it in the directory always finds it here too.
   *
   * @throws RangeError for an invalid field; RegistryError when this process already registered the id or the store fails.
   */
  async register(registration: AgentRegistration, options: AgentRegistrationOptions = {}): Promise<AgentHandle> {
    if (!isRecord(registration))
      throw new RangeError(`agent must be { agentId, role, capabilities?, meta?, status? } (got ${show(registration)})`);
    const agentId = nonEmpty("agentId", registration.agentId);
    const role = nonEmpty("role", registration.role);
    const fields = checkUpdate(registration);
    const status = fields.status ?? "active";
    if (this.local.has(agentId)) {
      throw new RegistryError(`agent "${agentId}" is already registered by this process`, {
        hint: "use the existing handle's update(), or deregister it first",
      });
    }
    const record = {
      node: AGENT_NODE,
      replicaId: agentId,
      address: { replicaId: agentId },
      capabilities: fields.capabilities ?? [],
      status: status === "draining" ? ("draining" as const) : ("active" as const),
      meta: encodeMeta(role, status, fields.meta ?? {}, this.owner),
    };
    const now = Date.now();
    const provisional = { ...record, version: "", weight: 1, startedAt: now, lastHeartbeat: now, expireAfterMs: 0, load: NO_LOAD };
    const agent = new LocalAgent(agentId, role, this.owner, provisional, () => this.local.delete(agentId));
    if (options.onEmergency !== undefined) agent.onEmergency(options.onEmergency);
    this.local.set(agentId, agent);
    try {
      // Agents report no call load; the process figures are sampled as for replicas.
      agent.attach(await this.registry.register({ ...record, loadProvider: () => ({}) }));
    } catch (e) {
      this.local.delete(agentId);
      throw e;
    }
    return agent;
  }

  /** Live agents matching `query`, sorted by id, from the cache (no I/O). @throws RegistryError before `start()`. */
  agents(query: AgentQuery = {}): AgentInfo[] {
    const statuses = query.status === undefined ? undefined : typeof query.status === "string" ? [query.status] : query.status;
    const out: AgentInfo[] = [];
    for (const replica of this.registry.replicas(AGENT_NODE, { includeDraining: true })) {
      const agent = decodeAgent(replica);
      if (agent === undefined) continue;
      if (query.role !== undefined && agent.role !== query.role) continue;
      if (query.capability !== undefined && !agent.capabilities.includes(query.capability)) continue;
      if (statuses !== undefined && !statuses.includes(agent.status)) continue;
      out.push(agent);
    }
    return out;
  }

  /** The live agent `agentId`, if any (from the cache). */
  get(agentId: string): AgentInfo | undefined {
    return this.agents().find((a) => a.agentId === agentId);
  }

  /** The agents registered by this process (their handles). */
  localAgents(): LocalAgent[] {
    return [...this.local.values()];
  }

  /** Calls `listener` for every change of the directory seen by this process; returns a function that stops it. */
  watch(listener: (event: AgentEvent) => void): () => void {
    return this.registry.watch(AGENT_NODE, (event) => {
      const agent = decodeAgent(event.replica);
      if (agent === undefined) return;
      if (event.type !== "updated") {
        listener({ type: event.type, agent });
        return;
      }
      const previous = decodeAgent(event.previous);
      if (previous !== undefined) listener({ type: "updated", agent, previous });
    });
  }

  /** Re-reads the whole view now. @throws RegistryError when the store fails. */
  refresh(): Promise<void> {
    return this.registry.refresh();
  }
}

/** An agent registered by this process: its registration and its emergency handlers. */
export class LocalAgent implements AgentHandle {
  private readonly handlers = new Set<EmergencyHandler>();
  private handle: RegistrationHandle | undefined;

  /** @param provisional the record until the registration is written (emergencies may arrive meanwhile). */
  constructor(
    readonly agentId: string,
    private readonly role: string,
    private readonly owner: string,
    private readonly provisional: ReplicaInfo,
    private readonly forget: () => void,
  ) {}

  /** Binds the written registration. */
  attach(handle: RegistrationHandle): void {
    this.handle = handle;
  }

  get info(): AgentInfo {
    return decodeAgent(this.handle?.info ?? this.provisional) as AgentInfo;
  }

  private get registration(): RegistrationHandle {
    if (this.handle === undefined) throw new RegistryError(`agent "${this.agentId}" is still registering`);
    return this.handle;
  }

  /** This agent's emergency handlers (a copy). */
  emergencyHandlers(): EmergencyHandler[] {
    return [...this.handlers];
  }

  heartbeat(): Promise<void> {
    return this.registration.heartbeat();
  }

  async update(change: AgentUpdate): Promise<AgentInfo> {
    if (!isRecord(change)) throw new RangeError(`change must be { capabilities?, meta?, status? } (got ${show(change)})`);
    if ("role" in change)
      throw new RangeError(
        `role cannot change (got ${show((change as { role?: unknown }).role)}): deregister and register the agent again`,
      );
    const fields = checkUpdate(change);
    const current = this.info;
    const status = fields.status ?? current.status;
    await this.registration.update({
      ...(fields.capabilities !== undefined ? { capabilities: fields.capabilities } : {}),
      status: status === "draining" ? "draining" : "active",
      meta: encodeMeta(this.role, status, fields.meta ?? current.meta, this.owner),
    });
    return this.info;
  }

  async deregister(): Promise<void> {
    this.forget();
    this.handlers.clear();
    await this.registration.deregister();
  }

  onEmergency(handler: EmergencyHandler): () => void {
    if (typeof handler !== "function") throw new RangeError(`handler must be a function (got ${typeof handler})`);
    // A wrapper, so the same function added twice is removed once each.
    const own: EmergencyHandler = (emergency, agent) => handler(emergency, agent);
    this.handlers.add(own);
    return () => this.handlers.delete(own);
  }
}

/** Validates the changeable fields. @throws RangeError naming the field and value. */
function checkUpdate(fields: AgentUpdate): AgentUpdate {
  const { capabilities, meta, status } = fields;
  if (capabilities !== undefined && (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === "string"))) {
    throw new RangeError(`capabilities must be an array of strings (got ${show(capabilities)})`);
  }
  if (meta !== undefined && !metaSchema.safeParse(meta).success)
    throw new RangeError(`meta must be an object of JSON values (got ${show(meta)})`);
  if (status !== undefined && !STATUSES.includes(status))
    throw new RangeError(`status must be one of ${STATUSES.join(", ")} (got ${show(status)})`);
  return fields;
}

function encodeMeta(role: string, status: AgentStatus, meta: Readonly<Record<string, JsonValue>>, owner: string): Record<string, string> {
  return { role, status, process: owner, meta: JSON.stringify(meta) };
}

/** An agent from its registry record, or `undefined` for a record without a role (not written by this directory). */
function decodeAgent(replica: ReplicaInfo): AgentInfo | undefined {
  const { role, status, process, meta } = replica.meta;
  if (role === undefined || role === "") return undefined;
  let labels: Record<string, JsonValue> = {};
  try {
    labels = metaSchema.parse(JSON.parse(meta ?? "{}"));
  } catch {
    // Unreadable labels (another version wrote them) must not hide the agent itself.
  }
  return {
    agentId: replica.replicaId,
    role,
    capabilities: replica.capabilities,
    meta: labels,
    status: STATUSES.includes(status as AgentStatus) ? (status as AgentStatus) : replica.status === "draining" ? "draining" : "active",
    process: process ?? "",
    registeredAt: replica.startedAt,
    lastHeartbeat: replica.lastHeartbeat,
    expireAfterMs: replica.expireAfterMs,
  };
}
