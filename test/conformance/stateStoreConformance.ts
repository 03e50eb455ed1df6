// The StateStore conformance suite: every implementation runs it (test/unit/state for the
// in-memory store, test/integration/redis for Redis standalone and Cluster). It checks behaviour
// only through the StateStore interface, so a new backend passes it or is not a StateStore.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isLockNotHeldError, isSerializationError, isStaleFencingTokenError, isStateStoreError } from "../../src/errors.js";
import type { StateStore } from "../../src/state/StateStore.js";
import { stateQueueConformance } from "./stateQueueConformance.js";

/** What a backend gives the suite for one test. */
export interface StateStoreHarness {
  /** A fresh store: no data under its key prefix. */
  store: StateStore;
  /**
   * Another store on the same backend, as another process would open it; `keyPrefix` defaults to
   * the store's own. The harness closes it in `cleanup`.
   */
  openPeer(options?: { keyPrefix?: string }): Promise<StateStore>;
  /** Lets `ms` milliseconds pass for TTLs, locks and leases. Default: a real wait. */
  advance?(ms: number): Promise<void>;
  /** Closes the stores and removes their data. */
  cleanup(): Promise<void>;
}

/** Builds a harness per test. */
export type StateStoreFactory = () => Promise<StateStoreHarness>;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (real time) until it returns true. */
export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await sleep(5);
  }
}

/** Expects `promise` to reject with an error accepted by `guard`; returns the error. */
export async function rejection(promise: Promise<unknown>, guard: (e: unknown) => boolean): Promise<unknown> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  expect(guard(error), String(error)).toBe(true);
  return error;
}

const isRangeError = (e: unknown): boolean => e instanceof RangeError;

