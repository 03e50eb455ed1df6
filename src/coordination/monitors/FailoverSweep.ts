/**
 * The failover sweep: keeps the failover machinery from drifting when nothing else wakes it —
 * re-reads the replica registry and the agent directory (a view that stopped following notices
 * would otherwise go stale), drops the breakers of replicas that are gone (their state would
 * otherwise linger forever), and requeues the expired leases of the state-store queues this
 * process relies on (a queue nobody claims from does not requeue itself).
 *
 * @module
 */
import type { Registry } from "../../registry/Registry.js";
import type { StateStore } from "../../state/StateStore.js";
import type { AgentDirectory } from "../AgentDirectory.js";
import { errorText } from "../validation.js";
import type { MonitorEvent } from "./MonitorEvent.js";

/** What a {@link FailoverSweep} works on. */
export interface FailoverSweepParts {
  registry: Registry;
  directory: AgentDirectory;
  state: StateStore;
  /** Drops the breakers of replicas no longer in the registry. */
  forgetBreakers: () => void;
  /** Queues whose expired leases are requeued. */
  queues: readonly string[];
  now: () => number;
}

/** Sweeps; see the module comment. */
export class FailoverSweep {
  private unreachable = false;

  constructor(private readonly p: FailoverSweepParts) {}

  /** One sweep; returns what it found. Never rejects: failures become events. */
  async sweep(): Promise<MonitorEvent[]> {
    const events: MonitorEvent[] = [];
    const base = { monitor: "failover" as const };
    try {
      await Promise.all([this.p.registry.refresh(), this.p.directory.refresh()]);
      if (this.unreachable) {
        events.push({
          ...base,
          at: this.p.now(),
          type: "registry-reachable",
          level: "info",
          subject: "registry",
          message: "the registry can be read again",
        });
      }
      this.unreachable = false;
    } catch (e) {
      // Once per outage: the registries keep serving their last view meanwhile.
      if (!this.unreachable) {
        events.push({
          ...base,
          at: this.p.now(),
          type: "registry-unreachable",
          level: "warn",
          subject: "registry",
          message: `the registry cannot be read; serving the last view: ${errorText(e)}`,
        });
      }
      this.unreachable = true;
    }
    this.p.forgetBreakers();
    for (const name of this.p.queues) {
      try {
        const moved = await this.p.state.queue(name).requeueExpired();
        if (moved > 0) {
          events.push({
            ...base,
            at: this.p.now(),
            type: "leases-requeued",
            level: "info",
            subject: name,
            message: `requeued ${moved} expired lease(s) of queue ${name}`,
            data: { moved },
          });
        }
      } catch {
        // The store is down: the registry event above already says so (or the next sweep retries).
      }
    }
    return events;
  }
}
