/**
 * Options of {@link startDashboard}, their defaults and their validation.
 *
 * @module
 */
import { ConfigurationError } from "../../errors.js";
import type { Fabric } from "../../fabric.js";
import type { Logger } from "../logger.js";
import type { DashboardSnapshot } from "./DashboardSnapshot.js";

/** Where samples come from: a function called once per interval while a page is open. */
export type DashboardSource = () => DashboardSnapshot | Promise<DashboardSnapshot>;

/** Options of {@link startDashboard}. Give `fabric` or `source`. */
export interface DashboardOptions {
  /** The fabric to show, sampled with `fabricSnapshot` (this process's view). Ignored when `source` is given. */
  fabric?: Fabric;
  /** Where samples come from (e.g. the `status` command's report over Kafka and Redis). Wins over `fabric`. */
  source?: DashboardSource;
  /**
   * TCP port to listen on; 0 picks a free one (read it back from `Dashboard.port`).
   * Default 8080.
   */
  port?: number;
  /**
   * Address to bind. Default `127.0.0.1`: the page shows the fabric's topology to whoever reaches
   * it, so exposing it (e.g. `0.0.0.0` in a container) is a choice made by name.
   */
  host?: string;
  /** Time between two samples, in ms (at least 100). Default 1000. */
  sampleIntervalMs?: number;
  /** Pages connected at once (at least 1); more are refused with 503. Default 64. */
  maxClients?: number;
  /** Folder of the page's files; default: the ones shipped with the package. */
  assetsDir?: string;
  /** Where sampling failures go. Default: a console logger named `dashboard`. */
  logger?: Logger;
}

/** The defaults, in one place. */
export const DASHBOARD_DEFAULTS = {
  port: 8080,
  host: "127.0.0.1",
  sampleIntervalMs: 1_000, // ms: the page's charts move once a second
  maxClients: 64, // event streams open at once
} as const;

/** Options with defaults applied. */
export interface ResolvedDashboardOptions {
  source: DashboardSource;
  port: number;
  host: string;
  sampleIntervalMs: number;
  maxClients: number;
  assetsDir: string | undefined;
}

/**
 * Applies defaults and validates.
 *
 * @param fromFabric turns a fabric into a source (injected to keep this file free of I/O).
 * @throws RangeError naming a field with a bad value; ConfigurationError when neither `fabric` nor `source` is given.
 */
export function resolveDashboardOptions(
  options: DashboardOptions,
  fromFabric: (fabric: Fabric) => DashboardSource,
): ResolvedDashboardOptions {
  const o = { ...DASHBOARD_DEFAULTS, ...definedOnly(options) };
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65_535)
    throw new RangeError(`port must be an integer from 0 to 65535 (got ${String(o.port)})`);
  if (typeof o.host !== "string" || o.host.trim() === "")
    throw new RangeError(`host must be a non-empty address (got ${JSON.stringify(o.host)})`);
  if (!Number.isInteger(o.sampleIntervalMs) || o.sampleIntervalMs < 100)
    throw new RangeError(`sampleIntervalMs must be an integer of at least 100 ms (got ${String(o.sampleIntervalMs)})`);
  if (!Number.isInteger(o.maxClients) || o.maxClients < 1)
    throw new RangeError(`maxClients must be a positive integer (got ${String(o.maxClients)})`);
  let source = options.source;
  if (source === undefined && options.fabric !== undefined) source = fromFabric(options.fabric);
  if (source === undefined) {
    throw new ConfigurationError("startDashboard needs a fabric or a source", {
      hint: "pass { fabric } to show this process's fabric, or { source } returning a DashboardSnapshot",
    });
  }
  return {
    source,
    port: o.port,
    host: o.host,
    sampleIntervalMs: o.sampleIntervalMs,
    maxClients: o.maxClients,
    assetsDir: options.assetsDir,
  };
}

/** `options` without its `undefined` fields, so that spreading it keeps the defaults. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
