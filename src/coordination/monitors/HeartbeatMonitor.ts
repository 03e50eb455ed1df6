/**
 * The heartbeat monitor: reports agents and replicas that left the registries, and tells expiry
 * (no heartbeat for the record's `expireAfterMs`: the process crashed or lost the store) from a
 * graceful leave (deregistered while its heartbeats were fresh).
 *
 * It follows the registries' `removed` events rather than comparing snapshots, because the age of
 * the last heartbeat must be judged when the record disappears: a deregistration is seen at once
 * (its notice triggers a refresh), an expiry when the record's TTL ends. Judged later — at the
 * next monitor run — a graceful leave would look like an expiry. Nodes are watched from the first
 * run that sees them; events wait in a buffer for the next run.
 *
 * @module
 */
import type { Registry, ReplicaInfo } from "../../registry/Registry.js";
import type { AgentDirectory, AgentInfo } from "../AgentDirectory.js";
import type { MonitorEvent } from "./MonitorEvent.js";

/** What a {@link HeartbeatMonitor} looks at. */
export interface HeartbeatMonitorParts {
  directory: AgentDirectory;
  registry: Registry;
  now: () => number;
}

/** How many events wait for the next run at most (the oldest are dropped beyond). */
const MAX_BUFFERED = 1_000;

/** Reports agents and replicas that expired or left; see the module comment. */
export class HeartbeatMonitor {
  private readonly buffered: MonitorEvent[] = [];
  private readonly nodes = new Map<string, () => void>();
  private unwatchAgents: (() => void) | undefined;

  constructor(private readonly p: HeartbeatMonitorParts) {}

  /** Starts following the agent directory and the nodes the registry lists now. */
  start(): void {
    this.unwatchAgents ??= this.p.directory.watch((event) => {
      if (event.type === "removed") this.push(this.agentGone(event.agent));
    });
    this.watchNodes();
  }

  /** Stops following. */
  stop(): void {
    this.unwatchAgents?.();
    this.unwatchAgents = undefined;
    for (const unwatch of this.nodes.values()) unwatch();
    this.nodes.clear();
  }

  /** The departures seen since the last call; starts following nodes that appeared since. No I/O. */
  check(): MonitorEvent[] {
    this.watchNodes();
    return this.buffered.splice(0);
  }

  private watchNodes(): void {
    for (const node of this.p.registry.nodes()) {
      if (this.nodes.has(node)) continue;
      this.nodes.set(
        node,
        this.p.registry.watch(node, (event) => {
          if (event.type === "removed") this.push(this.replicaGone(event.replica));
        }),
      );
    }
  }

  private push(event: MonitorEvent): void {
    this.buffered.push(event);
    if (this.buffered.length > MAX_BUFFERED) this.buffered.shift();
  }

  private agentGone(agent: AgentInfo): MonitorEvent {
    const at = this.p.now();
    const age = at - agent.lastHeartbeat;
    const expired = age >= agent.expireAfterMs;
    const id = agent.agentId;
    return {
      at,
      monitor: "heartbeat",
      type: expired ? "agent-expired" : "agent-left",
      level: expired ? "warn" : "info",
      subject: id,
      message: expired
        ? `agent ${id} (${agent.role}) expired: no heartbeat for ${age} ms`
        : `agent ${id} (${agent.role}) left the directory`,
      data: { role: agent.role, process: agent.process, heartbeatAgeMs: age, expireAfterMs: agent.expireAfterMs },
    };
  }

  private replicaGone(replica: ReplicaInfo): MonitorEvent {
    const at = this.p.now();
    const age = at - replica.lastHeartbeat;
    const expired = age >= replica.expireAfterMs;
    const key = `${replica.node}/${replica.replicaId}`;
    return {
      at,
      monitor: "heartbeat",
      type: expired ? "replica-expired" : "replica-left",
      level: expired ? "warn" : "info",
      subject: key,
      message: expired ? `replica ${key} expired: no heartbeat for ${age} ms` : `replica ${key} left the registry`,
      data: { node: replica.node, replicaId: replica.replicaId, heartbeatAgeMs: age, expireAfterMs: replica.expireAfterMs },
    };
  }
}
