// Queue part of the StateStore conformance suite (registered by stateStoreConformance).
import { describe, expect, it } from "vitest";
import type { ClaimedItem, StateStore } from "../../src/state/StateStore.js";
import type { StateStoreHarness } from "./stateStoreConformance.js";

/** The current test's harness, store and clock (set by the parent suite's beforeEach). */
export type QueueSuiteContext = () => { h: StateStoreHarness; store: StateStore; advance: (ms: number) => Promise<void> };

const LONG = 60_000;

/** Registers the reliable-queue cases. */
export function stateQueueConformance(ctx: QueueSuiteContext): void {
  describe("reliable queues", () => {
    it("push, claim and ack in FIFO order; claim on an empty queue gives undefined", async () => {
      const { store } = ctx();
      const q = store.queue<{ n: number }>("jobs");
      expect(await q.claim({ leaseMs: LONG })).toBeUndefined();
      const ids = [await q.push({ n: 1 }), await q.push({ n: 2 })];
      expect(await q.stats()).toEqual({ ready: 2, leased: 0 });
      const first = await q.claim({ leaseMs: LONG });
      expect(first).toMatchObject({ id: ids[0], payload: { n: 1 }, attempts: 1 });
      expect(first!.leaseExpiresAt).toBeGreaterThan(0);
      expect(typeof first!.receipt).toBe("string");
      expect(await q.stats()).toEqual({ ready: 1, leased: 1 });
      expect(await q.ack(first!)).toBe(true);
      expect(await q.ack(first!)).toBe(false);
      const second = await q.claim({ leaseMs: LONG });
      expect(second).toMatchObject({ id: ids[1], payload: { n: 2 } });
      expect(await q.ack(second!)).toBe(true);
      expect(await q.stats()).toEqual({ ready: 0, leased: 0 });
      expect(await q.claim({ leaseMs: LONG })).toBeUndefined();
    });

    it("queues are independent and pushing an id still in the queue does nothing", async () => {
      const { store } = ctx();
      const a = store.queue("a");
      expect(await a.push("first", { id: "x" })).toBe("x");
      expect(await a.push("second", { id: "x" })).toBe("x");
      await store.queue("b").push("other");
      const claimed = await a.claim({ leaseMs: LONG });
      expect(claimed).toMatchObject({ id: "x", payload: "first" });
      expect(await a.claim({ leaseMs: LONG })).toBeUndefined();
      await a.ack(claimed!);
      await a.push("again", { id: "x" });
      expect(await a.claim({ leaseMs: LONG })).toMatchObject({ id: "x", payload: "again", attempts: 1 });
    });

    it("two consumers never claim the same item", async () => {
      const { h, store } = ctx();
      const peer = await h.openPeer();
      for (let i = 0; i < 40; i++) await store.queue("q").push(i);
      const claims = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? store : peer).queue("q").claim({ leaseMs: LONG })),
      );
      const got = claims.filter((c) => c !== undefined);
      expect(got).toHaveLength(40);
      expect(new Set(got.map((c) => c.id)).size).toBe(40);
      expect(new Set(got.map((c) => c.payload)).size).toBe(40);
    });

    it("an item whose consumer died is claimable again after its lease, with attempts + 1", async () => {
      const { h, store, advance } = ctx();
      const peer = await h.openPeer();
      await store.queue("q").push({ job: 1 });
      const dead = await store.queue("q").claim({ leaseMs: 100 });
      expect(await peer.queue("q").claim({ leaseMs: LONG })).toBeUndefined();
      await advance(200);
      const retried = await peer.queue("q").claim({ leaseMs: LONG });
      expect(retried).toMatchObject({ id: dead!.id, payload: { job: 1 }, attempts: 2 });
      expect(retried!.receipt).not.toBe(dead!.receipt);
      // The dead consumer's late calls are refused: the item belongs to the new claim.
      expect(await store.queue("q").ack(dead!)).toBe(false);
      expect(await store.queue("q").release(dead!)).toBe(false);
      expect(await store.queue("q").extendLease(dead!, LONG)).toBeUndefined();
      expect(await peer.queue("q").ack(retried!)).toBe(true);
      expect(await store.queue("q").stats()).toEqual({ ready: 0, leased: 0 });
    });

    it("a late ack succeeds while the expired item has not been requeued", async () => {
      const { store, advance } = ctx();
      const q = store.queue("q");
      await q.push(1);
      const item = await q.claim({ leaseMs: 100 });
      await advance(200);
      expect(await q.ack(item!)).toBe(true);
      expect(await q.claim({ leaseMs: LONG })).toBeUndefined();
    });

    it("requeueExpired moves expired leases back to the head and counts them", async () => {
      const { store, advance } = ctx();
      const q = store.queue<string>("q");
      for (const p of ["a", "b", "c"]) await q.push(p);
      const a = await q.claim({ leaseMs: 100 });
      await advance(5); // distinct lease ends, so the requeue order is defined
      const b = await q.claim({ leaseMs: 100 });
      await advance(200);
      expect(await q.stats()).toEqual({ ready: 1, leased: 2 });
      expect(await q.requeueExpired()).toBe(2);
      expect(await q.requeueExpired()).toBe(0);
      expect(await q.stats()).toEqual({ ready: 3, leased: 0 });
      const order: string[] = [];
      for (let c = await q.claim({ leaseMs: LONG }); c; c = await q.claim({ leaseMs: LONG })) order.push(c.payload);
      expect(order).toEqual(["a", "b", "c"]);
      expect([a!.attempts, b!.attempts]).toEqual([1, 1]);
    });

    it("release gives an item back to the tail; a stale receipt is refused", async () => {
      const { store } = ctx();
      const q = store.queue<string>("q");
      await q.push("a");
      await q.push("b");
      const a = await q.claim({ leaseMs: LONG });
      expect(await q.release(a!)).toBe(true);
      expect(await q.release(a!)).toBe(false);
      expect((await q.claim({ leaseMs: LONG }))?.payload).toBe("b");
      const again = await q.claim({ leaseMs: LONG });
      expect(again).toMatchObject({ id: a!.id, attempts: 2 });
      expect(await q.ack(a!)).toBe(false);
      expect(await q.ack(again!)).toBe(true);
    });

    it("extendLease keeps an item leased past its original lease", async () => {
      const { h, store, advance } = ctx();
      const peer = await h.openPeer();
      const q = store.queue("q");
      await q.push("x");
      const item = await q.claim({ leaseMs: 200 });
      await advance(100);
      const until = await q.extendLease(item!, 400);
      expect(until).toBeGreaterThanOrEqual(item!.leaseExpiresAt);
      await advance(200);
      expect(await peer.queue("q").claim({ leaseMs: LONG })).toBeUndefined();
      expect(await q.ack(item!)).toBe(true);
    });

    it("loses nothing: 200 items, four concurrent consumers, some of which die mid-item", async () => {
      const { h, store, advance } = ctx();
      const peer = await h.openPeer();
      const total = 200;
      for (let n = 0; n < total; n++) await store.queue<{ n: number }>("work").push({ n });
      const acked = new Map<number, ClaimedItem<{ n: number }>>();
      let died = 0;
      const consume = async (s: StateStore): Promise<void> => {
        const q = s.queue<{ n: number }>("work");
        for (let round = 0; acked.size < total; round++) {
          if (round > 5000) throw new Error("consumer made no progress");
          const item = await q.claim({ leaseMs: 150 });
          if (!item) {
            await advance(25);
            continue;
          }
          // Every tenth item's first consumer "dies": it never acks, releases or extends.
          if (item.payload.n % 10 === 3 && item.attempts === 1) {
            died++;
            continue;
          }
          if (await q.ack(item)) acked.set(item.payload.n, item);
        }
      };
      await Promise.all([consume(store), consume(store), consume(peer), consume(peer)]);
      expect(acked.size).toBe(total);
      expect(died).toBe(total / 10);
      // At least: on a loaded machine a live consumer's lease may also run out before its ack.
      for (const [n, item] of acked) expect(item.attempts).toBeGreaterThanOrEqual(n % 10 === 3 ? 2 : 1);
      expect(await store.queue("work").stats()).toEqual({ ready: 0, leased: 0 });
    });

    it("rejects an invalid lease with RangeError", async () => {
      const { store } = ctx();
      await expect(store.queue("q").claim({ leaseMs: 0 })).rejects.toThrow(RangeError);
      await expect(store.queue("q").extendLease({ id: "x", receipt: "1" }, 1.5)).rejects.toThrow(RangeError);
    });
  });
}
