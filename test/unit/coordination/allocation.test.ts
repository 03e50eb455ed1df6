// Resource allocation by demand: the pure water-filling (properties with fast-check and worked
// examples) and the persisted pools shared by processes (merged demands, versions, no double
// allocation under concurrent allocators).
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { allocateByDemand, type ResourceDemand } from "../../../src/coordination/allocateByDemand.js";
import { ResourceAllocator } from "../../../src/coordination/ResourceAllocator.js";
import { isAllocationContentionError } from "../../../src/errors.js";
import { InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import type { KeyValueStore, StateStore } from "../../../src/state/StateStore.js";
import { Cluster } from "./harness.js";

const sum = (xs: Record<string, number>): number => Object.values(xs).reduce((a, b) => a + b, 0);
const slack = (total: number): number => 1e-9 * Math.max(1, total);

const demandArb = fc.record(
  {
    demand: fc.double({ min: 0, max: 1_000, noNaN: true }),
    priority: fc.double({ min: 0.1, max: 10, noNaN: true }),
    min: fc.double({ min: 0, max: 500, noNaN: true }),
  },
  { requiredKeys: ["demand"] },
);
const demandsArb = fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), demandArb, { minKeys: 0, maxKeys: 12 });
const totalArb = fc.double({ min: 0, max: 5_000, noNaN: true });

describe("allocateByDemand", () => {
  it("never hands out more than the total, and all of it when demand exceeds supply", () => {
    fc.assert(
      fc.property(totalArb, demandsArb, (total, demands) => {
        const x = allocateByDemand(total, demands);
        expect(Object.keys(x)).toEqual(Object.keys(demands));
        const given = sum(x);
        expect(given).toBeLessThanOrEqual(total + slack(total));
        const wanted = Object.values(demands).reduce((a, d) => a + d.demand, 0);
        expect(given).toBeCloseTo(Math.min(total, wanted), 6);
      }),
    );
  });

  it("gives nobody more than its demand or less than zero, and everyone its minimum when the minimums fit", () => {
    fc.assert(
      fc.property(totalArb, demandsArb, (total, demands) => {
        const x = allocateByDemand(total, demands);
        const mins = Object.values(demands).reduce((a, d) => a + Math.min(d.min ?? 0, d.demand), 0);
        for (const [id, d] of Object.entries(demands)) {
          expect(x[id]).toBeGreaterThanOrEqual(0);
          expect(x[id]).toBeLessThanOrEqual(d.demand);
          if (mins <= total) expect(x[id]!).toBeGreaterThanOrEqual(Math.min(d.min ?? 0, d.demand) - slack(total));
        }
      }),
    );
  });

  it("is weighted max-min fair: an agent short of its demand has at least the normalized share of anyone above their minimum", () => {
    fc.assert(
      fc.property(totalArb, demandsArb, (total, demands) => {
        const x = allocateByDemand(total, demands);
        const entries = Object.entries(demands);
        const mins = entries.reduce((a, [, d]) => a + Math.min(d.min ?? 0, d.demand), 0);
        // The floor that may hold an agent above the water level: its minimum, or (when the minimums do not fit) nothing.
        const floor = (d: ResourceDemand): number => (mins <= total ? Math.min(d.min ?? 0, d.demand) : 0);
        const cap = (d: ResourceDemand): number => (mins <= total ? d.demand : Math.min(d.min ?? 0, d.demand));
        for (const [i, di] of entries) {
          const xi = x[i]!;
          if (xi >= cap(di) - slack(total)) continue; // satisfied: may have less than the level
          for (const [j, dj] of entries) {
            const xj = x[j]!;
            if (xj <= floor(dj) + slack(total)) continue; // held up by its floor, not by the level
            expect(xj / (dj.priority ?? 1)).toBeLessThanOrEqual(xi / (di.priority ?? 1) + 1e-6);
          }
        }
      }),
    );
  });

  it("shares by priority and respects minimums (worked examples)", () => {
    expect(allocateByDemand(10, { a: { demand: 3 }, b: { demand: 4 } })).toEqual({ a: 3, b: 4 });
    expect(allocateByDemand(10, { a: { demand: 10 }, b: { demand: 10 } })).toEqual({ a: 5, b: 5 });
    expect(allocateByDemand(10, { a: { demand: 2 }, b: { demand: 10 }, c: { demand: 10 } })).toEqual({ a: 2, b: 4, c: 4 });
    expect(allocateByDemand(12, { a: { demand: 100, priority: 2 }, b: { demand: 100, priority: 1 } })).toEqual({ a: 8, b: 4 });
    // A minimum is a floor, not a bonus: b's minimum of 6 lifts it above the fair share of 5.
    expect(allocateByDemand(10, { a: { demand: 10 }, b: { demand: 10, min: 6 } })).toEqual({ a: 4, b: 6 });
    expect(allocateByDemand(10, { a: { demand: 10, min: 3 }, b: { demand: 10 } })).toEqual({ a: 5, b: 5 });
    // Minimums that do not fit are shared fairly among themselves.
    expect(allocateByDemand(6, { a: { demand: 10, min: 8 }, b: { demand: 10, min: 2 } })).toEqual({ a: 4, b: 2 });
    expect(allocateByDemand(0, { a: { demand: 5 } })).toEqual({ a: 0 });
    expect(allocateByDemand(5, {})).toEqual({});
  });

  it("names the invalid field", () => {
    expect(() => allocateByDemand(-1, {})).toThrow(/total must be a finite number >= 0 \(got -1\)/);
    expect(() => allocateByDemand(1, { a: { demand: -2 } })).toThrow(/demands\.a\.demand/);
    expect(() => allocateByDemand(1, { a: { demand: 2, priority: 0 } })).toThrow(/demands\.a\.priority must be a finite number > 0/);
    expect(() => allocateByDemand(1, { a: { demand: 2, min: Number.NaN } })).toThrow(/demands\.a\.min/);
    expect(() => allocateByDemand(1, { a: 3 as never })).toThrow(/demands\.a must be/);
  });
});

