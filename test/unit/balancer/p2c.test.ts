// Power of two choices over peak EWMA: traffic leaves a slow replica within a few calls and comes
// back once it has recovered, the estimate's peak and decay rules, in-flight weighting,
// newcomers, failures, exclusions.
import { describe, expect, it } from "vitest";
import { PowerOfTwoChoicesBalancer } from "../../../src/balancer/PowerOfTwoChoicesBalancer.js";
import { call, deterministic, replicas, tally } from "./fixtures.js";

function setup(n: number, seed = 1, decayMs = 10_000) {
  const { clock, options } = deterministic(seed);
  const p2c = new PowerOfTwoChoicesBalancer({ ...options, decayMs });
  p2c.update("n", replicas(n));
  return { p2c, clock };
}

describe("PowerOfTwoChoicesBalancer", () => {
  it("moves traffic away from a slow replica within a few calls, and back after it recovers", () => {
    for (const seed of [1, 2, 3, 4]) {
      const { p2c, clock } = setup(4, seed);
      const latency: Record<string, number> = { r00: 10, r01: 10, r02: 300, r03: 10 };
      const early = Array.from({ length: 300 }, () => call(p2c, clock, (id) => latency[id]!));
      expect(early.filter((id) => id === "r02").length).toBeLessThanOrEqual(2); // one slow sample is enough
      expect(early.slice(-200)).not.toContain("r02");

      latency.r02 = 10; // recovered: nothing tells the balancer but its decaying estimate
      const later = Array.from({ length: 12_000 }, () => call(p2c, clock, (id) => latency[id]!));
      const share = later.slice(-3000).filter((id) => id === "r02").length / 3000;
      expect(share).toBeGreaterThan(0.15); // back near its quarter
      expect(share).toBeLessThan(0.35);
    }
  });

  it("takes a sample above the estimate at once (peak)", () => {
    const { p2c } = setup(2);
    for (const latencyMs of [10, 10, 10, 100]) p2c.onCallEnd("n", "r00", { latencyMs, failed: false });
    expect(p2c.stats("n")[0]!.latencyEwmaMs).toBe(100);
  });

  it("moves toward a lower sample with weight 1 − exp(−elapsed / decayMs)", () => {
    const { p2c, clock } = setup(2);
    p2c.onCallEnd("n", "r00", { latencyMs: 100, failed: false });
    clock.advance(10_000);
    p2c.onCallEnd("n", "r00", { latencyMs: 10, failed: false });
    expect(p2c.stats("n")[0]!.latencyEwmaMs).toBeCloseTo(100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 9);
    p2c.onCallEnd("n", "r00", { latencyMs: 5, failed: false }); // no time passed: no weight
    expect(p2c.stats("n")[0]!.latencyEwmaMs).toBeCloseTo(100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 9);
  });

  it("decays an estimate that gets no sample toward zero", () => {
    const { p2c, clock } = setup(2);
    p2c.onCallEnd("n", "r00", { latencyMs: 80, failed: false });
    clock.advance(20_000);
    expect(p2c.stats("n")[0]!.latencyEwmaMs).toBeCloseTo(80 * Math.exp(-2), 9);
  });

  it("weighs the estimate by calls in flight + 1", () => {
    const { p2c } = setup(2);
    p2c.onCallEnd("n", "r00", { latencyMs: 10, failed: false });
    p2c.onCallEnd("n", "r01", { latencyMs: 25, failed: false });
    expect(tally(50, () => p2c.select("n")?.replicaId).get("r00")).toBe(50);
    p2c.onCallStart("n", "r00");
    p2c.onCallStart("n", "r00"); // 10 × 3 = 30 > 25
    expect(tally(50, () => p2c.select("n")?.replicaId).get("r01")).toBe(50);
  });

  it("gives a newcomer the median estimate: some traffic, not a flood", () => {
    const { p2c } = setup(2);
    p2c.onCallEnd("n", "r00", { latencyMs: 10, failed: false });
    p2c.onCallEnd("n", "r01", { latencyMs: 1000, failed: false });
    p2c.update("n", replicas(3)); // r02 starts at 505: beats r01, loses to r00
    const seen = tally(3000, () => p2c.select("n")?.replicaId);
    expect(seen.get("r01")).toBeUndefined();
    expect(seen.get("r02")).toBeGreaterThan(850);
    expect(seen.get("r02")).toBeLessThan(1150);
  });

  it("counts a failure as a sample of twice the estimate, so fast failures repel traffic", () => {
    const { p2c } = setup(2);
    p2c.onCallEnd("n", "r00", { latencyMs: 10, failed: false });
    p2c.onCallEnd("n", "r01", { latencyMs: 15, failed: false });
    p2c.onCallEnd("n", "r00", { latencyMs: 1, failed: true });
    expect(p2c.stats("n")[0]).toMatchObject({ latencyEwmaMs: 20, errors: 1 });
    expect(p2c.select("n")?.replicaId).toBe("r01");
  });

  it("finds the few replicas left when most are excluded", () => {
    const { p2c } = setup(100);
    const exclude = new Set(replicas(100).map((r) => r.replicaId));
    exclude.delete("r42");
    exclude.delete("r77");
    const seen = tally(200, () => p2c.select("n", { exclude })?.replicaId);
    expect([...seen.keys()].sort()).toEqual(["r42", "r77"]);
    exclude.delete("r42");
    exclude.add("r42");
    exclude.add("r77");
    expect(p2c.select("n", { exclude })).toBeUndefined();
  });

  it("with one replica, returns it unless it is excluded", () => {
    const { p2c } = setup(1);
    expect(p2c.select("n")?.replicaId).toBe("r00");
    expect(p2c.select("n", { exclude: new Set(["r00"]) })).toBeUndefined();
  });

  it("draws every pair: with equal costs the traffic is uniform", () => {
    const { p2c } = setup(5, 9);
    const seen = tally(10_000, () => p2c.select("n")?.replicaId);
    for (const n of seen.values()) expect(Math.abs(n - 2000)).toBeLessThan(200);
  });
});
