// Performance-based (latency EWMA × in flight) and resource-based (CPU and memory) selection.
import { describe, expect, it } from "vitest";
import type { BalancerReplica } from "../../../src/balancer/Balancer.js";
import { PerformanceBalancer } from "../../../src/balancer/PerformanceBalancer.js";
import { ResourceBalancer } from "../../../src/balancer/ResourceBalancer.js";
import { call, deterministic, replica, replicas, seededRandom, tally } from "./fixtures.js";

describe("PerformanceBalancer", () => {
  /** A balancer whose replicas r00.. have one latency sample each. */
  function warmed(latencies: number[]) {
    const { clock, options } = deterministic();
    const perf = new PerformanceBalancer(options);
    perf.update("n", replicas(latencies.length));
    latencies.forEach((latencyMs, i) => perf.onCallEnd("n", `r0${i}`, { latencyMs, failed: false }));
    return { perf, clock };
  }

  it("picks the replica with the lowest latency EWMA", () => {
    const { perf } = warmed([50, 10, 30]);
    expect(perf.select("n")?.replicaId).toBe("r01");
    expect(perf.select("n", { exclude: new Set(["r01"]) })?.replicaId).toBe("r02");
  });

  it("adapts when the fastest replica slows down", () => {
    const { perf, clock } = warmed([50, 10, 30]);
    const latency: Record<string, number> = { r00: 50, r01: 200, r02: 30 };
    const picks = Array.from({ length: 12 }, () => call(perf, clock, (id) => latency[id]!));
    expect(picks[0]).toBe("r01");
    expect(picks.slice(4)).toEqual(Array(8).fill("r02"));
    expect(perf.stats("n")[1]!.latencyEwmaMs).toBeGreaterThan(30);
  });

  it("spreads concurrent calls in proportion to speed instead of piling them on the fastest", () => {
    const { perf } = warmed([10, 20, 40]);
    const started = tally(70, () => {
      const id = perf.select("n")!.replicaId;
      perf.onCallStart("n", id);
      return id;
    });
    expect(Object.fromEntries(started)).toEqual({ r00: 40, r01: 20, r02: 10 });
  });

  it("starts a newcomer at the median of the others, and replaces that with its first sample", () => {
    const { perf } = warmed([10, 30, 50]);
    perf.update("n", replicas(4)); // r03 joins, estimated at 30
    for (let i = 0; i < 3; i += 1) perf.onCallStart("n", "r00"); // r00 now costs 40
    expect(perf.select("n")?.replicaId).toBe("r01"); // 30, ahead of r03 (30) by position
    perf.onCallStart("n", "r01");
    expect(perf.select("n")?.replicaId).toBe("r03"); // 30, before r02 (50)
    perf.onCallEnd("n", "r03", { latencyMs: 5, failed: false });
    expect(perf.stats("n")[3]!.latencyEwmaMs).toBe(5);
  });

  it("tries a replica it avoided again once its estimate has decayed, and gives it its share back after it recovers", () => {
    const { perf, clock } = warmed([10, 10, 10]);
    const latency: Record<string, number> = { r00: 10, r01: 10, r02: 400 };
    const slow = Array.from({ length: 3_000 }, () => call(perf, clock, (id) => latency[id]!)); // 30 s of 10 ms calls
    // Avoided: tried again only when its estimate has decayed to its peers' (every ~25 s while it stays slow).
    expect(slow.filter((id) => id === "r02").length).toBeLessThanOrEqual(3);

    latency.r02 = 10; // recovered: nothing tells the balancer but the decay of its estimate
    const later = Array.from({ length: 9_000 }, () => call(perf, clock, (id) => latency[id]!)); // 90 s
    const share = later.slice(-3_000).filter((id) => id === "r02").length / 3_000;
    expect(share).toBeGreaterThan(0.25); // back near its third
    expect(share).toBeLessThan(0.4);
    expect(perf.stats("n")[2]!.latencyEwmaMs).toBeLessThan(15);
  });

  it("decays an estimate that gets no sample toward zero, with the configured time constant", () => {
    const { clock, options } = deterministic();
    const perf = new PerformanceBalancer({ ...options, decayMs: 1_000 });
    perf.update("n", replicas(2));
    perf.onCallEnd("n", "r00", { latencyMs: 100, failed: false });
    clock.advance(1_000);
    expect(perf.stats("n")[0]!.latencyEwmaMs).toBeCloseTo(100 / Math.E, 6);
    // The next sample is folded into the decayed estimate: 36.8 + 0.3 × (50 − 36.8).
    perf.onCallEnd("n", "r00", { latencyMs: 50, failed: false });
    expect(perf.stats("n")[0]!.latencyEwmaMs).toBeCloseTo(100 / Math.E + 0.3 * (50 - 100 / Math.E), 6);
  });

  it("selects the lowest decayed cost at every step, over many time constants", () => {
    const { clock, options } = deterministic(7);
    const random = seededRandom(11);
    const perf = new PerformanceBalancer({ ...options, decayMs: 500 });
    perf.update("n", replicas(8));
    // One sample each first: `stats` reports 0 for a replica without one (the balancer uses a neutral estimate).
    for (const r of replicas(8)) perf.onCallEnd("n", r.replicaId, { latencyMs: 1 + Math.floor(random() * 200), failed: false });
    const running: string[] = [];
    for (let step = 0; step < 3_000; step += 1) {
      clock.advance(Math.floor(random() * 40)); // 3 000 steps of 0–39 ms: about 120 time constants
      if (running.length > 0 && (running.length > 6 || random() < 0.5)) {
        const id = running.splice(Math.floor(random() * running.length), 1)[0]!;
        perf.onCallEnd("n", id, { latencyMs: 1 + Math.floor(random() * 200), failed: random() < 0.1 });
      } else {
        const id = perf.select("n")!.replicaId;
        const costs = perf.stats("n").map((r) => ({ id: r.replicaId, cost: (r.latencyEwmaMs + 0.001) * (r.inFlight + 1) }));
        const best = Math.min(...costs.map((c) => c.cost));
        expect(costs.find((c) => c.id === id)!.cost).toBeLessThanOrEqual(best * (1 + 1e-9) + 0.01);
        perf.onCallStart("n", id);
        running.push(id);
      }
    }
  });

  it("counts a fast failure as slow", () => {
    const { perf } = warmed([10, 12]);
    for (let i = 0; i < 3; i += 1) perf.onCallEnd("n", "r00", { latencyMs: 1, failed: true });
    expect(perf.stats("n")[0]!.latencyEwmaMs).toBeGreaterThan(12);
    expect(perf.select("n")?.replicaId).toBe("r01");
  });
});

