/**
 * Makes kafkajs 2.2.x's wait while every partition is paused end at `resume()`.
 *
 * When a consumer has nothing to fetch from a broker because all its partitions there are paused,
 * `ConsumerGroup.fetch` sleeps `maxWaitTimeInMs` before looking again — a sleep nothing can cut
 * short. A replica pauses its request topic while it is at its concurrency limit and resumes it
 * the moment a slot frees, so that sleep is dead time of a busy replica, and it grows with the
 * fetch wait. That is why the request consumers' fetch wait had to stay short (50 ms), and short
 * fetch waits are what an idle consumer pays for: one fetch per wait per consumer, about 0.4 ms
 * of broker CPU each on a 2-core machine. With the sleep ended by `resume()`, the fetch wait only
 * bounds the idle polling rate (Kafka's own consumer default, 500 ms, is now ours too).
 *
 * The patch wraps `fetch`: for the consumer groups registered with {@link wakeOnResume} (the
 * replicas' groups), when the partitions assigned to this broker are all paused, it waits for the
 * next `resume()` of that consumer (or the fetch wait, whichever comes first) and returns no
 * batches, as kafkajs does after its sleep; every other fetch is kafkajs's own, unchanged. Scoped
 * to registered groups because other consumers may rely on what kafkajs does before its sleep
 * (pending seeks, metadata refresh): `GraphChannel`'s redelivery test stalled under the unscoped
 * patch, and its partitions pause per thread, rarely all at once, so it gains little anyway.
 *
 * @module
 */
import { requireKafkajs22 } from "./requireKafkajs22.js";

interface TopicPartitions {
  topic: string;
  partitions: number[];
}

interface ConsumerGroupLike {
  groupId: string;
  maxWaitTime: number;
  subscriptionState: { assigned(): TopicPartitions[]; isPaused(topic: string, partition: number): boolean };
  filterPartitionsByNode(nodeId: number, topicPartitions: TopicPartitions[]): TopicPartitions[];
  // Function-typed properties, not methods: they are taken off the prototype and called with `this`.
  fetch: (this: ConsumerGroupLike, nodeId: number) => Promise<unknown[]>;
  resume: (this: ConsumerGroupLike, topicPartitions: unknown) => void;
}

const PATCHED = Symbol.for("langgraph-fabric:kafkajs-paused-wait");
const WAKERS = Symbol.for("langgraph-fabric:kafkajs-paused-wakers");

/** Consumer groups whose paused wait ends at `resume()`, with how many registrations each has. */
const groups = new Map<string, number>();

/**
 * Registers consumer group `groupId` for the patched wait (see the module comment); returns the
 * function that takes the registration back. Call it before the group's consumer runs.
 */
export function wakeOnResume(groupId: string): () => void {
  groups.set(groupId, (groups.get(groupId) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (groups.get(groupId) ?? 1) - 1;
    if (n <= 0) groups.delete(groupId);
    else groups.set(groupId, n);
  };
}

type Waker = () => void;
type Patched = ConsumerGroupLike & { [WAKERS]?: Set<Waker> };

/** True when this consumer group has partitions on broker `nodeId` and every one of them is paused. */
function allPaused(group: ConsumerGroupLike, nodeId: number): boolean {
  const mine = group.filterPartitionsByNode(nodeId, group.subscriptionState.assigned());
  let any = false;
  for (const { topic, partitions } of mine) {
    for (const partition of partitions) {
      if (!group.subscriptionState.isPaused(topic, partition)) return false;
      any = true;
    }
  }
  return any;
}

/**
 * Patches kafkajs's `ConsumerGroup` in this process once, for kafkajs 2.2.x (whose `fetch` has the
 * uninterruptible sleep); other versions are left alone. Returns whether the patch is in place.
 */
export function patchKafkajsPausedWait(): boolean {
  const ConsumerGroup = requireKafkajs22("kafkajs/src/consumer/consumerGroup.js") as
    ({ prototype: ConsumerGroupLike } & Record<symbol, unknown>) | undefined;
  if (ConsumerGroup === undefined) return false;
  if (ConsumerGroup[PATCHED] === true) return true;
  const proto = ConsumerGroup.prototype;
  const { fetch, resume } = proto;
  if (typeof fetch !== "function" || typeof resume !== "function" || typeof proto.filterPartitionsByNode !== "function") return false;

  proto.fetch = async function patchedFetch(this: Patched, nodeId: number): Promise<unknown[]> {
    if (!groups.has(this.groupId) || !allPaused(this, nodeId)) return fetch.call(this, nodeId);
    const wakers = (this[WAKERS] ??= new Set());
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.maxWaitTime);
      wakers.add(wake);
    });
    return [];
  };
  proto.resume = function patchedResume(this: Patched, topicPartitions: unknown): void {
    resume.call(this, topicPartitions);
    const wakers = this[WAKERS];
    if (wakers) for (const wake of [...wakers]) wake();
  };
  ConsumerGroup[PATCHED] = true;
  return true;
}
