// Performance-based (latency EWMA × in flight) and resource-based (CPU and memory) selection.
import { describe, expect, it } from "vitest";
import type { BalancerReplica } from "../../../src/balancer/Balancer.js";
import { PerformanceBalancer } from "../../../src/balancer/PerformanceBalancer.js";
import { ResourceBalancer } from "../../../src/balancer/ResourceBalancer.js";
import { call, deterministic, replica, replicas, tally } from "./fixtures.js";

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
