/**
 * Samples this process's CPU and memory for replica heartbeats.
 *
 * @module
 */
import { performance } from "node:perf_hooks";
import type { ReplicaLoad } from "./Registry.js";

/** The process figures of a {@link ReplicaLoad}. */
export type ProcessLoadSample = Pick<ReplicaLoad, "cpu" | "memoryBytes">;

/** Options of {@link processLoad}; inject them to make tests deterministic. */
export interface ProcessLoadOptions {
  /** Monotonic clock in milliseconds. Default: `performance.now`. */
  now?: () => number;
  /** CPU time used by the process so far, in microseconds (user + system). Default: from `process.cpuUsage()`. */
  cpuMicros?: () => number;
  /** Resident set size in bytes. Default: `process.memoryUsage.rss()` (cheaper than `memoryUsage()`, which walks the heap). */
  memoryBytes?: () => number;
}

const defaultCpuMicros = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/**
 * A sampler: each call returns the CPU used since the previous call (the first: since the sampler
 * was made) as a fraction of one core, and the current RSS.
 *
 * CPU is clamped to 0..1: V8's GC and libuv's thread pool run on other threads, so the raw figure
 * can exceed one core for a single-threaded program; balancers compare replicas, and the clamp
 * keeps the figure on the scale the registry documents. A call less than a millisecond after the
 * previous one returns the previous CPU figure rather than a noisy ratio of tiny numbers.
 */
export function processLoad(options: ProcessLoadOptions = {}): () => ProcessLoadSample {
  const now = options.now ?? (() => performance.now());
  const cpuMicros = options.cpuMicros ?? defaultCpuMicros;
  const memoryBytes = options.memoryBytes ?? (() => process.memoryUsage.rss());
  for (const [field, fn] of [
    ["now", now],
    ["cpuMicros", cpuMicros],
    ["memoryBytes", memoryBytes],
  ] as const) {
    if (typeof fn !== "function") throw new RangeError(`${field} must be a function (got ${typeof fn})`);
  }
  let lastAt = now();
  let lastCpu = cpuMicros();
  let cpu = 0;
  return () => {
    const at = now();
    const used = cpuMicros();
    const elapsedMs = at - lastAt;
    if (elapsedMs >= 1) {
      cpu = Math.min(1, Math.max(0, (used - lastCpu) / 1000 / elapsedMs));
      lastAt = at;
      lastCpu = used;
    }
    return { cpu, memoryBytes: memoryBytes() };
  };
}