describe("persisted pools", () => {
  let cluster: Cluster;
  afterEach(async () => {
    await cluster.close();
  });

  it("merges the demands of every process into one versioned pool, so the total is never handed out twice", async () => {
    cluster = new Cluster();
    const [a, b] = [await cluster.fabric(), await cluster.fabric()];
    const [ra, rb] = await Promise.all([
      a.allocateResources({ key: "gpu", total: 8, demands: { momentum: { demand: 6 }, meanRev: { demand: 6 } } }),
      b.allocateResources({ key: "gpu", total: 8, demands: { risk: { demand: 6, priority: 2 } } }),
    ]);
    const last = ra.version > rb.version ? ra : rb;
    expect([ra.version, rb.version].sort()).toEqual([1, 2]);
    expect(Object.keys(last.allocations).sort()).toEqual(["meanRev", "momentum", "risk"]);
    expect(sum(last.allocations)).toBeCloseTo(8, 9);
    expect(last.allocations).toEqual({ momentum: 2, meanRev: 2, risk: 4 });
    expect(await a.coordination.allocation("gpu")).toEqual(last);

    // An agent's new demand replaces its old one; demand 0 removes it.
    const next = await b.allocateResources({ key: "gpu", total: 8, demands: { risk: { demand: 0 }, momentum: { demand: 1 } } });
    expect(next).toMatchObject({ version: 3, allocations: { momentum: 1, meanRev: 6 }, unallocated: 1, by: b.transport.callerId });
    const replaced = await a.allocateResources({ key: "gpu", total: 4, demands: { x: { demand: 9 } }, replace: true });
    expect(replaced).toMatchObject({ version: 4, allocations: { x: 4 } });
  });

  it("serializes many concurrent allocators by compare-and-set", async () => {
    cluster = new Cluster();
    const fabrics = await Promise.all(Array.from({ length: 4 }, () => cluster.fabric()));
    const results = await Promise.all(
      fabrics.flatMap((f, i) =>
        [0, 1, 2].map((k) => f.allocateResources({ key: "slots", total: 30, demands: { [`agent-${i}-${k}`]: { demand: 5 } } })),
      ),
    );
    expect(results.map((r) => r.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const final = (await fabrics[0]!.coordination.allocation("slots"))!;
    expect(Object.keys(final.allocations)).toHaveLength(12);
    expect(sum(final.allocations)).toBeCloseTo(30, 9);
    for (const r of results) expect(sum(r.allocations)).toBeLessThanOrEqual(30 + 1e-9);
  });

  it("without a key is a one-off computation, and gives up after maxAttempts lost compare-and-sets", async () => {
    const store = new InMemoryStateStore();
    const one = await new ResourceAllocator(store, { owner: "me", now: () => 5 }).allocate({ total: 1, demands: { a: { demand: 2 } } });
    expect(one).toEqual({ version: 0, total: 1, demands: { a: { demand: 2 } }, allocations: { a: 1 }, unallocated: 0, at: 5, by: "me" });
    // A store whose every compare-and-set loses: another allocator always got there first.
    const losing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== "namespace") return Reflect.get(target, prop, receiver) as unknown;
        return (...segments: string[]): KeyValueStore => ({
          ...target.namespace(...segments),
          get: () => Promise.resolve(undefined),
          compareAndSet: () => Promise.resolve(false),
        });
      },
    }) as StateStore;
    await expect(
      new ResourceAllocator(losing, { owner: "me", maxAttempts: 3 }).allocate({ key: "k", total: 1, demands: {} }),
    ).rejects.toSatisfy(isAllocationContentionError);
    await expect(new ResourceAllocator(store, { owner: "me" }).allocate({ key: "", total: 1, demands: {} })).rejects.toThrow(/key must be/);
    expect(() => new ResourceAllocator(store, { owner: "me", maxAttempts: 0 })).toThrow(/maxAttempts must be a positive integer/);
    await store.close();
  });
});