describe("ResourceBalancer", () => {
  const GB = 2 ** 30;

  it("picks the replica with the lowest CPU and memory score", () => {
    const res = new ResourceBalancer(deterministic().options);
    res.update("n", [
      replica("a", { load: { cpu: 0.9, memoryBytes: 1 * GB } }),
      replica("b", { load: { cpu: 0.2, memoryBytes: 2 * GB } }),
      replica("c", { load: { cpu: 0.5, memoryBytes: 1 * GB } }),
    ]);
    // scores: a 0.63 + 0.15, b 0.14 + 0.3, c 0.35 + 0.15
    expect(res.select("n")?.replicaId).toBe("b");
    expect(res.select("n", { exclude: new Set(["b"]) })?.replicaId).toBe("c");
  });

  it("weighs memory relative to the node's largest replica, as configured", () => {
    const res = new ResourceBalancer({ ...deterministic().options, cpuWeight: 0, memoryWeight: 1 });
    res.update("n", [replica("a", { load: { cpu: 0, memoryBytes: 3 * GB } }), replica("b", { load: { cpu: 0.9, memoryBytes: 1 * GB } })]);
    expect(res.select("n")?.replicaId).toBe("b");
  });

  it("spreads calls made between heartbeats by counting its own calls in flight", () => {
    const res = new ResourceBalancer(deterministic().options);
    res.update("n", [replica("a", { load: { cpu: 0.1 } }), replica("b", { load: { cpu: 0.4 } })]);
    const started = tally(10, () => {
      const id = res.select("n")!.replicaId;
      res.onCallStart("n", id);
      return id;
    });
    // a: 0.07 + 0.1k, b: 0.28 + 0.1k → a takes the first three, then they alternate
    expect(Object.fromEntries(started)).toEqual({ a: 6, b: 4 });
    res.onCallEnd("n", "b", { latencyMs: 1, failed: false });
    expect(res.select("n")?.replicaId).toBe("b");
  });

  it("re-scores on each heartbeat update, keeping in-flight counts", () => {
    const res = new ResourceBalancer(deterministic().options);
    res.update("n", [replica("a", { load: { cpu: 0.1 } }), replica("b", { load: { cpu: 0.5 } })]);
    expect(res.select("n")?.replicaId).toBe("a");
    res.onCallStart("n", "a");
    res.update("n", [replica("a", { load: { cpu: 0.5 } }), replica("b", { load: { cpu: 0.5 } })]);
    expect(res.select("n")?.replicaId).toBe("b");
  });

  it("falls back to in-flight counts when replicas report no load", () => {
    const res = new ResourceBalancer<BalancerReplica>(deterministic().options);
    res.update("n", [
      { replicaId: "a", status: "active" },
      { replicaId: "b", status: "active", load: { cpu: Number.NaN, memoryBytes: -5 } },
    ]);
    res.onCallStart("n", "a");
    expect(res.select("n")?.replicaId).toBe("b");
  });
});
