/**
 * The replica registry: which replicas serve which graph node, where they can be reached, what they
 * can do and how loaded they are. Replicas register and heartbeat; callers read a local cache that
 * follows changes in the background, so the balancer's per-call lookup ({@link Registry.replicas})
 * never waits on I/O.
 *
 * One implementation, {@link StoreRegistry}, works over any `StateStore` (in memory, or Redis via
 * `RedisRegistry` in `langgraph-fabric/redis`).
 *
 * @module
 */
import { z } from "zod";
import type { ReplicaAddress } from "../transport/Transport.js";

/** Whether a replica takes new calls (`active`) or only finishes the ones it has (`draining`). */
export type ReplicaStatus = "active" | "draining";

/** Load figures a replica reports with every heartbeat; balancers compare them across replicas. */
export interface ReplicaLoad {
  /** Calls being served right now (a count). */
  readonly inFlight: number;
  /** Exponentially weighted moving average of call latency, in milliseconds (0 before the first call). */
  readonly latencyEwmaMs: number;
  /** Share of recent calls that failed, 0..1. */
  readonly errorRate: number;
  /** CPU used by the replica's process over the last sample, as a fraction of one core, 0..1. */
  readonly cpu: number;
  /** Resident set size of the replica's process, in bytes. */
  readonly memoryBytes: number;
  /** Calls completed since the replica started (a count). Absent from records of older versions. */
  readonly calls?: number;
  /** Calls completed per second over the last heartbeat interval, as the replica measured it. Absent from records of older versions. */
  readonly callsPerSecond?: number;
}

/** A replica as the registry publishes it. Records are JSON: numbers are epoch milliseconds where they are times. */
export interface ReplicaInfo {
  /** The graph node the replica serves. */
  readonly node: string;
  /** Unique id of the replica (one `serve()` of one node in one process). */
  readonly replicaId: string;
  /** Where to send its calls (Kafka: the request-topic partitions it owns). */
  readonly address: ReplicaAddress;
  /** What it can do, for {@link Registry.findByCapability} (free-form tags such as `"gpu"` or `"model:gpt-4o"`). */
  readonly capabilities: readonly string[];
  /** Version of the code it runs (free-form; e.g. the package or image version). */
  readonly version: string;
  /** Relative share of traffic for weighted balancers (non-negative; 0 takes none). */
  readonly weight: number;
  /** Whether it takes new calls. */
  readonly status: ReplicaStatus;
  /** When it registered, by its own clock (epoch ms). */
  readonly startedAt: number;
  /** When it last heartbeat, by its own clock (epoch ms). */
  readonly lastHeartbeat: number;
  /**
   * How long after `lastHeartbeat` the record counts as gone, in milliseconds. Chosen by the
   * registering side and carried in the record, so readers configured differently agree with it.
   */
  readonly expireAfterMs: number;
  /** Load figures of the last heartbeat. */
  readonly load: ReplicaLoad;
  /** Free-form labels (host, pid, zone…) for status pages and logs. */
  readonly meta: Readonly<Record<string, string>>;
}

/**
 * Supplies a replica's load figures at each heartbeat. Fields left out default to 0, except `cpu`
 * and `memoryBytes`, which are sampled from the process (see `processLoad`). A provider that throws
 * does not stop heartbeats: the previous figures are sent again and the error is logged.
 */
export type LoadProvider = () => Partial<ReplicaLoad> | Promise<Partial<ReplicaLoad>>;

/** What a replica registers. Only `node` and `replicaId` are required. */
export interface ReplicaRegistration {
  /** The graph node served. Non-empty. */
  node: string;
  /** Unique replica id. Non-empty. */
  replicaId: string;
  /** Its address. Default: `{ replicaId, partitions: [] }` (joining: owns no partition yet). */
  address?: ReplicaAddress;
  /** Capability tags. Default: none. */
  capabilities?: readonly string[];
  /** Code version. Default: `""`. */
  version?: string;
  /** Traffic weight, a finite number ≥ 0. Default: 1. */
  weight?: number;
  /** Initial status. Default: `"active"`. */
  status?: ReplicaStatus;
  /** Free-form labels. Default: none. */
  meta?: Readonly<Record<string, string>>;
  /** Load figures for heartbeats. Default: process CPU and memory, everything else 0. */
  loadProvider?: LoadProvider;
}

/** The fields a registered replica may change; see {@link RegistrationHandle.update}. */
export type ReplicaUpdate = Partial<Pick<ReplicaInfo, "address" | "capabilities" | "version" | "weight" | "status" | "meta">>;

/** A replica's registration: heartbeats run on their own until {@link RegistrationHandle.deregister}. */
export interface RegistrationHandle {
  /** The record as last written by this handle. */
  readonly info: ReplicaInfo;
  /** Sends a heartbeat now (the timer keeps running). Rejects when the store fails. */
  heartbeat(): Promise<void>;
  /** Changes address, status, capabilities, version, weight or labels, and announces the change. */
  update(change: ReplicaUpdate): Promise<ReplicaInfo>;
  /** Stops heartbeats and removes the replica at once (rather than letting it expire). Idempotent. */
  deregister(): Promise<void>;
}

/**
 * A change seen by a follower. `updated` fires when anything but the load figures and the
 * heartbeat time changed (heartbeats alone fire nothing: read fresh load with `replicas()`).
 * `removed` covers deregistration, expiry and disappearance alike.
 */
export type RegistryEvent =
  | { readonly type: "added"; readonly replica: ReplicaInfo }
  | { readonly type: "updated"; readonly replica: ReplicaInfo; readonly previous: ReplicaInfo }
  | { readonly type: "removed"; readonly replica: ReplicaInfo };

