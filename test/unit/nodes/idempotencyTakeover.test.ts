import { describe, expect, it } from "vitest";
import { IdempotencyStore, type CallBinding } from "../../../src/nodes/IdempotencyStore.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { GoneReplicas } from "../../../src/registry/GoneReplicas.js";
import { StoreRegistry } from "../../../src/registry/StoreRegistry.js";
import { InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";

// A replica that dies mid-call leaves its lease behind. Without knowing it is dead, another
// replica waits the lease out (15 s by default); once the registry says it left, the lease is
// taken over at once, by exactly one replica.

const BINDING: CallBinding = { node: "n", input: "input-hash" };

describe("idempotency leases of replicas that left the registry", () => {
  it("a lease whose owner is known gone is taken over at once; a live owner's lease is waited for", async () => {
    const store = new InMemoryStateStore();
    const gone = new Set<string>();
    const idem = new IdempotencyStore(store.namespace("calls"), silentLogger, { leaseMs: 60_000, pollMs: 10 }, (o) => gone.has(o));
    const first = await idem.begin("k", "dead-replica", BINDING);
    expect(first.kind).toBe("run");

    const controller = new AbortController();
    const waiting = idem.begin("k", "survivor", BINDING, controller.signal);
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false); // the owner is alive as far as anyone knows: wait

    gone.add("dead-replica");
    const taken = await waiting;
    expect(taken.kind).toBe("run");
    if (taken.kind !== "run") return;
    await taken.lease.complete("json", new TextEncoder().encode("42"));
    // The dead owner's late completion (had it lived) does not overwrite the record; a third asker gets it.
    const third = await idem.begin("k", "other", BINDING);
    expect(third).toMatchObject({ kind: "done", payloadType: "json" });
    controller.abort();
  });

  it("only one of several replicas takes a dead owner's lease over", async () => {
    const store = new InMemoryStateStore();
    const idem = new IdempotencyStore(store.namespace("calls"), silentLogger, { leaseMs: 60_000, pollMs: 10 }, (o) => o === "dead");
    await idem.begin("k", "dead", BINDING);
    const controller = new AbortController();
    const results = await Promise.all(
      ["a", "b", "c"].map((who) =>
        Promise.race([
          idem.begin("k", who, BINDING, controller.signal).then(
            (r) => r.kind,
            () => "aborted",
          ),
          new Promise<string>((r) => setTimeout(() => r("waiting"), 300)),
        ]),
      ),
    );
    controller.abort(); // the two still waiting stop polling
    expect(results.filter((k) => k === "run")).toHaveLength(1);
    expect(results.filter((k) => k === "waiting")).toHaveLength(2);
  });

  it("GoneReplicas remembers removals it saw, forgets replicas that come back, and never guesses", async () => {
    const store = new InMemoryStateStore();
    const registry = new StoreRegistry(store, { heartbeatIntervalMs: 50 });
    await registry.start();
    const gone = new GoneReplicas(registry, 60_000);
    gone.follow("n");
    const handle = await registry.register({ node: "n", replicaId: "n@r1" });
    await registry.refresh();
    expect(gone.has("n@r1")).toBe(false);
    expect(gone.has("n@never-seen")).toBe(false);
    await handle.deregister();
    await expect.poll(() => gone.has("n@r1")).toBe(true);
    gone.stop();
    await registry.stop();
  });
});
