// StoreRegistry on InMemoryStateStore with one manual clock and manual timers: two registries on one
// InMemoryStateBackend behave as two processes sharing one Redis.
import { describe, expect, it } from "vitest";
import { isRegistryError } from "../../../src/errors.js";
import type { LogFields, Logger } from "../../../src/observability/logger.js";
import { processLoad } from "../../../src/registry/processLoad.js";
import type { RegistryEvent, RegistryTimers, ReplicaLoad } from "../../../src/registry/Registry.js";
import { StoreRegistry, type StoreRegistryOptions } from "../../../src/registry/StoreRegistry.js";
import { InMemoryStateBackend, InMemoryStateStore, type StateStore } from "../../../src/state/index.js";

const HB = 1000;
const EXPIRE = 3 * HB;

/** Lets every pending promise, microtask and in-memory pub/sub delivery run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Timer {
  id: number;
  due: number;
  fn: () => void;
  owner: string;
}

/** One clock and one timer queue for every "process"; a process's timers can be killed (a crash). */
class ManualTime {
  t = 1_700_000_000_000;
  private timers: Timer[] = [];
  private seq = 0;
  private readonly dead = new Set<string>();
  readonly now = (): number => this.t;

  timersFor(owner: string): RegistryTimers {
    return {
      setTimeout: (fn, ms) => {
        const timer = { id: ++this.seq, due: this.t + ms, fn, owner };
        if (!this.dead.has(owner)) this.timers.push(timer);
        return timer.id;
      },
      clearTimeout: (id) => {
        this.timers = this.timers.filter((t) => t.id !== id);
      },
    };
  }

  /** The process stops running timers (its event loop died); nothing is deregistered. */
  kill(owner: string): void {
    this.dead.add(owner);
    this.timers = this.timers.filter((t) => t.owner !== owner);
  }

  /** Moves the clock forward, firing due timers in order and letting their async work finish. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.t = Math.max(this.t, next.due);
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** A logger that records lines. */
function recordingLogger(): Logger & { lines: { level: string; message: string; fields?: LogFields }[] } {
  const lines: { level: string; message: string; fields?: LogFields }[] = [];
  const at = (level: string) => (message: string, fields?: LogFields) => lines.push({ level, message, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Wraps a store (and the views it returns) to count every method call; `fail` makes them reject. */
function countingStore(store: StateStore): { store: StateStore; calls: string[]; control: { fail: boolean; dropPublish: boolean } } {
  const calls: string[] = [];
  const control = { fail: false, dropPublish: false };
  const wrap = <T extends object>(target: T, path: string): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== "function" || typeof prop !== "string") return value;
        return (...args: unknown[]) => {
          calls.push(`${path}${prop}`);
          if (prop === "publish" && control.dropPublish) return Promise.resolve();
          if (control.fail && prop !== "namespace" && prop !== "close") return Promise.reject(new Error("backend down"));
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(obj, args);
          return prop === "namespace" ? wrap(result as object, `${path}ns.`) : result;
        };
      },
    });
  return { store: wrap(store, ""), calls, control };
}

interface World {
  time: ManualTime;
  backend: InMemoryStateBackend;
  /** A "process": its own store on the shared backend, and a registry over it. */
  open(
    name: string,
    options?: StoreRegistryOptions,
  ): { registry: StoreRegistry; raw: StateStore; counted: ReturnType<typeof countingStore> };
}

function world(): World {
  const time = new ManualTime();
  const backend = new InMemoryStateBackend({ now: time.now });
  return {
    time,
    backend,
    open(name, options = {}) {
      const raw = new InMemoryStateStore({ backend, keyPrefix: "t" });
      const counted = countingStore(raw);
      const registry = new StoreRegistry(counted.store, {
        heartbeatIntervalMs: HB,
        now: time.now,
        timers: time.timersFor(name),
        logger: recordingLogger(),
        ...options,
      });
      return { registry, raw, counted };
    },
  };
}

const load = (inFlight: number): Partial<ReplicaLoad> => ({ inFlight, latencyEwmaMs: 12.5, errorRate: 0.1, cpu: 0.25, memoryBytes: 1e8 });

