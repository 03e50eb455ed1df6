import { BrokenCircuitError } from "cockatiel";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BreakerEventLog } from "../../../src/resilience/BreakerEvents.js";
import { OutlierDetector } from "../../../src/resilience/OutlierDetector.js";
import { ReplicaBreakers } from "../../../src/resilience/ReplicaBreakers.js";
import { resolveResilience } from "../../../src/resilience/resilienceOptions.js";

// Breaker lifecycle on a fake clock (cockatiel reads Date.now, which fake timers control).

class ReplicaDown extends Error {}
const fail = () => Promise.reject(new ReplicaDown("down"));
const ok = () => Promise.resolve("ok");

function setup(options = {}) {
  const events = new BreakerEventLog();
  const breakers = new ReplicaBreakers(
    resolveResilience({ halfOpenAfter: { initialMs: 1_000, maxMs: 8_000 }, ...options }),
    events,
    (e) => e instanceof ReplicaDown,
  );
  return { events, breakers };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-11-24T12:00:00Z"));
});
afterEach(() => vi.useRealTimers());

describe("ReplicaBreakers", () => {
  it("opens after 3 consecutive failures, rejects until the backoff, lets one probe through, resets on success", async () => {
    const { events, breakers } = setup();
    for (let i = 0; i < 2; i += 1) await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
    expect(breakers.rejects("n", "r1")).toBe(false);
    await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
    expect(events.recent().map((e) => e.type)).toEqual(["break"]);
    expect(breakers.rejects("n", "r1")).toBe(true);
    expect(breakers.exclusions("n", 3)?.has("r1")).toBe(true);
    await expect(breakers.execute("n", "r1", ok)).rejects.toBeInstanceOf(BrokenCircuitError);

    // The backoff has no jitter: the first probe is due exactly halfOpenAfter.initialMs after the break.
    vi.advanceTimersByTime(999);
    expect(breakers.rejects("n", "r1")).toBe(true);
    vi.advanceTimersByTime(1);
    expect(breakers.rejects("n", "r1")).toBe(false);
    await expect(breakers.execute("n", "r1", ok)).resolves.toBe("ok");
    expect(events.recent().map((e) => e.type)).toEqual(["break", "half-open", "reset"]);
    expect(breakers.exclusions("n", 3)).toBeUndefined();
  });

  it("a failed probe opens the breaker again", async () => {
    const { events, breakers } = setup({ breaker: { kind: "consecutive", threshold: 1 } });
    await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
    vi.advanceTimersByTime(8_000);
    await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
    expect(events.recent().map((e) => e.type)).toEqual(["break", "half-open", "break"]);
    expect(breakers.rejects("n", "r1")).toBe(true);
  });

  it("doubles the half-open wait on each failed probe, up to maxMs, and starts over after a reset", async () => {
    const { breakers } = setup({ breaker: { kind: "consecutive", threshold: 1 } });
    /** ms from the latest (re-)opening until the breaker takes its probe, found by stepping the clock. */
    const waitUntilProbe = () => {
      let waited = 0;
      while (breakers.rejects("n", "r1")) {
        vi.advanceTimersByTime(50);
        waited += 50;
      }
      return waited;
    };
    await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
    const waits = [waitUntilProbe()];
    for (let i = 0; i < 4; i += 1) {
      await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown); // the probe fails: open again
      waits.push(waitUntilProbe());
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    // The status page tells when the probe is due, consistently with what the balancer sees.
    await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
    const [open] = breakers.snapshot();
    expect(open!.until! - open!.since!).toBe(8_000);

    vi.advanceTimersByTime(8_000);
    await expect(breakers.execute("n", "r1", ok)).resolves.toBe("ok"); // the probe succeeds: closed
    await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
    expect(waitUntilProbe()).toBe(1_000);
  });

  describe("sampling breaker", () => {
    // Window of 1 s (cockatiel splits it in 5 buckets of 200 ms); it needs 10 calls/s to judge at all.
    const sampling = { breaker: { kind: "sampling" as const, threshold: 0.5, durationMs: 1_000, minimumRps: 10 } };

    it("opens when the failure share over its window exceeds the threshold, once the window has its minimum of calls", async () => {
      const { events, breakers } = setup(sampling);
      // 9 failures in a row: 100% failed, but under 10 calls in the window, so not judged yet.
      for (let i = 0; i < 9; i += 1) {
        await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
        vi.advanceTimersByTime(20);
      }
      expect(breakers.rejects("n", "r1")).toBe(false);
      await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown); // the 10th
      expect(breakers.rejects("n", "r1")).toBe(true);
      expect(events.recent().map((e) => e.type)).toEqual(["break"]);
    });

    it("stays closed at a failure share equal to the threshold, and opens just above it", async () => {
      const { breakers } = setup(sampling);
      for (let i = 0; i < 10; i += 1) {
        await breakers.execute("n", "r1", i % 2 === 0 ? ok : fail).catch(() => undefined);
        vi.advanceTimersByTime(20);
      }
      expect(breakers.rejects("n", "r1")).toBe(false); // 5 of 10: not above 0.5
      await expect(breakers.execute("n", "r1", fail)).rejects.toBeInstanceOf(ReplicaDown);
      expect(breakers.rejects("n", "r1")).toBe(true); // 6 of 11
    });

    it("judges the window, not the whole history: failures after a long good run open it within about a window's calls", async () => {
      const { breakers } = setup(sampling);
      // 200 successes over 10 s, one every 50 ms (20 calls per 1 s window).
      for (let i = 0; i < 200; i += 1) {
        await breakers.execute("n", "r1", ok);
        vi.advanceTimersByTime(50);
      }
      let failures = 0;
      while (!breakers.rejects("n", "r1") && failures < 200) {
        await breakers.execute("n", "r1", fail).catch(() => undefined);
        failures += 1;
        vi.advanceTimersByTime(50);
      }
      // Over the whole history it would take more than 200 failures; over a 20-call window, about 11.
      expect(failures).toBeGreaterThanOrEqual(9);
      expect(failures).toBeLessThanOrEqual(13);
    });

    it("rejects a threshold cockatiel cannot use, at construction", () => {
      for (const threshold of [0, 1, 1.5]) {
        expect(() => resolveResilience({ breaker: { kind: "sampling", threshold } })).toThrow(
          new RangeError(`breaker.threshold must be a number in (0, 1) (got ${threshold})`),
        );
      }
      expect(() => resolveResilience({ breaker: { kind: "sampling", durationMs: 0 } })).toThrow(/breaker.durationMs .*got 0/);
      expect(() => resolveResilience({ breaker: { kind: "sampling", minimumRps: -1 } })).toThrow(/breaker.minimumRps .*got -1/);
    });
  });

  it("errors that are not replica failures pass through without counting", async () => {
    const { breakers } = setup({ breaker: { kind: "consecutive", threshold: 1 } });
    for (let i = 0; i < 5; i += 1)
      await expect(breakers.execute("n", "r1", () => Promise.reject(new TypeError("bad input")))).rejects.toBeInstanceOf(TypeError);
    expect(breakers.rejects("n", "r1")).toBe(false);
  });

  it("caps ejection: with 3 replicas at 50%, only one may be out of service", async () => {
    const { breakers } = setup({ breaker: { kind: "consecutive", threshold: 1 }, maxEjectionPercent: 50 });
    await expect(breakers.execute("n", "r1", fail)).rejects.toThrow();
    vi.advanceTimersByTime(10);
    await expect(breakers.execute("n", "r2", fail)).rejects.toThrow();
    const exclude = breakers.exclusions("n", 3)!;
    // r1 broke first, so the cap keeps it in service; r2 stays out.
    expect([exclude.has("r1"), exclude.has("r2"), exclude.has("r3")]).toEqual([false, true, false]);
  });

  it("caps ejection by when replicas went out of service, whether their breaker opened or they were ejected", async () => {
    const { breakers } = setup({ breaker: { kind: "consecutive", threshold: 1 }, maxEjectionPercent: 50 });
    breakers.eject("n", "r1", 30_000, "outlier"); // out first: ejected until 30 s from now
    vi.advanceTimersByTime(10);
    await expect(breakers.execute("n", "r2", fail)).rejects.toThrow(); // out 10 ms later: its breaker opened
    const exclude = breakers.exclusions("n", 3)!;
    // Only one of 3 may be out: the cap keeps r1 (out first) in service, r2 stays out.
    expect([exclude.has("r1"), exclude.has("r2"), exclude.has("r3")]).toEqual([false, true, false]);
    const since = Object.fromEntries(breakers.snapshot().map((b) => [b.replicaId, b.since]));
    expect(since).toEqual({ r1: Date.now() - 10, r2: Date.now() });
  });

  it("ejects a replica whose success rate is below its peers' by more than the margin, for a while", () => {
    const { events, breakers } = setup();
    const detector = new OutlierDetector(
      resolveResilience({ outlier: { minRequests: 10, margin: 0.2, baseEjectionMs: 30_000 } }).outlier,
      breakers,
    );
    for (let i = 0; i < 20; i += 1) {
      detector.record("n", "good1", false);
      detector.record("n", "good2", false);
      detector.record("n", "good3", i % 10 === 0); // 90%: within the margin
      detector.record("n", "bad", i % 2 === 0); // 50%
    }
    expect(detector.evaluate().map((e) => e.replicaId)).toEqual(["bad"]);
    expect(breakers.exclusions("n", 4)?.has("bad")).toBe(true);
    expect(events.recent().map((e) => e.type)).toEqual(["eject"]);
    vi.advanceTimersByTime(30_000);
    expect(breakers.exclusions("n", 4)).toBeUndefined();
    expect(events.recent().map((e) => e.type)).toEqual(["eject", "return"]);
  });
});
