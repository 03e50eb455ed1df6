// Consistent hashing on the thread id: stickiness, spread, few keys moving when replicas come and
// go, sticky failover past excluded replicas, weights; and the hash itself.
import { describe, expect, it } from "vitest";
import { ConsistentHashBalancer } from "../../../src/balancer/ConsistentHashBalancer.js";
import { hashString } from "../../../src/balancer/hashString.js";
import { deterministic, replica, replicas, tally } from "./fixtures.js";

const KEYS = Array.from({ length: 10_000 }, (_, i) => `thread-${i}`);

function ring(n: number, seed = 1) {
  const ch = new ConsistentHashBalancer(deterministic(seed).options);
  ch.update("n", replicas(n));
  return ch;
}

const owners = (ch: ConsistentHashBalancer, exclude?: ReadonlySet<string>) =>
  KEYS.map((threadId) => ch.select("n", { threadId, ...(exclude ? { exclude } : {}) })!.replicaId);

const fractionMoved = (a: string[], b: string[]) => a.filter((id, i) => id !== b[i]).length / a.length;

describe("ConsistentHashBalancer", () => {
  it("sends a thread to the same replica every time, in every process", () => {
    const a = owners(ring(10, 1));
    expect(owners(ring(10, 99))).toEqual(a); // another caller, other randomness: same answers
  });

  it("spreads threads evenly", () => {
    const ch = ring(10);
    const counts = tally(KEYS.length, (i) => ch.select("n", { threadId: KEYS[i]! })?.replicaId);
    expect(counts.size).toBe(10);
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(750);
      expect(n).toBeLessThan(1250);
    }
  });

  it("moves about 1/N of the threads, all to the newcomer, when one of N joins", () => {
    const ch = ring(10);
    const before = owners(ch);
    ch.update("n", replicas(11));
    const after = owners(ch);
    const moved = fractionMoved(before, after);
    expect(moved).toBeGreaterThan(0.05);
    expect(moved).toBeLessThan(0.14); // 1/11 ≈ 0.09
    before.forEach((id, i) => {
      if (after[i] !== id) expect(after[i]).toBe("r10");
    });
  });

  it("moves only the threads of a replica that leaves", () => {
    const ch = ring(10);
    const before = owners(ch);
    ch.update(
      "n",
      replicas(10).filter((r) => r.replicaId !== "r03"),
    );
    const after = owners(ch);
    const moved = fractionMoved(before, after);
    expect(moved).toBeGreaterThan(0.06);
    expect(moved).toBeLessThan(0.14); // 1/10
    before.forEach((id, i) => expect(after[i] === id).toBe(id !== "r03"));
  });

  it("hands an excluded replica's threads to the next replica on the ring, the same way every time", () => {
    const ch = ring(10);
    const before = owners(ch);
    const exclude = new Set(["r05"]);
    const during = owners(ch, exclude);
    expect(owners(ring(10, 7), exclude)).toEqual(during);
    before.forEach((id, i) => expect(during[i] === id).toBe(id !== "r05"));
    const heirs = new Set(during.filter((_, i) => before[i] === "r05"));
    expect(heirs.size).toBeGreaterThan(5); // spread over the ring, not dumped on one neighbour
    expect(heirs.has("r05")).toBe(false);
  });

  it("sends twice the threads to a replica of twice the weight", () => {
    const ch = new ConsistentHashBalancer(deterministic().options);
    ch.update("n", [replica("a", { weight: 2 }), replica("b"), replica("c"), replica("d", { weight: 0 })]);
    const counts = tally(KEYS.length, (i) => ch.select("n", { threadId: KEYS[i]! })?.replicaId);
    expect(counts.get("d")).toBeUndefined();
    expect(counts.get("a")! / KEYS.length).toBeGreaterThan(0.42);
    expect(counts.get("a")! / KEYS.length).toBeLessThan(0.58);
  });

  it("sends calls without a thread to random replicas", () => {
    const ch = ring(4);
    const counts = tally(4000, () => ch.select("n", { threadId: null })?.replicaId);
    expect(counts.size).toBe(4);
    for (const n of counts.values()) expect(n).toBeGreaterThan(700);
  });

  it("keeps its ring through refreshes that change nothing, and rebuilds when weights change", () => {
    const ch = ring(10);
    const before = owners(ch);
    ch.update("n", replicas(10));
    expect(owners(ch)).toEqual(before);
    ch.update(
      "n",
      replicas(10).map((r) => (r.replicaId === "r00" ? { ...r, weight: 3 } : r)),
    );
    const after = owners(ch);
    before.forEach((id, i) => {
      if (after[i] !== id) expect(after[i]).toBe("r00");
    });
    expect(after.filter((id) => id === "r00").length).toBeGreaterThan(before.filter((id) => id === "r00").length * 2);
  });
});

describe("hashString", () => {
  it("is stable across versions (callers must agree where a thread goes)", () => {
    expect(["", "a", "thread-1", "AAPL"].map(hashString)).toEqual([2872998923, 444641715, 1929922413, 2272979962]);
  });

  it("spreads similar strings over the whole 32-bit range", () => {
    const buckets = new Array<number>(16).fill(0);
    for (const key of KEYS) buckets[hashString(key) >>> 28]! += 1;
    for (const n of buckets) expect(Math.abs(n - KEYS.length / 16)).toBeLessThan(120);
  });
});
