/**
 * A partition assigner that honours each member's own subscription.
 *
 * The replicas of a fabric share one consumer group, one member per process (see
 * `ReplicaMember`), and members subscribe to different request topics: a process serving
 * `momentum` and `sentiment` subscribes to those two topics only. kafkajs's round-robin assigner
 * assumes every member subscribes to every topic of the leader (it assigns the leader's topics
 * over all members, and a member drops what it did not subscribe to), so partitions would be
 * lost or given to members that never fetch them. This one decodes every member's subscription
 * and spreads each topic's partitions over the members subscribed to it, as Kafka's own assignors
 * do.
 *
 * @module
 */
import { AssignerProtocol, type Cluster, type GroupMember, type GroupMemberAssignment, type PartitionAssigner } from "kafkajs";

/** The protocol name members announce; every member of a replica group must offer it. */
export const SUBSCRIPTION_ASSIGNER = "LgfSubscriptionAssigner";

/** Per member: topic → partitions. */
export type Assignments = Map<string, Record<string, number[]>>;

/**
 * Spreads each topic's partitions, in order, over the members subscribed to it (sorted by member
 * id), round robin. Pure: `partitionsOf` gives a topic's partition ids (none for an unknown topic).
 */
export function assignBySubscription(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionsOf: (topic: string) => readonly number[],
): Assignments {
  const assignments: Assignments = new Map();
  const subscribers = new Map<string, string[]>();
  for (const [memberId, topics] of subscriptions) {
    assignments.set(memberId, {});
    for (const topic of new Set(topics)) {
      let list = subscribers.get(topic);
      if (!list) subscribers.set(topic, (list = []));
      list.push(memberId);
    }
  }
  for (const [topic, members] of subscribers) {
    members.sort();
    const partitions = [...partitionsOf(topic)].sort((a, b) => a - b);
    partitions.forEach((partition, i) => {
      const assignment = assignments.get(members[i % members.length] ?? "");
      if (assignment) (assignment[topic] ??= []).push(partition);
    });
  }
  return assignments;
}

/** The topics a member subscribed to; none when its metadata cannot be read (it then gets nothing). */
function subscriptionOf(metadata: Buffer): string[] {
  try {
    return AssignerProtocol.MemberMetadata.decode(metadata)?.topics ?? [];
  } catch {
    return [];
  }
}

/** Loads metadata of `topics`, skipping topics that no longer exist (a member may subscribe to a deleted one). */
async function loadMetadata(cluster: Cluster, topics: readonly string[]): Promise<void> {
  try {
    await cluster.addMultipleTargetTopics([...topics]);
  } catch {
    for (const topic of topics) await cluster.addTargetTopic(topic).catch(() => undefined);
  }
}

/** The kafkajs assigner; pass it as `partitionAssigners: [subscriptionAssigner]`. */
export const subscriptionAssigner: PartitionAssigner = ({ cluster }) => ({
  name: SUBSCRIPTION_ASSIGNER,
  version: 0,
  async assign({ members }: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]> {
    const subscriptions = new Map<string, string[]>();
    for (const { memberId, memberMetadata } of members) subscriptions.set(memberId, subscriptionOf(memberMetadata));
    // The leader knows the partitions of its own topics only: ask for everyone's.
    await loadMetadata(cluster, [...new Set([...subscriptions.values()].flat())]);
    const partitionsOf = (topic: string): number[] => {
      try {
        return cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
      } catch {
        return [];
      }
    };
    const assignments = assignBySubscription(subscriptions, partitionsOf);
    return members.map(({ memberId }) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: assignments.get(memberId) ?? {},
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }: { topics: string[] }) {
    return {
      name: SUBSCRIPTION_ASSIGNER,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
