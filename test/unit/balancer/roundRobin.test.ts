// Round robin and weighted round robin: fairness, proportions, smoothness, exclusions, and
// continuity across registry refreshes.
import { describe, expect, it } from "vitest";
import { RoundRobinBalancer } from "../../../src/balancer/RoundRobinBalancer.js";
import { WeightedRoundRobinBalancer } from "../../../src/balancer/WeightedRoundRobinBalancer.js";
import { deterministic, replica, replicas, tally } from "./fixtures.js";

describe("RoundRobinBalancer", () => {
  it("visits every replica in registry order, from a random start", () => {
    const { options } = deterministic(7);
    const rr = new RoundRobinBalancer(options);
    rr.update("n", replicas(5));
    const picks = Array.from({ length: 10 }, () => rr.select("n")!.replicaId);
    const start = Number(picks[0]!.slice(1));
    expect(picks).toEqual(Array.from({ length: 10 }, (_, i) => `r0${(start + i) % 5}`));
  });

  it("is exactly fair over many picks", () => {
    const rr = new RoundRobinBalancer(deterministic().options);
    rr.update("n", replicas(7));
    const seen = tally(7000, () => rr.select("n")?.replicaId);
    expect([...seen.values()]).toEqual(Array(7).fill(1000));
  });

  it("gives an excluded replica's turn to the next one", () => {
    const rr = new RoundRobinBalancer(deterministic().options);
    rr.update("n", replicas(4));
    const exclude = new Set(["r01"]);
    const seen = tally(3000, () => rr.select("n", { exclude })?.replicaId);
    expect(seen.get("r01")).toBeUndefined();
    expect([...seen.values()]).toEqual([1000, 1000, 1000]); // the rotation goes on past it
  });

  it("continues its rotation through a refresh and takes in a newcomer", () => {
    const rr = new RoundRobinBalancer(deterministic().options);
    rr.update("n", replicas(3));
    const before = [rr.select("n")!.replicaId, rr.select("n")!.replicaId];
    rr.update("n", replicas(3)); // new records, same ids
    const next = rr.select("n")!.replicaId;
    expect(new Set([...before, next]).size).toBe(3);
    rr.update("n", replicas(4));
    const seen = tally(400, () => rr.select("n")?.replicaId);
    expect([...seen.values()]).toEqual([100, 100, 100, 100]);
  });
});

describe("WeightedRoundRobinBalancer", () => {
  const weighted = (weights: number[]) => weights.map((weight, i) => replica(String.fromCharCode(97 + i), { weight }));

  /** Counts over `count` picks, checked against `expected` to within one turn (start offsets are random). */
  function expectShares(seen: Map<string, number>, expected: Record<string, number>): void {
    expect([...seen.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [id, n] of Object.entries(expected)) expect(Math.abs(seen.get(id)! - n)).toBeLessThanOrEqual(1);
  }

  it("gives each replica its weight's share", () => {
    for (const seed of [1, 2, 3]) {
      const wrr = new WeightedRoundRobinBalancer(deterministic(seed).options);
      wrr.update("n", weighted([1, 2, 5]));
      expectShares(
        tally(800, () => wrr.select("n")?.replicaId),
        { a: 100, b: 200, c: 500 },
      );
    }
  });

  it("accepts fractional weights", () => {
    const wrr = new WeightedRoundRobinBalancer(deterministic().options);
    wrr.update("n", weighted([0.5, 1.5, 0.25]));
    expectShares(
      tally(900, () => wrr.select("n")?.replicaId),
      { a: 200, b: 600, c: 100 },
    );
  });

  it("interleaves turns rather than sending a replica's whole share in a row", () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const wrr = new WeightedRoundRobinBalancer(deterministic(seed).options);
      wrr.update("n", weighted([5, 1, 1]));
      const picks = Array.from({ length: 700 }, () => wrr.select("n")!.replicaId).join("");
      expect(picks).not.toMatch(/aaaaa|bc|cb/); // plain weighted round robin would give aaaaabc
      expectShares(
        tally(700, (i) => picks[i]),
        { a: 500, b: 100, c: 100 },
      );
    }
  });

  it("gives nothing to a replica of weight 0, and nothing at all when every weight is 0", () => {
    const wrr = new WeightedRoundRobinBalancer(deterministic().options);
    wrr.update("n", weighted([0, 1, 1]));
    expect(tally(100, () => wrr.select("n")?.replicaId).get("a")).toBeUndefined();
    wrr.update("n", weighted([0, 0]));
    expect(wrr.select("n")).toBeUndefined();
  });

  it("lets an excluded replica lose its turns instead of catching up with a burst", () => {
    const wrr = new WeightedRoundRobinBalancer(deterministic().options);
    wrr.update("n", weighted([1, 1, 2]));
    const exclude = new Set(["a"]);
    expectShares(
      tally(300, () => wrr.select("n", { exclude })?.replicaId),
      { b: 100, c: 200 },
    );
    const after = Array.from({ length: 8 }, () => wrr.select("n")!.replicaId);
    expect(after.filter((id) => id === "a").length).toBeLessThanOrEqual(3); // its share (2 ± 1), not 75 missed turns
  });

  it("keeps its schedule through refreshes, so proportions hold even at one call per refresh", () => {
    const wrr = new WeightedRoundRobinBalancer(deterministic().options);
    const seen = tally(400, () => {
      wrr.update("n", weighted([1, 3]));
      return wrr.select("n")?.replicaId;
    });
    expectShares(seen, { a: 100, b: 300 });
  });

  it("starts a newcomer at the current virtual time and follows weight changes", () => {
    const wrr = new WeightedRoundRobinBalancer(deterministic().options);
    wrr.update("n", weighted([1, 1]));
    tally(1000, () => wrr.select("n")?.replicaId);
    wrr.update("n", weighted([1, 1, 1]));
    const first = tally(30, () => wrr.select("n")?.replicaId);
    expectShares(first, { a: 10, b: 10, c: 10 }); // no burst to catch up with the others
    wrr.update("n", weighted([1, 1, 4]));
    const later = tally(600, () => wrr.select("n")?.replicaId);
    expect(Math.abs(later.get("c")! - 400)).toBeLessThanOrEqual(3);
  });
});
