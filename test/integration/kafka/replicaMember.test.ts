// The fabric's replica group over the real broker: one consumer (group member) per process for all
// the nodes it serves, partitions of each topic only to the members that serve that node, and a
// node released by one process moving to the others while the process's other nodes keep serving.
import { randomBytes } from "node:crypto";
import { AssignerProtocol } from "kafkajs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import type { HandlerResult, RequestHandler, ServeHandle } from "../../../src/transport/Transport.js";
import { requestHeader } from "../../conformance/transportConformance.js";
import { waitFor } from "../../conformance/stateStoreConformance.js";
import { KafkaTestContext } from "./kafkaHarness.js";

const context = new KafkaTestContext();
afterEach(() => context.stopTransports(), 60_000);
afterAll(() => context.close(), 60_000);

const node = (base: string): string => `${base}-${randomBytes(3).toString("hex")}`;
const answer =
  (text: string): RequestHandler =>
  () =>
    Promise.resolve<HandlerResult>({ status: "ok", payloadType: "bytes", payload: Buffer.from(text) });

async function started(): Promise<KafkaTransport> {
  const t = context.transport();
  await t.start();
  return t;
}

/** Serves `name` on `t` as a new replica. */
function serve(t: KafkaTransport, name: string, text = name): Promise<ServeHandle> {
  return t.serve(name, answer(text), { replicaId: `${name}@${randomBytes(3).toString("hex")}`, concurrency: 4 });
}

/** Each member of the replica group and the partitions it was assigned, by topic. */
async function members(t: KafkaTransport): Promise<Record<string, number[]>[]> {
  const { groups } = await context.admin.describeGroups([t.names.replicaGroup]);
  return (groups[0]?.members ?? []).map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {});
}

async function call(from: KafkaTransport, name: string, handle: ServeHandle): Promise<string> {
  const reply = await from.call(requestHeader(name, handle.address.replicaId), Buffer.from("q"), { target: handle.address });
  return Buffer.from(reply.payload).toString();
}

describe("the replica group", () => {
  it("one process serving three nodes is one member, owning every partition of the three topics", async () => {
    await context.admin.connect();
    const names = [node("a"), node("b"), node("c")];
    const t = await started();
    const handles = await Promise.all(names.map((n) => serve(t, n)));
    for (const h of handles) expect(h.address.partitions).toEqual([0, 1, 2, 3]);
    const group = await members(t);
    expect(group).toHaveLength(1);
    expect(Object.keys(group[0]!).sort()).toEqual(names.map((n) => t.names.requests(n)).sort());
    const caller = await started();
    expect(await Promise.all(names.map((n, i) => call(caller, n, handles[i]!)))).toEqual(names);
  }, 60_000);

  it("draining every node of a process leaves the group once, without rejoining in between", async () => {
    const names = [node("d1"), node("d2"), node("d3")];
    const t = await started();
    const handles = await Promise.all(names.map((n) => serve(t, n)));
    const member = (t as unknown as { members: { joins: number }[] }).members[0]!;
    expect(member.joins).toBe(1);
    // As fabric.stop() drains them: all at once. The first to finish is not worth a rejoin for the
    // others, which are draining too.
    await Promise.all(handles.map((h) => h.drain(5_000)));
    expect(member.joins).toBe(1);
    expect((t as unknown as { members: unknown[] }).members).toHaveLength(0);
    await context.admin.connect();
    expect(await members(t)).toHaveLength(0);
  }, 60_000);

  it("a second replica of a node in the same process is a second member; the node's partitions are split", async () => {
    await context.admin.connect();
    const name = node("twice");
    const t = await started();
    const first = await serve(t, name, "first");
    const second = await serve(t, name, "second");
    await waitFor(() => first.address.partitions?.length === 2 && second.address.partitions?.length === 2, 20_000);
    expect([...first.address.partitions!, ...second.address.partitions!].sort()).toEqual([0, 1, 2, 3]);
    expect(await members(t)).toHaveLength(2);
    const caller = await started();
    expect(await call(caller, name, first)).toBe("first");
    expect(await call(caller, name, second)).toBe("second");
  }, 60_000);

  it("a node one process stops moves to the other process; the first process's other node keeps every partition", async () => {
    await context.admin.connect();
    const [shared, own] = [node("shared"), node("own")];
    const a = await started();
    const b = await started();
    const [aShared, aOwn] = await Promise.all([serve(a, shared, "a"), serve(a, own, "a-own")]);
    const bShared = await serve(b, shared, "b");
    // Only the members that serve a node get its partitions: b never gets a partition of `own`.
    await waitFor(() => aShared.address.partitions?.length === 2 && bShared.address.partitions?.length === 2, 20_000);
    expect(aOwn.address.partitions).toEqual([0, 1, 2, 3]);
    const group = await members(a);
    expect(group.filter((m) => m[a.names.requests(own)] !== undefined)).toHaveLength(1);

    await aShared.stop();
    await waitFor(() => bShared.address.partitions?.length === 4, 20_000);
    await waitFor(() => aOwn.address.partitions?.length === 4, 20_000);
    const caller = await started();
    expect(await call(caller, own, aOwn)).toBe("a-own");
    expect(await call(caller, shared, bShared)).toBe("b");
    const after = await members(a);
    expect(after.find((m) => m[a.names.requests(own)] !== undefined)?.[a.names.requests(shared)]).toBeUndefined();
  }, 60_000);
});