/** Registers the conformance suite for one implementation. */
export function stateStoreConformance(name: string, factory: StateStoreFactory): void {
  describe(`StateStore conformance: ${name}`, () => {
    let h: StateStoreHarness;
    let store: StateStore;
    const advance = (ms: number): Promise<void> => (h.advance ? h.advance(ms) : sleep(ms));

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      vi.restoreAllMocks();
      await h.cleanup();
    });

    describe("values", () => {
      it("round-trips JSON values and returns undefined for absent keys", async () => {
        const values = [{ a: 1, b: [true, null, "x"], c: { d: -2.5 } }, [1, "two"], "text", 42, 0, false, null, ""];
        for (const [i, value] of values.entries()) await store.set(`k${i}`, value);
        for (const [i, value] of values.entries()) expect(await store.get(`k${i}`)).toEqual(value);
        expect(await store.get("absent")).toBeUndefined();
      });

      it("gives JSON semantics: Dates become ISO strings, undefined properties vanish", async () => {
        const at = new Date("2024-01-02T03:04:05.000Z");
        await store.set("k", { at, gone: undefined, kept: 1 });
        expect(await store.get("k")).toStrictEqual({ at: at.toISOString(), kept: 1 });
      });

      it("rejects values with no JSON form with SerializationError", async () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        for (const value of [undefined, () => 1, 10n, cyclic]) await rejection(store.set("k", value), isSerializationError);
        await rejection(store.publish("c", undefined), isSerializationError);
        expect(await store.get("k")).toBeUndefined();
      });

      it("set overwrites; delete reports whether the key existed", async () => {
        await store.set("k", 1);
        await store.set("k", 2);
        expect(await store.get("k")).toBe(2);
        expect(await store.delete("k")).toBe(true);
        expect(await store.delete("k")).toBe(false);
        expect(await store.get("k")).toBeUndefined();
      });

      it("getMany returns values in order, undefined for absent keys", async () => {
        await store.set("a", "A");
        await store.set("c", { c: 3 });
        expect(await store.getMany(["c", "b", "a"])).toEqual([{ c: 3 }, undefined, "A"]);
        expect(await store.getMany([])).toEqual([]);
      });

      it("expires values after ttlMs; set without ttlMs removes an expiry", async () => {
        await store.set("short", 1, { ttlMs: 100 });
        await store.set("kept", 1, { ttlMs: 100 });
        await store.set("kept", 2);
        expect(await store.get("short")).toBe(1);
        await advance(200);
        expect(await store.get("short")).toBeUndefined();
        expect(await store.get("kept")).toBe(2);
      });

      it("rejects an invalid ttlMs with RangeError", async () => {
        for (const ttlMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          const error = await rejection(store.set("k", 1, { ttlMs }), isRangeError);
          expect(String(error)).toContain("ttlMs");
        }
        await rejection(store.setIfAbsent("k", 1, { ttlMs: 0 }), isRangeError);
      });

      it("setIfAbsent: exactly one of many concurrent callers wins, across stores", async () => {
        const peer = await h.openPeer();
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : peer).setIfAbsent("race", { winner: i }, { ttlMs: 60_000 })),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.get("race")).toEqual({ winner: results.indexOf(true) });
      });

      it("setIfAbsent succeeds again once the value expired", async () => {
        expect(await store.setIfAbsent("k", 1, { ttlMs: 100 })).toBe(true);
        expect(await store.setIfAbsent("k", 2)).toBe(false);
        await advance(200);
        expect(await store.setIfAbsent("k", 3)).toBe(true);
        expect(await store.get("k")).toBe(3);
      });

      it("compareAndSet swaps only on a match; expected undefined means absent", async () => {
        expect(await store.compareAndSet("k", undefined, { v: 1 })).toBe(true);
        expect(await store.compareAndSet("k", undefined, { v: 9 })).toBe(false);
        expect(await store.compareAndSet("k", { v: 2 }, { v: 9 })).toBe(false);
        const current = await store.get("k");
        expect(await store.compareAndSet("k", current, { v: 2 }, { ttlMs: 100 })).toBe(true);
        expect(await store.get("k")).toEqual({ v: 2 });
        await advance(200);
        expect(await store.get("k")).toBeUndefined();
      });

      it("compareAndSet loops lose no update under concurrency", async () => {
        const peer = await h.openPeer();
        await store.set("n", { n: 0 });
        const bump = async (s: StateStore): Promise<void> => {
          for (let done = 0; done < 5;) {
            const current = (await s.get("n")) as { n: number };
            if (await s.compareAndSet("n", current, { n: current.n + 1 })) done++;
          }
        };
        await Promise.all(Array.from({ length: 8 }, (_, i) => bump(i % 2 === 0 ? store : peer)));
        expect(await store.get("n")).toEqual({ n: 40 });
      });

      it("compareAndDelete deletes only on a match", async () => {
        await store.set("k", { owner: "a" });
        expect(await store.compareAndDelete("k", { owner: "b" })).toBe(false);
        expect(await store.compareAndDelete("k", { owner: "a" })).toBe(true);
        expect(await store.get("k")).toBeUndefined();
        expect(await store.compareAndDelete("k", { owner: "a" })).toBe(false);
      });
    });

    describe("counters", () => {
      it("incr starts at 0, adds by (default 1), and get reads a number", async () => {
        expect(await store.incr("c")).toBe(1);
        expect(await store.incr("c", 5)).toBe(6);
        expect(await store.incr("c", -10)).toBe(-4);
        expect(await store.get("c")).toBe(-4);
        await store.set("d", 7);
        expect(await store.incr("d")).toBe(8);
      });

      it("incr is atomic under concurrency, across stores", async () => {
        const peer = await h.openPeer();
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? store : peer).incr("c")));
        expect(new Set(results).size).toBe(100);
        expect(await store.get("c")).toBe(100);
      });

      it("incr applies ttlMs only when it creates the counter (a fixed window)", async () => {
        await store.incr("w", 1, { ttlMs: 200 });
        await advance(100);
        expect(await store.incr("w", 1, { ttlMs: 200 })).toBe(2);
        await advance(150);
        expect(await store.get("w")).toBeUndefined();
        expect(await store.incr("w", 1, { ttlMs: 200 })).toBe(1);
      });

      it("incr rejects non-integer values (StateStoreError) and increments (RangeError)", async () => {
        await store.set("s", "text");
        await rejection(store.incr("s"), isStateStoreError);
        await store.set("f", 1.5);
        await rejection(store.incr("f"), isStateStoreError);
        await rejection(store.incr("c", 0.5), isRangeError);
        expect(await store.get("s")).toBe("text");
      });
    });

    describe("namespaces and key prefixes", () => {
      it("namespaces are isolated from each other and from the root", async () => {
        const views = [
          store,
          store.agentState("a"),
          store.agentState("b"),
          store.shared(),
          store.namespace("x"),
          store.namespace("x", "y"),
        ];
        for (const [i, view] of views.entries()) await view.set("k", i);
        for (const [i, view] of views.entries()) expect(await view.get("k")).toBe(i);
        expect(store.agentState("a").path).toEqual(["agent", "a"]);
        expect(await store.namespace("agent", "a").get("k")).toBe(1);
        expect(await store.shared().namespace("sub").get("k")).toBeUndefined();
      });

      it("keys and segments containing separators, braces or escapes never collide", async () => {
        const pairs: [string[], string][] = [
          [["a"], "b:c"],
          [["a", "b"], "c"],
          [["a:b"], "c"],
          [[], "a:b:c"],
          [["{a}"], "b"],
          [["%7Ba%7D"], "b"],
          [["}"], "{"],
          [[], ""],
        ];
        for (const [i, [path, key]] of pairs.entries()) await store.namespace(...path).set(key, i);
        for (const [i, [path, key]] of pairs.entries()) expect(await store.namespace(...path).get(key)).toBe(i);
      });

      it("stores with the same prefix share namespaces", async () => {
        const peer = await h.openPeer();
        await store.agentState("a").set("k", "from store");
        expect(await peer.agentState("a").get("k")).toBe("from store");
      });

      it("stores with different key prefixes see nothing of each other", async () => {
        const other = await h.openPeer({ keyPrefix: `other-${String(Math.random()).slice(2, 10)}` });
        await store.set("k", 1);
        await store.incr("c");
        expect(await other.get("k")).toBeUndefined();
        expect(await other.incr("c")).toBe(1);
        const lock = await store.acquireLock("l", { ttlMs: 60_000 });
        expect(lock).toBeDefined();
        expect(await other.acquireLock("l", { ttlMs: 60_000 })).toBeDefined();
        await store.queue("q").push("item");
        expect(await other.queue("q").claim({ leaseMs: 60_000 })).toBeUndefined();
        const seen: unknown[] = [];
        await store.subscribe("ch", (m) => void seen.push(m));
        await other.publish("ch", "not for you");
        await store.publish("ch", "for you");
        await waitFor(() => seen.length > 0);
        await sleep(50);
        expect(seen).toEqual(["for you"]);
      });
    });

    describe("locks", () => {
      it("only one owner holds a lock; the holder may re-acquire and keeps its token", async () => {
        const lock = await store.acquireLock("l", { ttlMs: 60_000, owner: "a" });
        expect(lock).toMatchObject({ name: "l", owner: "a" });
        expect(await store.acquireLock("l", { ttlMs: 60_000, owner: "b" })).toBeUndefined();
        expect(await store.acquireLock("l", { ttlMs: 60_000, owner: "a" })).toEqual(lock);
        const anonymous = await store.acquireLock("m", { ttlMs: 60_000 });
        expect(anonymous?.owner).toMatch(/.+/);
      });

      it("exactly one of many concurrent acquirers wins, across stores", async () => {
        const peer = await h.openPeer();
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? store : peer).acquireLock("l", { ttlMs: 60_000, owner: `o${i}` })),
        );
        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      });

      it("release and extend by a non-owner throw LockNotHeldError and leave the lock held", async () => {
        await store.acquireLock("l", { ttlMs: 60_000, owner: "a" });
        const error = await rejection(store.releaseLock({ name: "l", owner: "b" }), isLockNotHeldError);
        expect(error).toMatchObject({ lock: "l" });
        await rejection(store.extendLock({ name: "l", owner: "b" }, 60_000), isLockNotHeldError);
        await rejection(store.releaseLock({ name: "never", owner: "a" }), isLockNotHeldError);
        expect(await store.acquireLock("l", { ttlMs: 60_000, owner: "b" })).toBeUndefined();
      });

      it("release frees the lock for another owner; a second release throws", async () => {
        const lock = await store.acquireLock("l", { ttlMs: 60_000, owner: "a" });
        await store.releaseLock(lock!);
        await rejection(store.releaseLock(lock!), isLockNotHeldError);
        expect(await store.acquireLock("l", { ttlMs: 60_000, owner: "b" })).toBeDefined();
      });

      it("extend keeps the lock past its original ttl", async () => {
        const lock = await store.acquireLock("l", { ttlMs: 200, owner: "a" });
        await advance(100);
        await store.extendLock(lock!, 400);
        await advance(200);
        expect(await store.acquireLock("l", { ttlMs: 60_000, owner: "b" })).toBeUndefined();
        await store.releaseLock(lock!);
      });

      it("an expired lock goes to another owner; the old owner can no longer release or extend it", async () => {
        const old = await store.acquireLock("l", { ttlMs: 100, owner: "a" });
        await advance(200);
        const next = await store.acquireLock("l", { ttlMs: 60_000, owner: "b" });
        expect(next!.token).toBeGreaterThan(old!.token);
        await rejection(store.extendLock(old!, 60_000), isLockNotHeldError);
        await rejection(store.releaseLock(old!), isLockNotHeldError);
        await store.releaseLock(next!);
      });

      it("fencing tokens strictly increase across acquisitions, expiries and stores", async () => {
        const peer = await h.openPeer();
        const tokens: number[] = [];
        for (let i = 0; i < 6; i++) {
          const s = i % 2 === 0 ? store : peer;
          const lock = await s.acquireLock("l", { ttlMs: i === 5 ? 100 : 60_000, owner: `o${i}` });
          tokens.push(lock!.token);
          if (i < 5) await s.releaseLock(lock!);
        }
        await advance(200);
        tokens.push((await peer.acquireLock("l", { ttlMs: 60_000, owner: "last" }))!.token);
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
        expect((await store.acquireLock("other", { ttlMs: 60_000 }))!.token).toBeGreaterThan(0);
      });

      it("fencedSet rejects a stale token once a newer one wrote", async () => {
        const first = (await store.acquireLock("l", { ttlMs: 100, owner: "a" }))!;
        await store.shared().fencedSet("doc", { by: "a", n: 1 }, first.token);
        await store.shared().fencedSet("doc", { by: "a", n: 2 }, first.token);
        await advance(200);
        const second = (await store.acquireLock("l", { ttlMs: 60_000, owner: "b" }))!;
        await store.shared().fencedSet("doc", { by: "b" }, second.token, { ttlMs: 100 });
        const error = await rejection(store.shared().fencedSet("doc", { by: "a", n: 3 }, first.token), isStaleFencingTokenError);
        expect(error).toMatchObject({ key: "doc", token: first.token, currentToken: second.token });
        expect(await store.shared().get("doc")).toEqual({ by: "b" });
        await advance(200);
        // The value expired; the fencing record did not.
        await rejection(store.shared().fencedSet("doc", { by: "a" }, first.token), isStaleFencingTokenError);
        await rejection(store.shared().fencedSet("doc", 1, 0), isRangeError);
      });

      it("rejects invalid lock arguments with RangeError", async () => {
        await rejection(store.acquireLock("l", { ttlMs: 0 }), isRangeError);
        await rejection(store.acquireLock("l", { ttlMs: 100, owner: "" }), isRangeError);
        await rejection(store.extendLock({ name: "l", owner: "a" }, -5), isRangeError);
      });
    });

    stateQueueConformance(() => ({ h, store, advance }));

    describe("publish/subscribe", () => {
      it("delivers messages published on the channel, from any store on the same prefix", async () => {
        const peer = await h.openPeer();
        const seen: [unknown, string][] = [];
        await store.subscribe("news", (message, channel) => void seen.push([message, channel]));
        await peer.publish("news", { n: 1 });
        await store.publish("other", { n: 0 });
        await store.publish("news", [2]);
        await waitFor(() => seen.length >= 2);
        await sleep(50);
        expect(seen).toEqual(
          expect.arrayContaining([
            [{ n: 1 }, "news"],
            [[2], "news"],
          ]),
        );
        expect(seen).toHaveLength(2);
      });

      it("unsubscribe stops delivery to that handler only, and is idempotent", async () => {
        const a: unknown[] = [];
        const b: unknown[] = [];
        const stopA = await store.subscribe("ch", (m) => void a.push(m));
        const stopB = await store.subscribe("ch", (m) => void b.push(m));
        await store.publish("ch", 1);
        await waitFor(() => a.length === 1 && b.length === 1);
        await stopA();
        await stopA();
        await store.publish("ch", 2);
        await waitFor(() => b.length === 2);
        await stopB();
        await store.publish("ch", 3);
        await sleep(100);
        expect(a).toEqual([1]);
        expect(b).toEqual([1, 2]);
      });

      it("a write with notify publishes its message only when it writes, in namespaces too", async () => {
        const peer = await h.openPeer();
        const seen: unknown[] = [];
        const elsewhere: unknown[] = [];
        await peer.subscribe("changes", (m) => void seen.push(m));
        await peer.subscribe("elsewhere", (m) => void elsewhere.push(m));
        const kv = store.namespace("docs");
        const notify = (n: number): { notify: { channels: string[]; message: unknown } } => ({
          notify: { channels: n === 5 ? ["changes", "elsewhere"] : ["changes"], message: { n } },
        });
        expect(await kv.setIfAbsent("a", { v: 1 }, { ttlMs: 60_000, ...notify(1) })).toBe(true);
        expect(await kv.setIfAbsent("a", { v: 2 }, notify(2))).toBe(false);
        expect(await kv.compareAndSet("a", { v: 9 }, { v: 3 }, notify(3))).toBe(false);
        expect(await kv.compareAndSet("a", { v: 1 }, { v: 4 }, notify(4))).toBe(true);
        expect(await kv.compareAndSet("b", undefined, { v: 5 }, { ttlMs: 60_000, ...notify(5) })).toBe(true);
        await kv.set("c", { v: 6 }, notify(6));
        await waitFor(() => seen.length >= 4 && elsewhere.length >= 1);
        await sleep(50);
        expect(elsewhere).toEqual([{ n: 5 }]);
        // Sorted: on Redis Cluster, messages published from different shards may arrive in any order.
        expect([...seen].sort((x, y) => (x as { n: number }).n - (y as { n: number }).n)).toEqual([{ n: 1 }, { n: 4 }, { n: 5 }, { n: 6 }]);
        expect(await kv.get("a")).toEqual({ v: 4 });
        expect(await kv.get("c")).toEqual({ v: 6 });
        await rejection(kv.set("d", 1, { notify: { channels: ["changes"], message: undefined } }), isSerializationError);
        expect(await kv.get("d")).toBeUndefined();
        await kv.set("e", 7, { notify: { channels: [], message: { n: 7 } } }); // no channel: nothing published
        await sleep(50);
        expect(seen).toHaveLength(4);
      });

      it("a throwing handler is reported and does not stop delivery to others", async () => {
        const reported = vi.spyOn(console, "error").mockImplementation(() => undefined);
        const seen: unknown[] = [];
        await store.subscribe("ch", () => {
          throw new Error("handler failed");
        });
        await store.subscribe("ch", () => Promise.reject(new Error("async handler failed")));
        await store.subscribe("ch", (m) => void seen.push(m));
        await store.publish("ch", "x");
        await store.publish("ch", "y");
        await waitFor(() => seen.length === 2 && reported.mock.calls.length === 4);
        expect(seen).toEqual(["x", "y"]);
      });
    });

    describe("lifecycle", () => {
      it("close is idempotent; afterwards operations throw StateStoreError and peers still work", async () => {
        const peer = await h.openPeer();
        await store.subscribe("ch", () => undefined);
        await store.close();
        await store.close();
        const error = await rejection(store.get("k"), isStateStoreError);
        expect(String(error)).toMatch(/closed/);
        await rejection(store.queue("q").claim({ leaseMs: 1000 }), isStateStoreError);
        await rejection(store.publish("ch", 1), isStateStoreError);
        await peer.set("k", 1);
        expect(await peer.get("k")).toBe(1);
      });
    });
  });
}
