// The kafkajs patch that ends a consumer's wait on paused partitions at resume(): exercised on
// kafkajs's own ConsumerGroup prototype with a stand-in `this` (the integration suite runs it on
// real replicas).
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { patchKafkajsPausedWait, wakeOnResume } from "../../../adapters/kafka/patchKafkajsPausedWait.js";

interface Group {
  fetch: (this: unknown, nodeId: number) => Promise<unknown[]>;
  resume: (this: unknown, topicPartitions: unknown) => void;
}
const ConsumerGroup = createRequire(import.meta.url)("kafkajs/src/consumer/consumerGroup.js") as { prototype: Group };

/** A stand-in for a ConsumerGroup with `partitions` on broker 1, of which `paused` are paused. */
function group(partitions: number[], paused: Set<number>, maxWaitTime: number, groupId = "replicas") {
  const refreshes = { count: 0 };
  const self = {
    groupId,
    maxWaitTime,
    logger: { info: () => undefined },
    subscriptionState: {
      assigned: () => [{ topic: "t", partitions }],
      isPaused: (_topic: string, p: number) => paused.has(p),
      resume: (tps: { topic: string; partitions?: number[] }[]) => {
        for (const tp of tps) for (const p of tp.partitions ?? partitions) paused.delete(p);
      },
    },
    filterPartitionsByNode: (_nodeId: number, tps: unknown) => tps,
    recoverFromFetch: (e: Error) => Promise.reject(e),
    // kafkajs's own fetch starts here: a marker that the original ran.
    cluster: {
      refreshMetadataIfNecessary: () => {
        refreshes.count += 1;
        return Promise.reject(new Error("original fetch ran"));
      },
    },
  };
  return { self, refreshes };
}

describe("patchKafkajsPausedWait", () => {
  it("ends the wait on all-paused partitions at resume(), and leaves other fetches to kafkajs", async () => {
    expect(patchKafkajsPausedWait()).toBe(true);
    const unregister = wakeOnResume("replicas");
    expect(patchKafkajsPausedWait()).toBe(true); // idempotent
    const { fetch, resume } = ConsumerGroup.prototype;

    const paused = group([0, 1], new Set([0, 1]), 60_000);
    let settled = false;
    const waiting = fetch.call(paused.self, 1).then((batches) => {
      settled = true;
      return batches;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false); // waiting, as kafkajs's sleep would
    expect(paused.refreshes.count).toBe(0);
    resume.call(paused.self, [{ topic: "t" }]);
    await expect(waiting).resolves.toEqual([]); // at once, not after the 60 s fetch wait

    const timedOut = group([0], new Set([0]), 10);
    await expect(fetch.call(timedOut.self, 1)).resolves.toEqual([]); // nobody resumed: the fetch wait ends it

    const active = group([0, 1], new Set([0]), 60_000); // partition 1 is fetchable
    await expect(fetch.call(active.self, 1)).rejects.toThrow("original fetch ran");
    const none = group([], new Set(), 60_000); // nothing assigned here: kafkajs decides
    await expect(fetch.call(none.self, 1)).rejects.toThrow("original fetch ran");
    const other = group([0], new Set([0]), 60_000, "not-registered"); // other consumers keep kafkajs's fetch
    await expect(fetch.call(other.self, 1)).rejects.toThrow("original fetch ran");
    unregister();
    unregister(); // once only
    await expect(fetch.call(group([0], new Set([0]), 60_000).self, 1)).rejects.toThrow("original fetch ran");
  });
});
