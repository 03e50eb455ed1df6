// Properties every strategy must keep under any sequence of updates, selections, call starts and
// ends, and clock moves: a selection is never excluded, draining, weightless (for weighted
// strategies) or stale, and there is one whenever some replica is eligible.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BALANCER_NAMES, type BalancerName } from "../../../src/balancer/Balancer.js";
import { createBalancer } from "../../../src/balancer/createBalancer.js";
import { IndexedMinHeap } from "../../../src/balancer/IndexedMinHeap.js";
import type { ReplicaInfo } from "../../../src/registry/Registry.js";
import { deterministic, replica } from "./fixtures.js";

const IDS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
const WEIGHTED = new Set<BalancerName>(["weighted-round-robin", "consistent-hash"]);

const replicaArb = fc
  .record({
    id: fc.constantFrom(...IDS),
    status: fc.constantFrom("active" as const, "draining" as const),
    weight: fc.constantFrom(0, 0.25, 1, 3),
    cpu: fc.double({ min: 0, max: 2, noNaN: true }),
    memoryBytes: fc.integer({ min: 0, max: 2 ** 33 }),
  })
  .map((r) => replica(r.id, { status: r.status, weight: r.weight, load: { cpu: r.cpu, memoryBytes: r.memoryBytes } }));
const setArb = fc.uniqueArray(replicaArb, { selector: (r) => r.replicaId, maxLength: IDS.length });

type Op =
  | { kind: "select"; threadId: string | null; exclude: string[]; start: boolean }
  | { kind: "end"; which: number; latencyMs: number; failed: boolean }
  | { kind: "update"; set: ReplicaInfo[] }
  | { kind: "advance"; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("select" as const),
      threadId: fc.option(fc.string({ maxLength: 6 }), { nil: null }),
      exclude: fc.subarray(IDS),
      start: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("end" as const),
      which: fc.nat(),
      latencyMs: fc.double({ min: 0, max: 5000, noNaN: true }),
      failed: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("update" as const), set: setArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 120_000 }) }) },
);

describe("every strategy", () => {
  it.each(BALANCER_NAMES)("%s: selects only eligible, non-excluded, current replicas, and always one when any is eligible", (name) => {
    fc.assert(
      fc.property(setArb, fc.array(opArb, { maxLength: 80 }), fc.integer(), (initial, ops, seed) => {
        const { clock, options } = deterministic(seed);
        const balancer = createBalancer({ strategy: name, ...options });
        let current = initial;
        balancer.update("n", current);
        const running: string[] = [];
        for (const op of ops) {
          if (op.kind === "select") {
            const exclude = new Set(op.exclude);
            const chosen = balancer.select("n", { threadId: op.threadId, exclude });
            const eligible = current.filter(
              (r) => r.status === "active" && (!WEIGHTED.has(name) || r.weight > 0) && !exclude.has(r.replicaId),
            );
            if (eligible.length === 0) {
              expect(chosen).toBeUndefined();
            } else {
              expect(chosen).toBeDefined();
              expect(eligible).toContain(chosen); // by identity: the record of the last update
              if (op.start) {
                balancer.onCallStart("n", chosen!.replicaId);
                running.push(chosen!.replicaId);
              }
            }
          } else if (op.kind === "end") {
            if (running.length === 0) continue;
            const [id] = running.splice(op.which % running.length, 1);
            balancer.onCallEnd("n", id!, { latencyMs: op.latencyMs, failed: op.failed });
          } else if (op.kind === "update") {
            current = op.set;
            balancer.update("n", current);
          } else {
            clock.advance(op.ms);
          }
        }
        for (const s of balancer.stats("n")) {
          expect(s.inFlight).toBeGreaterThanOrEqual(0);
          expect(s.errors).toBeLessThanOrEqual(s.calls);
          expect(Number.isFinite(s.latencyEwmaMs) && s.latencyEwmaMs >= 0).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("IndexedMinHeap", () => {
  it("keeps the smallest key (ties by item) on top through key changes, and finds the smallest unskipped item", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 20 }), fc.array(fc.boolean(), { maxLength: 40 }))),
        (initial, changes) => {
          const keys = [...initial];
          const heap = new IndexedMinHeap(Float64Array.from(keys));
          const argmin = (skip: (i: number) => boolean) => {
            let best = -1;
            keys.forEach((k, i) => {
              if (!skip(i) && (best < 0 || k < keys[best]!)) best = i;
            });
            return best;
          };
          expect(heap.peek()).toBe(argmin(() => false));
          for (const [which, key, mask] of changes) {
            const item = which % keys.length;
            keys[item] = key;
            heap.set(item, key);
            expect(heap.peek()).toBe(argmin(() => false));
            const skip = (i: number) => mask[i] === true;
            const skipped: number[] = [];
            expect(heap.minWhere(skip, skipped)).toBe(argmin(skip));
            expect(skipped.every(skip)).toBe(true);
          }
        },
      ),
    );
  });
});
