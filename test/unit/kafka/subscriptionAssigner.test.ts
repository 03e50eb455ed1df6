// The replica group's assigner: every partition of a topic goes to exactly one member subscribed
// to it, spread evenly over them; members get nothing of topics they did not subscribe to.
import fc from "fast-check";
import { AssignerProtocol, type Cluster, type Logger } from "kafkajs";
import { describe, expect, it } from "vitest";
import { assignBySubscription, SUBSCRIPTION_ASSIGNER, subscriptionAssigner } from "../../../adapters/kafka/subscriptionAssigner.js";

const topicNames = ["t.a", "t.b", "t.c", "t.d"];

describe("assignBySubscription", () => {
  it("gives each partition to one subscriber, evenly, and nothing to anyone else", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 8 }),
        fc.func(fc.subarray(topicNames)),
        fc.func(fc.integer({ min: 0, max: 12 })),
        (members, topicsOf, partitionCount) => {
          const subscriptions = new Map(members.map((m) => [m, topicsOf(m)]));
          const partitionsOf = (topic: string): number[] => Array.from({ length: partitionCount(topic) }, (_, i) => i);
          const result = assignBySubscription(subscriptions, partitionsOf);
          expect([...result.keys()].sort()).toEqual([...members].sort());
          for (const topic of topicNames) {
            const subscribers = members.filter((m) => subscriptions.get(m)!.includes(topic));
            const owners = new Map<number, string>();
            for (const [member, assignment] of result) {
              for (const p of assignment[topic] ?? []) {
                expect(subscribers).toContain(member);
                expect(owners.has(p)).toBe(false);
                owners.set(p, member);
              }
            }
            const expected = subscribers.length === 0 ? 0 : partitionCount(topic);
            expect(owners.size).toBe(expected);
            if (subscribers.length > 0) {
              const counts = subscribers.map((m) => result.get(m)![topic]?.length ?? 0);
              expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
            }
          }
        },
      ),
    );
  });

  it("is deterministic: the same members and topics give the same assignment", () => {
    const subscriptions = new Map([
      ["m2", ["t.a", "t.b"]],
      ["m1", ["t.a"]],
    ]);
    const partitionsOf = (): number[] => [3, 0, 2, 1];
    expect(Object.fromEntries(assignBySubscription(subscriptions, partitionsOf))).toEqual({
      m1: { "t.a": [0, 2] },
      m2: { "t.a": [1, 3], "t.b": [0, 1, 2, 3] },
    });
  });
});

describe("subscriptionAssigner", () => {
  it("reads each member's subscription from its metadata and loads the metadata of every topic", async () => {
    const loaded: string[][] = [];
    // Only the two methods the assigner uses: which partitions a topic has, and loading topics.
    const cluster = {
      addMultipleTargetTopics: (topics: string[]) => {
        loaded.push(topics);
        return Promise.resolve();
      },
      addTargetTopic: () => Promise.resolve(),
      findTopicPartitionMetadata: (topic: string) =>
        topic === "t.gone" ? [] : [0, 1, 2].map((partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0] })),
    } as unknown as Cluster;
    const assigner = subscriptionAssigner({ cluster, groupId: "g", logger: {} as Logger });
    expect(assigner.name).toBe(SUBSCRIPTION_ASSIGNER);
    const member = (memberId: string, topics: string[]) => ({ memberId, memberMetadata: assigner.protocol({ topics }).metadata });
    const result = await assigner.assign({
      members: [member("a", ["t.x", "t.gone"]), member("b", ["t.x", "t.y"]), { memberId: "c", memberMetadata: Buffer.alloc(0) }],
      topics: ["t.x"], // the leader's own topics: not enough
    });
    const decoded = Object.fromEntries(
      result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment]),
    );
    expect(decoded).toEqual({ a: { "t.x": [0, 2] }, b: { "t.x": [1], "t.y": [0, 1, 2] }, c: {} });
    expect(loaded[0]?.sort()).toEqual(["t.gone", "t.x", "t.y"]);
  });
});
