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

    // The backoff is exponential with jitter, at most maxMs; past it one probe runs and closes the breaker.
    vi.advanceTimersByTime(8_000);
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
