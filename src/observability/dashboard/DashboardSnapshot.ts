/**
 * What the dashboard page shows, as one JSON document per sample. The shape is the one
 * `langgraph-fabric status --json` prints (the CLI's `StatusReport` satisfies it), so the command
 * and the page never disagree; {@link fabricSnapshot} builds it from one process's own fabric for
 * programs that embed the dashboard.
 *
 * @module
 */
import { readCallerReports, type CallerReport } from "../../coordination/monitors/CallerReports.js";
import type { Fabric } from "../../fabric.js";
import type { ReplicaInfo } from "../../registry/Registry.js";

/** One node's replicas and measured throughput. */
export interface DashboardNode {
  /** The graph node's name. */
  node: string;
  /** Every replica the registry knows (draining ones included). */
  replicas: readonly ReplicaInfo[];
  /** Calls per second served by the node's replicas (see {@link nodeThroughput}). */
  callsPerSecond: number;
}

/** A breaker record shared through the state store (`resilience.shared`). */
export interface DashboardSharedBreaker {
  node: string;
  replicaId: string;
  state: string;
  /** When it opened, epoch ms. */
  openedAt?: number | undefined;
  /** When one caller may probe it, epoch ms. */
  probeAt?: number | undefined;
}

/** An open negotiation session, summarized. */
export interface DashboardNegotiation {
  id: string;
  type: string;
  topic: string;
  participants: readonly string[];
  /** Current round (from 1). */
  round: number;
  /** Participants that answered the current round. */
  answered: readonly string[];
  /** Epoch ms. */
  deadline: number;
}

/** One sample of a fabric, as the page receives it. JSON. */
export interface DashboardSnapshot {
  /** When it was taken, epoch ms. */
  observedAt: number;
  /** One line: where the fabric is (no secrets: passwords redacted by whoever builds it). */
  connection: string;
  /** Nodes with their replicas, sorted by name. */
  nodes: readonly DashboardNode[];
  /** What each calling process reports: calls, balancer figures, breakers. */
  callers: readonly CallerReport[];
  /** Open breakers shared through the state store; absent when the source does not read them. */
  sharedBreakers?: readonly DashboardSharedBreaker[];
  /** Open negotiation sessions; absent when the source does not read them. */
  negotiations?: readonly DashboardNegotiation[];
}

/**
 * Calls per second served by `replicas`, as each replica measured it over its last heartbeat
 * interval; a replica of a version that does not report it counts with an estimate by Little's law
 * (in flight ÷ latency EWMA).
 */
export function nodeThroughput(replicas: readonly ReplicaInfo[]): number {
  let rate = 0;
  for (const r of replicas) {
    if (r.load.callsPerSecond !== undefined) rate += r.load.callsPerSecond;
    else if (r.load.latencyEwmaMs > 0) rate += r.load.inFlight / (r.load.latencyEwmaMs / 1000);
  }
  return rate;
}

/**
 * A snapshot of `fabric` as this process sees it: the registry's replicas, the caller reports in
 * its state store, and this process's own calls, balancer figures and breakers (fresher than its
 * published report, which the monitors renew only every few seconds).
 */
export async function fabricSnapshot(fabric: Fabric, connection = `${fabric.transport.kind} transport`): Promise<DashboardSnapshot> {
  const status = fabric.status();
  const nodes = Object.entries(status.replicas)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, replicas]) => ({ node, replicas, callsPerSecond: nodeThroughput(replicas) }));
  const reports = await readCallerReports(fabric.state);
  const own: CallerReport = {
    callerId: status.callerId,
    at: Date.now(),
    calls: status.calls,
    balancer: status.balancer,
    breakers: status.breakers,
  };
  const others = reports.filter((r) => r.callerId !== status.callerId);
  return {
    observedAt: Date.now(),
    connection,
    nodes,
    callers: Object.keys(own.calls).length > 0 ? [own, ...others] : others,
  };
}
