/**
 * What a replica picker sees of a replica, and the picker interface the balancer implements
 * (`BalancedPicker`).
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
