// What every strategy promises, whatever its rule: empty sets, unknown nodes, draining replicas,
// exclusions, statistics, call reports for replicas that left, and option validation.
import { describe, expect, it } from "vitest";
import { BALANCER_NAMES, type BalancerName } from "../../../src/balancer/Balancer.js";
import { createBalancer } from "../../../src/balancer/createBalancer.js";
import { ConsistentHashBalancer } from "../../../src/balancer/ConsistentHashBalancer.js";
import { PowerOfTwoChoicesBalancer } from "../../../src/balancer/PowerOfTwoChoicesBalancer.js";
import { ResourceBalancer } from "../../../src/balancer/ResourceBalancer.js";
import { RoundRobinBalancer } from "../../../src/balancer/RoundRobinBalancer.js";
import { deterministic, replica, replicas, tally } from "./fixtures.js";

function make(name: BalancerName, seed = 1) {
  const { clock, options } = deterministic(seed);
  return { clock, balancer: createBalancer({ strategy: name, ...options }) };
}

describe.each(BALANCER_NAMES)("%s", (name) => {
  it("returns undefined for an unknown node, an empty set, and after the node is forgotten", () => {
    const { balancer } = make(name);
    expect(balancer.select("n")).toBeUndefined();
    balancer.update("n", []);
    expect(balancer.select("n")).toBeUndefined();
    balancer.update("n", replicas(3));
    expect(balancer.select("n")).toBeDefined();
    balancer.update("n", []);
    expect(balancer.select("n")).toBeUndefined();
    expect(balancer.stats("n")).toEqual([]);
  });

  it("never selects a draining replica, but keeps its statistics", () => {
    const { balancer } = make(name);
    balancer.update("n", [replica("a", { status: "draining" }), replica("b"), replica("c", { status: "draining" })]);
    const seen = tally(300, (i) => balancer.select("n", { threadId: `t${i}` })?.replicaId);
    expect([...seen.keys()]).toEqual(["b"]);
    expect(balancer.stats("n").map((s) => s.replicaId)).toEqual(["a", "b", "c"]);
    balancer.update("n", [replica("a", { status: "draining" })]);
    expect(balancer.select("n")).toBeUndefined();
  });

  it("skips excluded replicas and returns undefined when all are excluded", () => {
    const { balancer } = make(name);
    balancer.update("n", replicas(5));
    const exclude = new Set(["r00", "r02", "r04"]);
    const seen = tally(500, (i) => balancer.select("n", { threadId: `t${i}`, exclude })?.replicaId);
    // Deterministic strategies (performance, resource) keep choosing one replica while nothing starts.
    for (const id of seen.keys()) expect(["r01", "r03"]).toContain(id);
    expect(balancer.select("n", { threadId: "t", exclude: new Set(replicas(5).map((r) => r.replicaId)) })).toBeUndefined();
  });

  it("keeps counters per replica through the call lifecycle", () => {
    const { balancer, clock } = make(name);
    balancer.update("n", replicas(2));
    const chosen = balancer.select("n", { threadId: "t" })!;
    balancer.onCallStart("n", chosen.replicaId);
    let mine = balancer.stats("n").find((s) => s.replicaId === chosen.replicaId)!;
    expect(mine).toMatchObject({ selections: 1, inFlight: 1, calls: 0, errors: 0, latencyEwmaMs: 0 });
    clock.advance(40);
    balancer.onCallEnd("n", chosen.replicaId, { latencyMs: 40, failed: true });
    mine = balancer.stats("n").find((s) => s.replicaId === chosen.replicaId)!;
    expect(mine).toMatchObject({ selections: 1, inFlight: 0, calls: 1, errors: 1 });
    expect(mine.latencyEwmaMs).toBeGreaterThanOrEqual(40);
  });

  it("keeps a replica's state across updates that carry new records, and ignores reports for unknown replicas", () => {
    const { balancer } = make(name);
    balancer.update("n", replicas(3));
    balancer.onCallStart("n", "r01");
    balancer.update("n", replicas(3)); // a refresh: same ids, new objects
    expect(balancer.stats("n")[1]).toMatchObject({ replicaId: "r01", inFlight: 1 });
    balancer.onCallEnd("n", "gone", { latencyMs: 1, failed: false });
    balancer.onCallStart("other", "r01");
    balancer.update("n", replicas(2)); // r02 left
    balancer.onCallEnd("n", "r02", { latencyMs: 1, failed: false });
    expect(balancer.stats("n").map((s) => s.replicaId)).toEqual(["r00", "r01"]);
  });

  it("does not let an end without a start drive in-flight below zero", () => {
    const { balancer } = make(name);
    balancer.update("n", replicas(2));
    balancer.onCallEnd("n", "r00", { latencyMs: 5, failed: false });
    expect(balancer.stats("n")[0]).toMatchObject({ inFlight: 0, calls: 1 });
    expect(balancer.select("n", { threadId: "t" })).toBeDefined();
  });

  it("rejects a latency that is negative or not finite", () => {
    const { balancer } = make(name);
    balancer.update("n", replicas(1));
    for (const latencyMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => balancer.onCallEnd("n", "r00", { latencyMs, failed: false })).toThrow(RangeError);
    }
  });

  it("uses the first record of a duplicated id", () => {
    const { balancer } = make(name);
    balancer.update("n", [replica("a"), replica("a", { status: "draining" })]);
    expect(balancer.select("n", { threadId: "t" })?.replicaId).toBe("a");
    expect(balancer.stats("n")).toHaveLength(1);
  });

  it("keeps nodes apart", () => {
    const { balancer } = make(name);
    balancer.update("x", [replica("x1")]);
    balancer.update("y", [replica("y1")]);
    expect(balancer.select("x", { threadId: "t" })?.replicaId).toBe("x1");
    expect(balancer.select("y", { threadId: "t" })?.replicaId).toBe("y1");
  });

  it("is named after its strategy", () => {
    expect(make(name).balancer.name).toBe(name);
  });
});

