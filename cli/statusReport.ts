/**
 * What `langgraph-fabric status` knows about a fabric it observes from outside: the registry's view
 * of every replica (with the load figures replicas heartbeat, their measured throughput included),
 * what every caller reports of its calls, balancers and breakers (callers publish it at each monitor
 * run), the breaker records callers share through the state store, and the open negotiation
 * sessions of the given initiators. Gathered once, as plain JSON (`--json` prints it as is);
 * `formatStatus` renders it for people.
 *
 * @module
 */
import {
  LocalParticipants,
  NegotiationCoordinator,
  nodeThroughput,
  readCallerReports,
  type CallerReport,
  silentLogger,
  type Fabric,
  type ReplicaInfo,
} from "../src/index.js";

/** A replica's shared breaker record, as callers with `resilience.shared` write it. */
export interface SharedBreakerRecord {
  node: string;
  replicaId: string;
  state: string;
  /** When it opened, epoch ms. */
  openedAt: number | undefined;
  /** When one caller may probe it, epoch ms. */
  probeAt: number | undefined;
  /** Consecutive open periods. */
  attempt: number | undefined;
  /** The caller that opened it. */
  by: string | undefined;
}

/** An open negotiation session, summarized. */
export interface OpenNegotiation {
  id: string;
  initiator: string;
  type: string;
  topic: string;
  participants: string[];
  /** Current round (from 1). */
  round: number;
  /** Participants that answered the current round. */
  answered: string[];
  /** Epoch ms. */
  deadline: number;
}

/** One node's replicas and figures. */
export interface NodeReport {
  node: string;
  replicas: ReplicaInfo[];
  /**
   * Calls per second served by the node's replicas over their last heartbeat interval, as each
   * replica measured it. Replicas of versions that do not report it count with an estimate by
   * Little's law (in flight ÷ latency EWMA).
   */
  callsPerSecond: number;
}

/** The whole report. */
export interface StatusReport {
  /** Epoch ms. */
  observedAt: number;
  /** Where the fabric is. */
  connection: string;
  /** This observer's caller id. */
  observer: string;
  nodes: NodeReport[];
  /** What each caller that makes remote calls reports (its calls, balancer figures, breakers), newest first. */
  callers: CallerReport[];
  /** Open breakers shared through the state store (callers that enable `resilience.shared`). */
  sharedBreakers: SharedBreakerRecord[];
  /** Initiators whose open negotiation sessions were looked up. */
  negotiationInitiators: string[];
  negotiations: OpenNegotiation[];
}

/** Initiator names the library uses by default (negotiationNode, the fabric's coordination APIs, NegotiationCoordinator). */
export const DEFAULT_INITIATORS = ["negotiation-node", "coordination", "coordinator"] as const;

/** Reads everything the report shows from `fabric` (whose registry has loaded). */
export async function gatherStatus(fabric: Fabric, connection: string, initiators: readonly string[]): Promise<StatusReport> {
  const status = fabric.status();
  const nodes = Object.entries(status.replicas)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, replicas]) => ({ node, replicas, callsPerSecond: nodeThroughput(replicas) }));
  const [callers, sharedBreakers, negotiations] = await Promise.all([
    readCallerReports(fabric.state),
    readSharedBreakers(fabric, nodes),
    readNegotiations(fabric, initiators),
  ]);
  return {
    observedAt: Date.now(),
    connection,
    observer: status.callerId,
    nodes,
    callers: callers.filter((c) => c.callerId !== status.callerId),
    sharedBreakers,
    negotiationInitiators: [...initiators],
    negotiations,
  };
}

/**
 * The shared breaker records of the known replicas. The layout (`breakers/<node>/<replica id>` in
 * the state store) is the one docs/decisions.md documents for `resilience.shared`; the core has no
 * public reader for it yet.
 */
async function readSharedBreakers(fabric: Fabric, nodes: readonly NodeReport[]): Promise<SharedBreakerRecord[]> {
  const ids = nodes.flatMap((n) => n.replicas.map((r) => ({ node: n.node, replicaId: r.replicaId })));
  if (ids.length === 0) return [];
  const records = await fabric.state.namespace("breakers").getMany(ids.map((i) => `${i.node}/${i.replicaId}`));
  const out: SharedBreakerRecord[] = [];
  records.forEach((raw, i) => {
    const id = ids[i];
    if (raw === undefined || raw === null || typeof raw !== "object" || id === undefined) return;
    const r = raw as Record<string, unknown>;
    const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
    out.push({
      ...id,
      state: typeof r.state === "string" ? r.state : "unknown",
      openedAt: num(r.openedAt),
      probeAt: num(r.probeAt),
      attempt: num(r.attempt),
      by: typeof r.by === "string" ? r.by : undefined,
    });
  });
  return out;
}

async function readNegotiations(fabric: Fabric, initiators: readonly string[]): Promise<OpenNegotiation[]> {
  // A coordinator with no participants only reads sessions here: it never runs one.
  const coordinator = new NegotiationCoordinator({ store: fabric.state, channel: new LocalParticipants(), logger: silentLogger });
  const out: OpenNegotiation[] = [];
  for (const initiator of initiators) {
    for (const id of await coordinator.openSessions(initiator)) {
      const s = await coordinator.get(id).catch(() => undefined);
      if (s === undefined || s.state !== "open") continue;
      const round = s.rounds[s.rounds.length - 1];
      out.push({
        id,
        initiator,
        type: s.type,
        topic: s.topic,
        participants: s.participants,
        round: round?.n ?? 1,
        answered: Object.keys(round?.answers ?? {}),
        deadline: s.deadline,
      });
    }
  }
  return out;
}
