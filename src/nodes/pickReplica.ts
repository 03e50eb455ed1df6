/**
 * The replica picker of remote calls, until the balancer replaces it: round robin over the
 * replicas that can take a call now (active, and with an address the transport can use).
 *
 * @module
 */
import type { ReplicaAddress } from "../transport/Transport.js";

/** The part of a registry entry the picker looks at. */
export interface ReplicaCandidate {
  readonly replicaId: string;
  readonly address: ReplicaAddress;
  /** Draining replicas finish their calls but take no new ones. */
  readonly status: "active" | "draining";
}

/** Chooses a replica for each call. */
export interface ReplicaPicker {
  /** A replica for a call to `node`, or `undefined` when none can take one. */
  pick(node: string, candidates: readonly ReplicaCandidate[], threadId: string | null): ReplicaCandidate | undefined;
}

/** True when a replica can take a call now. */
export function isCallable(candidate: ReplicaCandidate): boolean {
  if (candidate.status !== "active") return false;
  // Kafka replicas own partitions; one with none (joining its group) cannot be addressed yet.
  return candidate.address.partitions === undefined || candidate.address.partitions.length > 0;
}

/** Round robin over callable replicas, per node. */
export class RoundRobinPicker implements ReplicaPicker {
  private readonly next = new Map<string, number>();

  pick(node: string, candidates: readonly ReplicaCandidate[]): ReplicaCandidate | undefined {
    const callable = candidates.filter(isCallable);
    if (callable.length === 0) return undefined;
    const i = (this.next.get(node) ?? 0) % callable.length;
    this.next.set(node, i + 1);
    return callable[i];
  }
}
