import { describe, expect, it, vi } from "vitest";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/index.js";
import type { StateStore } from "../../../src/state/index.js";
import { stateStoreConformance, waitFor } from "../../conformance/stateStoreConformance.js";

/** A clock that moves only when told. */
function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => Promise<void> } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
      return Promise.resolve();
    },
  };
}

stateStoreConformance("InMemoryStateStore", () => {
  const clock = manualClock();
  const backend = new InMemoryStateBackend({ now: clock.now });
  const stores: StateStore[] = [];
  const open = (keyPrefix = "test"): StateStore => {
    const store = new InMemoryStateStore({ backend, keyPrefix });
    stores.push(store);
    return store;
  };
  return Promise.resolve({
    store: open(),
    openPeer: (options) => Promise.resolve(open(options?.keyPrefix)),
    advance: clock.advance,
    cleanup: async () => {
      await Promise.all(stores.map((s) => s.close()));
    },
  });
});

describe("InMemoryStateStore", () => {
  it("validates options with RangeErrors naming the field and value", () => {
    expect(() => new InMemoryStateStore({ keyPrefix: "" })).toThrow(/keyPrefix.*""/);
    expect(() => new InMemoryStateStore({ keyPrefix: "a{b}" })).toThrow(RangeError);
    expect(() => new InMemoryStateStore({ requeueBatchSize: 0 })).toThrow(/requeueBatchSize.*0/);
    expect(() => new InMemoryStateStore({ requeueBatchSize: 2.5 })).toThrow(RangeError);
    expect(() => new InMemoryStateStore({ now: 5 as unknown as () => number })).toThrow(/now/);
    expect(() => new InMemoryStateStore({ backend: new InMemoryStateBackend(), now: Date.now })).toThrow(/now.*backend/);
    expect(() => new InMemoryStateStore({ onSubscriberError: "log" as never })).toThrow(/onSubscriberError/);
  });

  it("works with defaults and the real clock", async () => {
    const store = new InMemoryStateStore();
    expect(store.keyPrefix).toBe("fabric");
    await store.set("k", 1, { ttlMs: 60_000 });
    expect(await store.get("k")).toBe(1);
    await store.close();
  });

  it("uses the injected clock for TTLs, locks and leases", async () => {
    const clock = manualClock(1000);
    const store = new InMemoryStateStore({ now: clock.now });
    await store.set("k", "v", { ttlMs: 100 });
    await clock.advance(99);
    expect(await store.get("k")).toBe("v");
    await clock.advance(1);
    expect(await store.get("k")).toBeUndefined();

    await store.queue("q").push("x");
    const item = await store.queue("q").claim({ leaseMs: 50 });
    expect(item?.leaseExpiresAt).toBe(1100 + 50);
    expect(await store.queue("q").extendLease(item!, 70)).toBe(1100 + 70);

    const lock = await store.acquireLock("l", { ttlMs: 10 });
    await clock.advance(10);
    expect(await store.acquireLock("l", { ttlMs: 10, owner: "other" })).toMatchObject({ token: lock!.token + 1 });
  });

  it("removes expired keys nobody reads a few at a time as later writes come, never all at once", async () => {
    const clock = manualClock();
    const backend = new InMemoryStateBackend({ now: clock.now });
    const store = new InMemoryStateStore({ backend });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.set(`old${i}`, i, { ttlMs: 10 })));
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.set(`keep${i}`, i)));
    await clock.advance(11);
    const before = backend.strings.size;
    await store.set("one-more", 1);
    // One write examines a handful of entries, not the 1 010 there are.
    expect(before + 1 - backend.strings.size).toBeLessThanOrEqual(4);
    for (let i = 0; i < 400; i++) await store.set(`new${i}`, i);
    expect([...backend.strings.keys()].filter((k) => k.includes("old"))).toEqual([]);
    expect(await store.get("keep3")).toBe(3);
  });

  it("requeues at most requeueBatchSize expired leases per claim; requeueExpired drains all", async () => {
    const clock = manualClock();
    const store = new InMemoryStateStore({ now: clock.now, requeueBatchSize: 2 });
    const q = store.queue("q");
    for (let i = 0; i < 5; i++) await q.push(i);
    for (let i = 0; i < 5; i++) await q.claim({ leaseMs: 10 });
    await clock.advance(10);
    expect(await q.claim({ leaseMs: 1000 })).toMatchObject({ payload: 0, attempts: 2 });
    expect(await q.stats()).toEqual({ ready: 1, leased: 4 });
    expect(await q.requeueExpired()).toBe(3);
    expect(await q.stats()).toEqual({ ready: 4, leased: 1 });
  });

  it("reports handler errors to onSubscriberError", async () => {
    const onSubscriberError = vi.fn();
    const store = new InMemoryStateStore({ onSubscriberError });
    await store.subscribe("ch", () => {
      throw new Error("boom");
    });
    await store.publish("ch", 1);
    await waitFor(() => onSubscriberError.mock.calls.length === 1);
    expect(onSubscriberError).toHaveBeenCalledWith(expect.objectContaining({ message: "boom" }), "ch");
    await store.close();
  });

  it("stops delivering to a closed store's subscriptions", async () => {
    const backend = new InMemoryStateBackend();
    const a = new InMemoryStateStore({ backend });
    const b = new InMemoryStateStore({ backend });
    const seen: unknown[] = [];
    await a.subscribe("ch", (m) => void seen.push(m));
    await a.close();
    await b.publish("ch", 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([]);
    expect(backend.channels.size).toBe(0);
  });
});
