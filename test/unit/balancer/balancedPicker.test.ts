// BalancedPicker: a ReplicaPicker that follows the registry's changing lists, feeds its balancer
// only on change, counts picks as call starts, takes call ends in the client's onCallDone shape,
// and honours exclusions.
import { describe, expect, it } from "vitest";
import { BalancedPicker, type PickerReplica } from "../../../src/balancer/BalancedPicker.js";
import type { Balancer } from "../../../src/balancer/Balancer.js";
import { createBalancer } from "../../../src/balancer/createBalancer.js";
import type { ReplicaCandidate, ReplicaPicker } from "../../../src/nodes/pickReplica.js";
import { BreakerEventLog } from "../../../src/resilience/BreakerEvents.js";
import { ReplicaBreakers } from "../../../src/resilience/ReplicaBreakers.js";
import { resolveResilience } from "../../../src/resilience/resilienceOptions.js";
import { deterministic, replica, replicas, tally } from "./fixtures.js";

/** A balancer that counts its updates. */
function counting(balancer: Balancer<PickerReplica>): { balancer: Balancer<PickerReplica>; updates: () => number } {
  let updates = 0;
  const update = balancer.update.bind(balancer);
  balancer.update = (node, list) => {
    updates += 1;
    update(node, list);
  };
  return { balancer, updates: () => updates };
}

function roundRobinPicker() {
  const { balancer, updates } = counting(createBalancer<PickerReplica>({ strategy: "round-robin", ...deterministic().options }));
  return { picker: new BalancedPicker({ balancer }), updates };
}

describe("BalancedPicker", () => {
  it("is a ReplicaPicker that follows a changing replica list", () => {
    const { picker } = roundRobinPicker();
    const asPicker: ReplicaPicker = picker;
    let list: ReplicaCandidate[] = replicas(2);
    const pickIds = (n: number) => tally(n, () => asPicker.pick("n", list, null)?.replicaId);
    expect([...pickIds(10).keys()].sort()).toEqual(["r00", "r01"]);

    list = replicas(3); // a replica joins
    expect(pickIds(30).get("r02")).toBe(10);

    list = replicas(3).filter((r) => r.replicaId !== "r00"); // one leaves
    expect(pickIds(20).get("r00")).toBeUndefined();

    list = [replica("r01", { status: "draining" }), replica("r02"), replica("r03", { address: { replicaId: "r03", partitions: [] } })];
    expect([...pickIds(20).keys()]).toEqual(["r02"]); // draining and still-joining replicas take no calls

    list = [];
    expect(asPicker.pick("n", list, null)).toBeUndefined();
  });

  it("updates its balancer only when the list's records change", () => {
    const { picker, updates } = roundRobinPicker();
    const records = replicas(3);
    for (let i = 0; i < 5; i += 1) picker.pick("n", [...records], null); // new arrays, same records
    expect(updates()).toBe(1);
    picker.pick("n", replicas(3), null); // a refresh: new records
    expect(updates()).toBe(2);
    const list = replicas(3);
    for (let i = 0; i < 5; i += 1) picker.pick("n", list, null); // the same array: not even compared
    expect(updates()).toBe(3);
    picker.pick("n", [...list.slice(0, 2), replica("r09")], null); // one record replaced
    expect(updates()).toBe(4);
  });

  it("counts a pick as a call start and takes call ends in the client's onCallDone shape", () => {
    const picker = new BalancedPicker({
      balancer: createBalancer<PickerReplica>({ strategy: "least-connections", ...deterministic().options }),
    });
    const list = replicas(2);
    const first = picker.pick("n", list, "t")!.replicaId;
    const second = picker.pick("n", list, "t")!.replicaId;
    expect(new Set([first, second]).size).toBe(2); // the first pick's call was counted in flight
    picker.callDone("n", first, 12, "value");
    picker.callDone("n", second, 30, "error");
    picker.callDone("n", undefined, 5, "failed"); // no replica was reached: ignored
    const stats = Object.fromEntries(picker.stats("n").map((s) => [s.replicaId, s]));
    expect(stats[first]).toMatchObject({ selections: 1, inFlight: 0, calls: 1, errors: 0, latencyEwmaMs: 12 });
    expect(stats[second]).toMatchObject({ selections: 1, inFlight: 0, calls: 1, errors: 1 });
  });

  it("skips the replicas its exclude option names, and those tried already", () => {
    const open = new Set<string>(["r00"]);
    const { balancer } = counting(createBalancer<PickerReplica>({ strategy: "p2c-ewma", ...deterministic().options }));
    const picker = new BalancedPicker({ balancer, exclude: (node) => (node === "n" ? open : undefined) });
    const list = replicas(4);
    expect(tally(200, () => picker.pick("n", list, null)?.replicaId).get("r00")).toBeUndefined();
    const tried = new Set(["r01", "r02"]);
    expect(tally(50, () => picker.pickExcluding("n", list, null, tried)?.replicaId)).toEqual(new Map([["r03", 50]]));
    tried.add("r03");
    expect(picker.pickExcluding("n", list, null, tried)).toBeUndefined();
    open.clear();
    expect(picker.pickExcluding("n", list, null, tried)?.replicaId).toBe("r00");
  });

  it("gives its exclusions the number of callable candidates, so a joining replica does not count towards the ejection cap", async () => {
    const breakers = new ReplicaBreakers(
      resolveResilience({ breaker: { kind: "consecutive", threshold: 1 }, halfOpenAfter: { initialMs: 60_000, maxMs: 60_000 } }),
      new BreakerEventLog(),
      () => true,
    );
    const counts: number[] = [];
    const picker = new BalancedPicker({
      balancer: createBalancer<PickerReplica>({ strategy: "round-robin", ...deterministic().options }),
      exclude: (node, callable) => {
        counts.push(callable);
        return breakers.exclusions(node, callable);
      },
    });
    await expect(breakers.execute("n", "r00", () => Promise.reject(new Error("down")))).rejects.toThrow("down"); // r00's breaker is open
    // r00 is the only callable replica; r01 has no partitions yet (joining its consumer group).
    const list = [
      replica("r00", { address: { replicaId: "r00", partitions: [0] } }),
      replica("r01", { address: { replicaId: "r01", partitions: [] } }),
    ];
    // Counting r01, the cap (all but one of 2) would let r00 out and leave no replica to call.
    expect(picker.pick("n", list, null)?.replicaId).toBe("r00");
    expect(picker.pick("n", [...list], null)?.replicaId).toBe("r00"); // the same records in a new array
    expect(counts).toEqual([1, 1]);

    // r01 has joined: the cap now lets r00 out, and r01 takes the calls.
    const joined = [list[0]!, replica("r01", { address: { replicaId: "r01", partitions: [1] } })];
    expect(tally(4, () => picker.pick("n", joined, null)?.replicaId)).toEqual(new Map([["r01", 4]]));
    expect(counts.at(-1)).toBe(2);
  });

  it("keeps a thread on its replica with consistent hashing", () => {
    const picker = new BalancedPicker({ balancer: createBalancer<PickerReplica>("consistent-hash") });
    const list = replicas(5);
    const home = picker.pick("n", list, "AAPL")!.replicaId;
    for (let i = 0; i < 20; i += 1) expect(picker.pick("n", replicas(5), "AAPL")?.replicaId).toBe(home);
  });

  it("defaults to p2c-ewma", () => {
    expect(new BalancedPicker().balancer.name).toBe("p2c-ewma");
  });
});
