/**
 * Timing of very short operations (tens to hundreds of nanoseconds): many iterations per round,
 * calibrated to a round length, after a warm-up that lets the JIT optimize; median of rounds.
 */

/** Options of {@link nsPerOp}. */
export interface NsPerOpOptions {
  /** Rounds measured; the median is reported. Default: 7. */
  rounds?: number;
  /** Target length of one round, in milliseconds. Default: 30. */
  roundMs?: number;
  /** Warm-up before calibration, in milliseconds. Default: 60. */
  warmupMs?: number;
}

/** Result of {@link nsPerOp}, in nanoseconds per operation. */
export interface NsPerOp {
  median: number;
  min: number;
  max: number;
  /** Operations per round. */
  iterations: number;
}

const DEFAULTS = { rounds: 7, roundMs: 30, warmupMs: 60 } as const;

/** Keeps results alive so the optimizer cannot drop the measured work. */
export let blackhole = 0;

/**
 * Nanoseconds per operation of `run`, which must perform `iterations` operations and return a
 * number derived from their results (summed into {@link blackhole}). Yields to the event loop
 * between rounds, so timers and GC run outside the measured loops.
 */
export async function nsPerOp(run: (iterations: number) => number, options: NsPerOpOptions = {}): Promise<NsPerOp> {
  const { rounds, roundMs, warmupMs } = { ...DEFAULTS, ...options };
  let iterations = 1000;
  const warmEnd = performance.now() + warmupMs;
  let elapsed = 0;
  while (performance.now() < warmEnd) {
    const t0 = performance.now();
    blackhole += run(iterations);
    elapsed = performance.now() - t0;
    if (elapsed < roundMs / 4) iterations *= 2;
  }
  iterations = Math.max(1000, Math.round((iterations * roundMs) / Math.max(elapsed, 0.001)));
  const samples: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const t0 = performance.now();
    blackhole += run(iterations);
    samples.push(((performance.now() - t0) * 1e6) / iterations);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[samples.length >> 1]!, min: samples[0]!, max: samples[samples.length - 1]!, iterations };
}
