/**
 * Graceful degradation at start: what the fabric does when Kafka or Redis cannot be reached.
 *
 * The transport is probed by starting it (`transport.start()` rejects when the brokers cannot be
 * reached; its own retry settings bound how long that takes), the state store by reading a
 * sentinel key within `healthCheckTimeoutMs` (a `get`, so any `StateStore` can be checked without
 * a new method). Then, per `degradation`:
 *
 * - `"fail-fast"` (the default): log an error and throw `FabricUnavailableError` naming each
 *   backend that failed and why — a production process should not pretend to be part of a
 *   distributed system it cannot reach;
 * - `"fallback"`: log a warning and run on the in-process transport and/or state store instead,
 *   so the process keeps working alone (development, demos, a single node riding out an outage).
 *   A `registry` given with an unreachable state store is replaced too, since it normally lives on
 *   that store. The unreachable backends are left as they are: close them if you no longer need them.
 *
 * `fabric.status().degraded` says what was replaced and why.
 *
 * @module
 */
import { FabricUnavailableError, isConnectionSecurityError, type FabricBackend } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { Registry } from "../registry/Registry.js";
import { InMemoryStateStore } from "../state/InMemoryStateStore.js";
import type { StateStore } from "../state/StateStore.js";
import { InMemoryTransport } from "../transport/InMemoryTransport.js";
import type { Transport } from "../transport/Transport.js";
import { errorText, positiveInt, show } from "./validation.js";

/** What to do when a backend cannot be reached at start. */
export type DegradationMode = "fallback" | "fail-fast";

/** The backends a fabric runs without, and why: `fabric.status().degraded`. Empty when all is well. */
export type DegradedBackends = Partial<Record<FabricBackend, string>>;

/** Defaults of the degradation options. */
export const DEGRADATION_DEFAULTS = {
  degradation: "fail-fast" as DegradationMode,
  healthCheckTimeoutMs: 2_000, // ms a state store has to answer the start-up health check
};

/** The key read by the state store's health check (absent is a fine answer: only the round trip matters). */
const HEALTH_KEY = "health-check";

/** What {@link openBackends} reads from the fabric's configuration. */
export interface BackendConfig {
  transport?: Transport;
  state?: StateStore;
  registry?: Registry;
  degradation?: DegradationMode;
  healthCheckTimeoutMs?: number;
}

/** The result of {@link openBackends}: the backends to replace (spread them over the configuration) and why. */
export interface OpenedBackends {
  replacements: Pick<BackendConfig, "transport" | "state" | "registry">;
  degraded: DegradedBackends;
}

/**
 * Validates the degradation options. @throws RangeError naming the field and value.
 */
export function resolveDegradation(config: BackendConfig): { mode: DegradationMode; healthCheckTimeoutMs: number } {
  const mode: unknown = config.degradation ?? DEGRADATION_DEFAULTS.degradation;
  if (mode !== "fallback" && mode !== "fail-fast")
    throw new RangeError(`degradation must be "fallback" or "fail-fast" (got ${show(mode)})`);
  const healthCheckTimeoutMs = positiveInt(
    "healthCheckTimeoutMs",
    config.healthCheckTimeoutMs ?? DEGRADATION_DEFAULTS.healthCheckTimeoutMs,
    "milliseconds",
  );
  return { mode, healthCheckTimeoutMs };
}

/**
 * Starts the transport and checks the state store (both at once, each only when given); returns
 * why each failed, or an empty object. Rejects only with a `ConnectionSecurityError` (a wrong
 * password, an untrusted certificate, missing ACLs): that is a configuration to fix, not an outage
 * to ride out, so neither mode turns it into `FabricUnavailableError` or an in-process fallback.
 */
export async function probeBackends(
  transport: Transport | undefined,
  state: StateStore | undefined,
  timeoutMs: number,
): Promise<DegradedBackends> {
  const [t, s] = await Promise.all([
    transport?.start().then(
      () => undefined,
      (e: unknown) => {
        if (isConnectionSecurityError(e)) throw e;
        return `${transport.kind} transport could not start: ${errorText(e)}`;
      },
    ),
    state === undefined ? undefined : checkState(state, timeoutMs),
  ]);
  return { ...(t === undefined ? {} : { transport: t }), ...(s === undefined ? {} : { state: s }) };
}

/** Reads the sentinel key within `timeoutMs`; the reason it failed, or `undefined`. */
export async function checkState(state: StateStore, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the state store did not answer a health check within ${timeoutMs} ms`), timeoutMs);
  });
  const read = state
    .namespace("fabric")
    .get(HEALTH_KEY)
    .then(
      () => undefined,
      (e: unknown) => {
        if (isConnectionSecurityError(e)) throw e;
        return `the state store failed a health check: ${errorText(e)}`;
      },
    );
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the transport and checks the state store, whatever the degradation mode (a fabric
 * constructed directly cannot swap its backends).
 *
 * @throws FabricUnavailableError naming each backend that failed.
 */
export async function assertBackends(transport: Transport, state: StateStore, timeoutMs: number, logger: Logger): Promise<void> {
  const failures = await probeBackends(transport, state, timeoutMs);
  if (failures.transport === undefined && failures.state === undefined) return;
  logger.error("fabric: a backend is unreachable", { ...failures });
  throw new FabricUnavailableError(failures);
}

/**
 * Probes the configured transport and state store (only those given: the embedded defaults cannot
 * fail) and applies the degradation mode; see the module comment.
 *
 * @throws FabricUnavailableError in `"fail-fast"` mode when a backend cannot be reached; RangeError for invalid options.
 */
export async function openBackends(config: BackendConfig, logger: Logger): Promise<OpenedBackends> {
  const { mode, healthCheckTimeoutMs } = resolveDegradation(config);
  const degraded = await probeBackends(config.transport, config.state, healthCheckTimeoutMs);
  if (degraded.transport === undefined && degraded.state === undefined) return { replacements: {}, degraded };
  if (mode === "fail-fast") {
    logger.error('fabric: a backend is unreachable; failing fast (degradation: "fail-fast")', { ...degraded });
    throw new FabricUnavailableError(degraded);
  }
  const replacements: OpenedBackends["replacements"] = {};
  if (degraded.transport !== undefined) {
    replacements.transport = new InMemoryTransport({ logger, ...(config.transport ? { callerId: config.transport.callerId } : {}) });
  }
  if (degraded.state !== undefined) {
    replacements.state = new InMemoryStateStore();
    if (config.registry !== undefined) replacements.registry = undefined;
  }
  logger.warn('fabric: a backend is unreachable; running in-process instead (degradation: "fallback"): this process works alone', {
    ...degraded,
  });
  return { replacements, degraded };
}