describe("StoreRegistry", () => {
  it("validates options and registrations with RangeErrors naming the field and value", async () => {
    const store = new InMemoryStateStore();
    expect(() => new StoreRegistry(store, { heartbeatIntervalMs: 0 })).toThrow(/heartbeatIntervalMs.*0/);
    expect(() => new StoreRegistry(store, { heartbeatIntervalMs: 1000, expireAfterMs: 1000 })).toThrow(/expireAfterMs.*1000/);
    expect(() => new StoreRegistry(store, { refreshIntervalMs: 1.5 })).toThrow(/refreshIntervalMs.*1.5/);
    expect(() => new StoreRegistry(store, { namespace: "" })).toThrow(/namespace.*""/);
    expect(() => new StoreRegistry(store, { now: 1 as never })).toThrow(/now/);
    expect(() => new StoreRegistry(store, { timers: {} as never })).toThrow(/timers/);
    expect(() => new StoreRegistry(store, { keepLastKnownOnError: "yes" as never })).toThrow(/keepLastKnownOnError.*"yes"/);
    expect(() => new StoreRegistry({} as never)).toThrow(/store/);
    const registry = new StoreRegistry(store, { expireAfterMs: 9000 });
    expect([registry.heartbeatIntervalMs, registry.expireAfterMs, registry.refreshIntervalMs]).toEqual([1000, 9000, 1000]);
    expect(new StoreRegistry(store).expireAfterMs).toBe(3000);
    expect(new StoreRegistry(store, { heartbeatIntervalMs: 500 }).expireAfterMs).toBe(1500);
    await expect(registry.register({ node: "", replicaId: "r" })).rejects.toThrow(/node.*""/);
    await expect(registry.register({ node: "n", replicaId: "r", weight: -1 })).rejects.toThrow(/weight.*-1/);
    await expect(registry.register({ node: "n", replicaId: "r", address: { replicaId: "r", partitions: [-1] } })).rejects.toThrow(
      /partitions.*-1/,
    );
    await expect(registry.register({ node: "n", replicaId: "r", address: { replicaId: "x" } })).rejects.toThrow(/address.replicaId.*"x"/);
    await expect(registry.register({ node: "n", replicaId: "r", status: "gone" as never })).rejects.toThrow(/status.*"gone"/);
    await expect(registry.register({ node: "n", replicaId: "r", capabilities: [1] as never })).rejects.toThrow(/capabilities/);
    await registry.stop();
  });

  it("reads need start(); stop() is final and deregisters this registry's replicas", async () => {
    const w = world();
    const a = w.open("a").registry;
    expect(() => a.replicas("n")).toThrow(/before start/);
    const b = w.open("b").registry;
    await b.start();
    await a.register({ node: "n", replicaId: "r1" }); // registering needs no start()
    await settle();
    expect(b.replicas("n").map((r) => r.replicaId)).toEqual(["r1"]);
    await a.stop();
    await settle();
    expect(b.replicas("n")).toEqual([]);
    expect(() => a.replicas("n")).toThrow(/after stop/);
    await expect(a.start()).rejects.toSatisfy(isRegistryError);
    await expect(a.register({ node: "n", replicaId: "r2" })).rejects.toSatisfy(isRegistryError);
    await b.stop();
  });

  it("registers a replica that another process sees at once, with its fields, and refuses a duplicate id", async () => {
    const w = world();
    const { registry: a } = w.open("a");
    const { registry: b } = w.open("b");
    await a.start();
    await b.start();
    const handle = await a.register({
      node: "momentum",
      replicaId: "m-1",
      address: { replicaId: "m-1", partitions: [0, 3] },
      capabilities: ["gpu", "model:small"],
      version: "1.2.0",
      weight: 2,
      meta: { host: "w1" },
      loadProvider: () => load(4),
    });
    expect(a.replicas("momentum").map((r) => r.replicaId)).toEqual(["m-1"]); // own view: already refreshed
    await settle(); // the notice reaches b: no timer needed
    const [seen] = b.replicas("momentum");
    expect(seen).toEqual({
      node: "momentum",
      replicaId: "m-1",
      address: { replicaId: "m-1", partitions: [0, 3] },
      capabilities: ["gpu", "model:small"],
      version: "1.2.0",
      weight: 2,
      status: "active",
      startedAt: w.time.t,
      lastHeartbeat: w.time.t,
      expireAfterMs: EXPIRE,
      load: { inFlight: 4, latencyEwmaMs: 12.5, errorRate: 0.1, cpu: 0.25, memoryBytes: 1e8 },
      meta: { host: "w1" },
    });
    expect(Object.isFrozen(seen) && Object.isFrozen(seen?.address.partitions)).toBe(true);
    expect(handle.info).toEqual(seen);
    expect(b.nodes()).toEqual(["momentum"]);
    await expect(a.register({ node: "momentum", replicaId: "m-1" })).rejects.toSatisfy(isRegistryError);
    await a.stop();
    await b.stop();
  });

  it("heartbeats carry fresh load figures to other processes; load-only changes fire no events", async () => {
    const w = world();
    const { registry: a } = w.open("a");
    const { registry: b } = w.open("b");
    await b.start();
    let inFlight = 1;
    await a.register({ node: "n", replicaId: "r", loadProvider: () => load(inFlight) });
    await settle();
    const events: RegistryEvent[] = [];
    b.watch("n", (e) => events.push(e));
    expect(b.replicas("n")[0]?.load.inFlight).toBe(1);
    inFlight = 7;
    await w.time.advance(HB); // a heartbeats, b refreshes (same interval)
    await w.time.advance(HB);
    const [r] = b.replicas("n");
    expect(r?.load.inFlight).toBe(7);
    expect(r!.lastHeartbeat).toBeGreaterThan(r!.startedAt);
    expect(events).toEqual([]);
    await a.stop();
    await b.stop();
  });

  it("fills in figures the load provider leaves out, clamps ratios, and survives a throwing provider", async () => {
    const w = world();
    const logger = recordingLogger();
    const { registry: a } = w.open("a", { logger });
    let mode: "partial" | "throw" = "partial";
    const handle = await a.register({
      node: "n",
      replicaId: "r",
      loadProvider: () => {
        if (mode === "throw") throw new Error("provider broke");
        return { inFlight: 3, errorRate: 5, latencyEwmaMs: Number.NaN };
      },
    });
    expect(handle.info.load).toMatchObject({ inFlight: 3, errorRate: 1, latencyEwmaMs: 0 });
    expect(handle.info.load.memoryBytes).toBeGreaterThan(0); // sampled from the process
    mode = "throw";
    const before = handle.info.load;
    await handle.heartbeat();
    expect(handle.info.load).toEqual(before);
    expect(logger.lines.some((l) => l.level === "warn" && /loadProvider/.test(l.message))).toBe(true);
    await a.stop();
  });

  it("expires a replica whose process died (no notice), by the reader's clock even before any read", async () => {
    const w = world();
    const { registry: a } = w.open("a");
    // b never re-reads on its own here, so only its clock can make the replica disappear.
    const { registry: b, counted } = w.open("b", { refreshIntervalMs: 60_000 });
    await b.start();
    await a.register({ node: "n", replicaId: "r" });
    await settle();
    const events: RegistryEvent[] = [];
    b.watch("n", (e) => events.push(e));
    expect(b.replicas("n")).toHaveLength(1);
    w.time.kill("a"); // crash: heartbeats stop, nothing is deregistered
    const calls = counted.calls.length;
    await w.time.advance(EXPIRE - 1);
    expect(b.replicas("n")).toHaveLength(1);
    await w.time.advance(1);
    expect(b.replicas("n")).toEqual([]);
    expect(b.nodes()).toEqual([]);
    expect(counted.calls.length).toBe(calls); // no I/O: the clock alone
    // The next read drops it for good, tells watchers, and prunes the index.
    await b.refresh();
    await settle();
    expect(events.map((e) => e.type)).toEqual(["removed"]);
    const root = w.open("c").raw.namespace("registry");
    expect(await root.get("index/n")).toBeUndefined();
    expect(await root.get("nodes")).toBeUndefined();
    await b.stop();
  });

  it("a watcher's periodic refresh notices a crash within about one interval", async () => {
    const w = world();
    const { registry: a } = w.open("a");
    const { registry: b } = w.open("b");
    await b.start();
    await a.register({ node: "n", replicaId: "r" });
    await settle();
    const removedAt: number[] = [];
    b.watch("n", (e) => e.type === "removed" && removedAt.push(w.time.t));
    const crashedAt = w.time.t;
    w.time.kill("a");
    await w.time.advance(EXPIRE + HB);
    expect(removedAt).toHaveLength(1);
    expect(removedAt[0]! - crashedAt).toBeGreaterThanOrEqual(EXPIRE);
    expect(removedAt[0]! - crashedAt).toBeLessThanOrEqual(EXPIRE + HB);
    await b.stop();
  });

  it("keeps a live replica across many intervals and refreshes by timer when a notice is lost", async () => {
    const w = world();
    const { registry: a, counted } = w.open("a");
    const { registry: b } = w.open("b");
    await b.start();
    counted.control.dropPublish = true; // every notice of a is lost
    await a.register({ node: "n", replicaId: "r" });
    await settle();
    expect(b.replicas("n")).toEqual([]);
    await w.time.advance(HB);
    expect(b.replicas("n")).toHaveLength(1);
    await w.time.advance(20 * HB);
    expect(b.replicas("n")).toHaveLength(1);
    await a.stop();
    await b.stop();
  });

  it("draining replicas leave the default view, stay visible on request, and fire an updated event", async () => {
    const w = world();
    const { registry: a } = w.open("a");
    const { registry: b } = w.open("b");
    await b.start();
    const handle = await a.register({ node: "n", replicaId: "r1" });
    await a.register({ node: "n", replicaId: "r2" });
    await settle();
    const events: RegistryEvent[] = [];
    b.watch("n", (e) => events.push(e));
    const info = await handle.update({ status: "draining", address: { replicaId: "r1", partitions: [5] } });
    expect(info.status).toBe("draining");
    await settle();
    expect(b.replicas("n").map((r) => r.replicaId)).toEqual(["r2"]);
    expect(b.replicas("n", { includeDraining: true }).map((r) => [r.replicaId, r.status])).toEqual([
      ["r1", "draining"],
      ["r2", "active"],
    ]);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.type).toBe("updated");
    if (event?.type === "updated") {
      expect(event.previous.status).toBe("active");
      expect(event.replica.address.partitions).toEqual([5]);
    }
    await expect(handle.update({ weight: Number.POSITIVE_INFINITY })).rejects.toThrow(/weight/);
    await a.stop();
    await b.stop();
  });

  it("finds replicas by capability across nodes", async () => {
    const w = world();
    const { registry: a } = w.open("a");
    await a.start();
    await a.register({ node: "momentum", replicaId: "m1", capabilities: ["gpu", "fast"] });
    await a.register({ node: "momentum", replicaId: "m2", capabilities: ["fast"] });
    await a.register({ node: "reversion", replicaId: "r1", capabilities: ["gpu"] });
    const d = await a.register({ node: "reversion", replicaId: "r2", capabilities: ["gpu"], status: "draining" });
    expect(a.findByCapability("gpu").map((r) => `${r.node}/${r.replicaId}`)).toEqual(["momentum/m1", "reversion/r1"]);
    expect(a.findByCapability("gpu", { includeDraining: true })).toHaveLength(3);
    expect(a.findByCapability("fast").map((r) => r.replicaId)).toEqual(["m1", "m2"]);
    expect(a.findByCapability("tpu")).toEqual([]);
    expect(a.nodes()).toEqual(["momentum", "reversion"]);
    await d.deregister();
    expect(a.findByCapability("gpu", { includeDraining: true })).toHaveLength(2);
    await a.stop();
  });

  it("watch events: added, updated, removed in order; listener errors are logged; unsubscribe stops them", async () => {
    const w = world();
    const logger = recordingLogger();
    const { registry: a } = w.open("a");
    const { registry: b } = w.open("b", { logger });
    await b.start();
    const events: string[] = [];
    b.watch("n", () => {
      throw new Error("listener broke");
    });
    const stop = b.watch("n", (e) => events.push(`${e.type}:${e.replica.replicaId}`));
    b.watch("other", (e) => events.push(`other:${e.type}`));
    const h = await a.register({ node: "n", replicaId: "r" });
    await settle();
    await h.update({ version: "2" });
    await settle();
    await h.deregister();
    await settle();
    expect(events).toEqual(["added:r", "updated:r", "removed:r"]);
    expect(logger.lines.filter((l) => l.level === "error" && /listener/.test(l.message))).toHaveLength(3);
    stop();
    await a.register({ node: "n", replicaId: "r9" });
    await settle();
    expect(events).toHaveLength(3);
    await a.stop();
    await b.stop();
  });

  it("deregister removes the replica at once everywhere and deletes its keys", async () => {
    const w = world();
    const { registry: a, raw } = w.open("a");
    const { registry: b } = w.open("b");
    await b.start();
    const h1 = await a.register({ node: "n", replicaId: "r1" });
    await a.register({ node: "n", replicaId: "r2" });
    const root = raw.namespace("registry");
    expect(await root.get("index/n")).toEqual(["r1", "r2"]);
    expect(await root.get("nodes")).toEqual(["n"]);
    await h1.deregister();
    await h1.deregister(); // idempotent
    await settle();
    expect(b.replicas("n").map((r) => r.replicaId)).toEqual(["r2"]);
    expect(await raw.namespace("registry", "replica", "n").get("r1")).toBeUndefined();
    expect(await root.get("index/n")).toEqual(["r2"]);
    await expect(h1.heartbeat()).rejects.toSatisfy(isRegistryError);
    await a.stop(); // deregisters r2: the node disappears
    await settle();
    expect(await root.get("nodes")).toBeUndefined();
    expect(b.nodes()).toEqual([]);
    await b.stop();
  });

  it("records expire with the TTL; a late heartbeat registers again, and a lost index entry heals", async () => {
    const w = world();
    const logger = recordingLogger();
    const { registry: a, raw } = w.open("a", { logger });
    const { registry: b } = w.open("b");
    await b.start();
    await a.register({ node: "n", replicaId: "r" });
    const records = raw.namespace("registry", "replica", "n");
    expect(await records.get("r")).toBeDefined();
    await records.delete("r"); // as if it had expired
    await raw.namespace("registry").delete("index/n"); // and a reader had pruned it
    await w.time.advance(HB);
    await settle();
    expect(logger.lines.some((l) => /registering it again/.test(l.message))).toBe(true);
    expect(b.replicas("n")).toHaveLength(1);
    await raw.namespace("registry").delete("nodes"); // lost without the record expiring
    await w.time.advance(HB);
    expect(await raw.namespace("registry").get("nodes")).toEqual(["n"]);
    await w.time.advance(HB);
    expect(b.replicas("n")).toHaveLength(1);
    await a.stop();
    await b.stop();
  });

  it("replicas(), findByCapability() and nodes() do no I/O", async () => {
    const w = world();
    const { registry: a } = w.open("a");
    const { registry: b, counted } = w.open("b");
    await b.start();
    for (let i = 0; i < 5; i++) await a.register({ node: "n", replicaId: `r${i}`, capabilities: ["x"] });
    await settle();
    const before = counted.calls.length;
    for (let i = 0; i < 1000; i++) {
      expect(b.replicas("n")).toHaveLength(5);
      b.findByCapability("x");
      b.nodes();
    }
    expect(counted.calls.length).toBe(before);
    await a.stop();
    await b.stop();
  });

  it("keeps the last known replicas while the store cannot be read, and recovers", async () => {
    const w = world();
    const logger = recordingLogger();
    const { registry: a } = w.open("a");
    const { registry: b, counted } = w.open("b", { logger });
    await b.start();
    await a.register({ node: "n", replicaId: "r" });
    await settle();
    counted.control.fail = true;
    await w.time.advance(EXPIRE * 2);
    expect(b.replicas("n")).toHaveLength(1); // heartbeat age ignored during the outage
    expect(logger.lines.filter((l) => l.level === "warn" && /reading the store failed/.test(l.message))).toHaveLength(1);
    await expect(b.refresh()).rejects.toSatisfy(isRegistryError);
    counted.control.fail = false;
    await w.time.advance(HB);
    expect(b.replicas("n")).toHaveLength(1);
    expect(logger.lines.some((l) => /works again/.test(l.message))).toBe(true);
    await a.stop();
    await b.stop();

    const strict = w.open("c", { keepLastKnownOnError: false });
    await strict.registry.start();
    await a.stop();
    const h = await w.open("d").registry.register({ node: "n", replicaId: "r2" });
    await settle();
    strict.counted.control.fail = true;
    await w.time.advance(EXPIRE);
    expect(strict.registry.replicas("n")).toEqual([]);
    await h.deregister();
    await strict.registry.stop();
  });

  it("start() fails with a RegistryError when the store cannot be read, and can be retried", async () => {
    const w = world();
    const { registry, counted } = w.open("a");
    counted.control.fail = true;
    await expect(registry.start()).rejects.toSatisfy(isRegistryError);
    counted.control.fail = false;
    await registry.start();
    expect(registry.nodes()).toEqual([]);
    await registry.stop();
  });

  it("trusts the store over a reader clock that runs far ahead, and warns", async () => {
    const w = world();
    const logger = recordingLogger();
    const { registry: a } = w.open("a");
    const { registry: b } = w.open("b", { now: () => w.time.t + 60_000, logger });
    await a.register({ node: "n", replicaId: "r" });
    await b.start();
    expect(b.replicas("n")).toHaveLength(1);
    expect(logger.lines.some((l) => /clock skew/.test(l.message))).toBe(true);
    await w.time.advance(5 * HB); // heartbeats keep it alive in b's eyes
    expect(b.replicas("n")).toHaveLength(1);
    w.time.kill("a");
    await w.time.advance(EXPIRE + HB);
    expect(b.replicas("n")).toEqual([]);
    await b.stop();
  });

  it("skips records it cannot parse", async () => {
    const w = world();
    const logger = recordingLogger();
    const { registry: b, raw } = w.open("b", { logger });
    await w.open("a").registry.register({ node: "n", replicaId: "good" });
    await raw.namespace("registry", "replica", "n").set("bad", { node: "n", replicaId: "bad", weight: "heavy" });
    await raw.namespace("registry").set("index/n", ["bad", "good"]);
    await b.start();
    expect(b.replicas("n").map((r) => r.replicaId)).toEqual(["good"]);
    expect(logger.lines.some((l) => /invalid replica record/.test(l.message))).toBe(true);
    await b.stop();
  });
});