/** Receives {@link RegistryEvent}s. Errors it throws are logged, never propagated. */
export type RegistryListener = (event: RegistryEvent) => void;

/** Filters of {@link Registry.replicas} and {@link Registry.findByCapability}. */
export interface ReplicaQuery {
  /** Include replicas that are draining (they take no new calls). Default: false. */
  includeDraining?: boolean;
}

/** Timer functions; inject them (with a clock) to make time-dependent tests deterministic. */
export interface RegistryTimers {
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: a registry's timers alone never keep a process alive. */
export const realTimers: RegistryTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Registration of replicas and a cached, followed view of all of them.
 *
 * Registering needs no `start()` (a worker process only registers); reading does: `start()` loads
 * the view and begins following changes.
 */
export interface Registry {
  /** Loads the current view and begins following changes. Idempotent. @throws RegistryError when the backend fails or after `stop()`. */
  start(): Promise<void>;
  /** Deregisters this registry's replicas, stops following and stops its timers. Idempotent. */
  stop(): Promise<void>;
  /** Registers a replica and starts its heartbeats. @throws RegistryError for a replica id this registry already holds. */
  register(registration: ReplicaRegistration): Promise<RegistrationHandle>;
  /**
   * Live replicas of `node` from the local cache, sorted by id: no I/O, cheap enough for every call.
   * A replica whose last heartbeat is older than its `expireAfterMs` (by this process's clock) is
   * left out even before the backend expires it. @throws RegistryError before `start()`.
   */
  replicas(node: string, query?: ReplicaQuery): ReplicaInfo[];
  /** Live replicas of any node that list `capability`, from the cache. @throws RegistryError before `start()`. */
  findByCapability(capability: string, query?: ReplicaQuery): ReplicaInfo[];
  /** Nodes with at least one live replica (active or draining), sorted. @throws RegistryError before `start()`. */
  nodes(): string[];
  /** Calls `listener` for every change of `node`'s replicas; returns a function that stops it. */
  watch(node: string, listener: RegistryListener): () => void;
  /** Re-reads the whole view now. @throws RegistryError when the backend fails. */
  refresh(): Promise<void>;
}

const nonNegative = z.number().nonnegative();

const replicaInfoSchema = z.object({
  node: z.string().min(1),
  replicaId: z.string().min(1),
  address: z.object({ replicaId: z.string(), partitions: z.array(z.number().int().nonnegative()).optional() }),
  capabilities: z.array(z.string()),
  version: z.string(),
  weight: nonNegative,
  status: z.enum(["active", "draining"]),
  startedAt: nonNegative,
  lastHeartbeat: nonNegative,
  expireAfterMs: z.number().int().positive(),
  load: z.object({
    inFlight: nonNegative,
    latencyEwmaMs: nonNegative,
    errorRate: nonNegative,
    cpu: nonNegative,
    memoryBytes: nonNegative,
    calls: nonNegative.optional(),
    callsPerSecond: nonNegative.optional(),
  }),
  meta: z.record(z.string(), z.string()).default({}),
});

/**
 * Parses a record read from the backend (written by another process, perhaps another version).
 * Unknown fields are dropped, so newer writers may add some. Returns `undefined` for an invalid one.
 */
export function parseReplicaInfo(value: unknown): ReplicaInfo | undefined {
  const parsed = replicaInfoSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Checks the fields a caller may set (registration or update).
 *
 * @throws RangeError naming the field and the value.
 */
export function validateReplicaFields(fields: ReplicaUpdate & { node?: string; replicaId?: string }): void {
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new RangeError(`${field} must be ${expected} (got ${safeText(value)})`);
  };
  for (const field of ["node", "replicaId"] as const) {
    const value = fields[field];
    if (field in fields && (typeof value !== "string" || value.length === 0)) fail(field, "a non-empty string", value);
  }
  const { address, capabilities, version, weight, meta } = fields;
  const status: unknown = fields.status;
  if (address !== undefined) {
    if (typeof address !== "object" || typeof address.replicaId !== "string") fail("address", "{ replicaId, partitions? }", address);
    const partitions = address.partitions;
    if (partitions !== undefined && (!Array.isArray(partitions) || !partitions.every((p) => Number.isSafeInteger(p) && p >= 0))) {
      fail("address.partitions", "an array of non-negative integers", partitions);
    }
  }
  if (capabilities !== undefined && (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === "string"))) {
    fail("capabilities", "an array of strings", capabilities);
  }
  if (version !== undefined && typeof version !== "string") fail("version", "a string", version);
  if (weight !== undefined && (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0)) {
    fail("weight", "a finite number ≥ 0", weight);
  }
  if (status !== undefined && status !== "active" && status !== "draining") fail("status", '"active" or "draining"', status);
  if (meta !== undefined && (typeof meta !== "object" || !Object.values(meta).every((v) => typeof v === "string"))) {
    fail("meta", "an object of string values", meta);
  }
}

/** `JSON.stringify` typed as it behaves: `undefined` for `undefined`, functions and symbols. */
const stringify: (value: unknown) => string | undefined = JSON.stringify;

function safeText(value: unknown): string {
  try {
    return stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A replica address with its own copy of the partitions. `partitions` stays absent for transports
 * without partitions (in memory): absent means "addressable by id", `[]` means "owns nothing yet".
 */
export function addressOf(replicaId: string, partitions: readonly number[] | undefined): ReplicaAddress {
  return partitions === undefined ? { replicaId } : { replicaId, partitions: [...partitions] };
}
