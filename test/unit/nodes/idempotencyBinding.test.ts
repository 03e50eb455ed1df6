import { describe, expect, it } from "vitest";
import { isIdempotencyConflictError } from "../../../src/errors.js";
import { IdempotencyStore } from "../../../src/nodes/IdempotencyStore.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";

const a = { node: "momentum", input: "a".repeat(64) };

async function conflict(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (e) {
    return e;
  }
  throw new Error("the request was served");
}

describe("IdempotencyStore bindings", () => {
  it("serves the recorded reply only to a request of the same node and input", async () => {
    const store = new IdempotencyStore(new InMemoryStateStore().namespace("calls"), silentLogger);
    const first = await store.begin("k1", "r1", a);
    if (first.kind !== "run") throw new Error("fresh key not claimed");
    await first.lease.complete("json", Buffer.from('"recorded"'));
    const again = await store.begin("k1", "r2", a);
    expect(again.kind === "done" && Buffer.from(again.payload).toString()).toBe('"recorded"');
    expect(isIdempotencyConflictError(await conflict(store.begin("k1", "r2", { ...a, input: "b".repeat(64) })))).toBe(true);
    expect(isIdempotencyConflictError(await conflict(store.begin("k1", "r2", { ...a, node: "other" })))).toBe(true);
  });

  it("refuses a request for a key another call is running, instead of waiting for its reply", async () => {
    const store = new IdempotencyStore(new InMemoryStateStore().namespace("calls"), silentLogger);
    const running = await store.begin("k2", "r1", a);
    expect(running.kind).toBe("run");
    const error = await conflict(store.begin("k2", "r2", { ...a, input: "c".repeat(64) }));
    expect(isIdempotencyConflictError(error) && error.key).toBe("k2");
    if (running.kind === "run") await running.lease.abandon();
  });
});
