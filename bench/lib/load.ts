/**
 * Load shapes for latency and throughput benchmarks: closed-loop sequential calls, an open loop
 * at a fixed rate, and a fixed window of calls kept in flight for a fixed time.
 */

/** What a load run measured. */
export interface LoadResult {
  /** Latency of each call completed in the measured interval, in milliseconds. */
  latencies: number[];
  /** Calls completed in the measured interval. */
  calls: number;
  /** Calls that failed in the measured interval. */
  errors: number;
  /** Length of the measured interval, in seconds. */
  seconds: number;
  /** The first failure, to print. */
  firstError?: unknown;
}

/** Hooks around the measured interval (e.g. CPU snapshots). */
export interface MeasureHooks {
  onStart?: () => Promise<void>;
  onEnd?: () => Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` calls one after another (closed loop, one in flight). */
export async function sequential(count: number, call: (i: number) => Promise<unknown>, hooks: MeasureHooks = {}): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  await hooks.onStart?.();
  const t0 = performance.now();
  for (let i = 0; i < count; i += 1) {
    const s = performance.now();
    try {
      await call(i);
      latencies.push(performance.now() - s);
    } catch (e) {
      errors += 1;
      firstError ??= e;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await hooks.onEnd?.();
  return { latencies, calls: latencies.length, errors, seconds, firstError };
}

/**
 * An open loop: one call every `1000 / rate` ms for `seconds`, whatever the earlier calls are
 * doing, so a slow call does not hold back the next ones. Each latency runs from the moment the
 * call is actually issued (timers fire up to ~1 ms late; that lag is not the system's).
 */
export async function openLoop(
  rate: number,
  seconds: number,
  call: (i: number) => Promise<unknown>,
  hooks: MeasureHooks = {},
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const inFlight: Promise<void>[] = [];
  await hooks.onStart?.();
  const t0 = performance.now();
  for (let i = 0; i < total; i += 1) {
    const wait = t0 + i * interval - performance.now();
    if (wait >= 1) await sleep(wait);
    const s = performance.now();
    inFlight.push(
      call(i).then(
        () => void latencies.push(performance.now() - s),
        (e: unknown) => {
          errors += 1;
          firstError ??= e;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const secondsTaken = (performance.now() - t0) / 1000;
  await hooks.onEnd?.();
  return { latencies, calls: latencies.length, errors, seconds: secondsTaken, firstError };
}

/**
 * `window` calls kept in flight (each worker calls again as soon as its call ends) for
 * `warmupS + seconds`; only the last `seconds` are measured.
 */
export async function window(
  size: number,
  warmupS: number,
  seconds: number,
  call: (i: number) => Promise<unknown>,
  hooks: MeasureHooks = {},
): Promise<LoadResult> {
  let latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  let measuring = false;
  let stopped = false;
  let n = 0;
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const s = performance.now();
      try {
        await call(n++);
        // Completions inside the interval count, whenever they started: calls/s is then exact.
        if (measuring) latencies.push(performance.now() - s);
      } catch (e) {
        if (measuring) errors += 1;
        firstError ??= e;
      }
    }
  };
  const workers = Array.from({ length: size }, worker);
  await sleep(warmupS * 1000);
  await hooks.onStart?.();
  latencies = [];
  errors = 0;
  measuring = true;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  measuring = false;
  const measured = (performance.now() - t0) / 1000;
  const result = { latencies, calls: latencies.length, errors, seconds: measured, firstError };
  await hooks.onEnd?.();
  stopped = true;
  await Promise.all(workers);
  return result;
}