describe("createBalancer", () => {
  it("defaults to p2c-ewma", () => {
    expect(createBalancer().name).toBe("p2c-ewma");
    expect(createBalancer()).toBeInstanceOf(PowerOfTwoChoicesBalancer);
    expect(createBalancer("round-robin")).toBeInstanceOf(RoundRobinBalancer);
    expect(createBalancer({ strategy: "consistent-hash", virtualNodes: 8 })).toBeInstanceOf(ConsistentHashBalancer);
  });

  it("rejects an unknown strategy, naming it", () => {
    expect(() => createBalancer("random" as BalancerName)).toThrow(/strategy must be one of round-robin.*\(got "random"\)/);
  });

  it.each([
    [{ strategy: "round-robin", latencyAlpha: 0 }, /latencyAlpha must be in \(0, 1\] \(got 0\)/],
    [{ strategy: "performance", latencyAlpha: 1.5 }, /latencyAlpha .*got 1.5/],
    [{ strategy: "least-connections", failurePenalty: 0.5 }, /failurePenalty .*got 0.5/],
    [{ strategy: "performance", initialLatencyMs: -1 }, /initialLatencyMs .*got -1/],
    [{ strategy: "p2c-ewma", decayMs: 0 }, /decayMs .*got 0/],
    [{ strategy: "performance", decayMs: Number.POSITIVE_INFINITY }, /decayMs .*got Infinity/],
    [{ strategy: "p2c-ewma", exclusionRetries: 1.5 }, /exclusionRetries .*got 1.5/],
    [{ strategy: "consistent-hash", virtualNodes: 0 }, /virtualNodes .*got 0/],
    [{ strategy: "resource", cpuWeight: -1 }, /cpuWeight .*got -1/],
    [{ strategy: "resource", inFlightWeight: Number.NaN }, /inFlightWeight .*got NaN/],
    [{ strategy: "round-robin", now: 5 }, /now must be a function/],
  ] as const)("validates options: %o", (spec, message) => {
    expect(() => createBalancer(spec as never)).toThrow(RangeError);
    expect(() => createBalancer(spec as never)).toThrow(message);
  });

  it("treats undefined options as absent", () => {
    expect(() => new ResourceBalancer({ cpuWeight: undefined, now: undefined })).not.toThrow();
  });
});
