// Least connections: the least loaded replica by this caller's own in-flight count, random ties.
import { describe, expect, it } from "vitest";
import { LeastConnectionsBalancer } from "../../../src/balancer/LeastConnectionsBalancer.js";
import { deterministic, replicas, tally } from "./fixtures.js";

function setup(n = 4) {
  const lc = new LeastConnectionsBalancer(deterministic(3).options);
  lc.update("n", replicas(n));
  const start = () => {
    const id = lc.select("n")!.replicaId;
    lc.onCallStart("n", id);
    return id;
  };
  return { lc, start };
}

describe("LeastConnectionsBalancer", () => {
  it("picks the replica with the fewest calls in flight", () => {
    const { lc } = setup(3);
    lc.onCallStart("n", "r00");
    lc.onCallStart("n", "r00");
    lc.onCallStart("n", "r01");
    expect(lc.select("n")?.replicaId).toBe("r02");
    lc.onCallStart("n", "r02");
    lc.onCallStart("n", "r02");
    expect(lc.select("n")?.replicaId).toBe("r01");
  });

  it("breaks ties at random among the least loaded", () => {
    const { lc } = setup(4);
    lc.onCallStart("n", "r03");
    const seen = tally(4000, () => lc.select("n")?.replicaId);
    expect(seen.get("r03")).toBeUndefined();
    for (const id of ["r00", "r01", "r02"]) {
      expect(seen.get(id)).toBeGreaterThan(1100);
      expect(seen.get(id)).toBeLessThan(1560);
    }
  });

  it("spreads concurrent calls evenly and refills the replica whose call ended", () => {
    const { lc, start } = setup(4);
    const started = tally(12, start);
    expect([...started.values()]).toEqual([3, 3, 3, 3]);
    lc.onCallEnd("n", "r02", { latencyMs: 5, failed: false });
    expect(lc.select("n")?.replicaId).toBe("r02");
    expect(lc.stats("n").map((s) => s.inFlight)).toEqual([3, 3, 2, 3]);
  });

  it("steps over excluded replicas, then to the next load level", () => {
    const { lc } = setup(3);
    lc.onCallStart("n", "r01");
    lc.onCallStart("n", "r02");
    lc.onCallStart("n", "r02");
    expect(lc.select("n", { exclude: new Set(["r00"]) })?.replicaId).toBe("r01");
    expect(lc.select("n", { exclude: new Set(["r00", "r01"]) })?.replicaId).toBe("r02");
  });

  it("keeps in-flight counts through refreshes and when replicas join", () => {
    const { lc, start } = setup(2);
    tally(4, start);
    lc.update("n", replicas(3));
    expect(tally(2, start).get("r02")).toBe(2);
    lc.onCallEnd("n", "r00", { latencyMs: 1, failed: false });
    expect(lc.select("n")?.replicaId).toBe("r00");
  });
});