describe("processLoad", () => {
  it("reports CPU as a fraction of one core between samples, clamped to 0..1, and RSS", () => {
    let t = 0;
    let cpuMicros = 0;
    const sample = processLoad({ now: () => t, cpuMicros: () => cpuMicros, memoryBytes: () => 42 });
    t = 100;
    cpuMicros = 50_000; // 50 ms of CPU in 100 ms
    expect(sample()).toEqual({ cpu: 0.5, memoryBytes: 42 });
    t = 200;
    cpuMicros = 350_000; // 300 ms in 100 ms: other threads
    expect(sample().cpu).toBe(1);
    t = 200.5; // too soon to measure: previous figure
    expect(sample().cpu).toBe(1);
    t = 1200;
    cpuMicros = 360_000;
    expect(sample().cpu).toBeCloseTo(0.01);
    expect(() => processLoad({ now: 3 as never })).toThrow(/now/);
  });

  it("samples the real process by default", () => {
    const sample = processLoad();
    const end = Date.now() + 20;
    while (Date.now() < end) Math.sqrt(Math.random());
    const { cpu, memoryBytes } = sample();
    expect(cpu).toBeGreaterThan(0);
    expect(cpu).toBeLessThanOrEqual(1);
    expect(memoryBytes).toBeGreaterThan(1_000_000);
  });
});
