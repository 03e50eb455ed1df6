// The chaos suite's accounting: a run must never look better than it was.
import { describe, expect, it } from "vitest";
import type { RunnerEvent } from "../../../bench/lib/chaosMessages.js";
import { summarize, type Fault } from "../../../bench/lib/chaosReport.js";

const start = (thread: string, at: number, mode: "fresh" | "resume" = "fresh"): RunnerEvent => ({ type: "start", thread, at, mode });
const end = (thread: string, at: number, ms: number, ok = true, mode: "fresh" | "resume" = "fresh"): RunnerEvent => ({
  type: "end",
  thread,
  at,
  ms,
  mode,
  ok,
  ...(ok ? {} : { error: `ReplicaGoneError: replica 4f3a2b1c9d8e gone after 3 attempts` }),
});

describe("chaos accounting (summarize)", () => {
  it("counts a thread as completed only when its checkpoint is finished, whatever the runner said", () => {
    const s = summarize(
      {
        threads: ["a", "b", "c", "d", "e"],
        events: [
          start("a", 0),
          end("a", 10, 10),
          start("b", 0),
          end("b", 20, 20), // reported ok, but its checkpoint is not finished
          start("c", 0), // started, never ended
          start("d", 0),
          end("d", 30, 30, false), // threw
        ],
        finished: new Map([
          ["a", true],
          ["b", false],
        ]),
        effects: new Map([["a", [1]]]),
        faults: [],
      },
      0,
    );
    expect(s).toMatchObject({
      threads: 5,
      invocations: 4,
      completed: 1,
      failedInvocations: 1,
      failedThreads: 1,
      lost: 3, // b (reported ok), c (never ended), e (never started)
      lostNeverStarted: 1,
      lostReportedOk: 1,
      completedWithoutEffect: 0,
    });
    expect(s.errors).toEqual([{ message: "ReplicaGoneError: replica # gone after # attempts", count: 1 }]);
    expect(s.latencyMs).toEqual({ count: 2, p50: 10, p99: 20, max: 20 });
  });

  it("a thread finished in its checkpoint with no effect in the ledger is flagged", () => {
    const s = summarize(
      { threads: ["a"], events: [start("a", 0), end("a", 5, 5)], finished: new Map([["a", true]]), effects: new Map(), faults: [] },
      0,
    );
    expect(s.completed).toBe(1);
    expect(s.completedWithoutEffect).toBe(1);
  });

  it("tells an effect re-run under the same key from one run under two keys", () => {
    const s = summarize(
      {
        threads: ["a", "b", "c"],
        events: [],
        finished: new Map(),
        effects: new Map([
          ["a", [1]],
          ["b", [3]],
          ["c", [1, 1]],
        ]),
        faults: [],
      },
      0,
    );
    expect(s).toMatchObject({ effectRuns: 6, keysRunTwice: 1, extraRunsSameKey: 2, threadsEffectUnderTwoKeys: 1 });
  });

  it("settles the calls in flight at a fault when their thread next ends, and never when it does not", () => {
    const faults: Fault[] = [{ kind: "worker-kill", at: 100, detail: "w1" }];
    const s = summarize(
      {
        threads: ["a", "b", "c", "d"],
        events: [
          start("a", 50),
          end("a", 90, 40), // ended before the fault: not in flight
          start("b", 80),
          end("b", 2100, 2020), // in flight, settles 2 s after the fault
          start("c", 90),
          end("c", 4100, 4010, false), // in flight, settles (by failing) 4 s after
          start("d", 150), // started after the fault: not in flight
        ],
        finished: new Map(),
        effects: new Map(),
        faults,
      },
      0,
    );
    expect(s.faults).toEqual([{ kind: "worker-kill", detail: "w1", atS: 0.1, inFlight: 2, worstSettleMs: 4000, unsettled: 0 }]);
    expect(s.worstSettleByKind).toEqual({ "worker-kill": 4000 });

    const never = summarize({ threads: ["a"], events: [start("a", 50)], finished: new Map(), effects: new Map(), faults }, 0);
    expect(never.faults[0]).toMatchObject({ inFlight: 1, worstSettleMs: null, unsettled: 1 });
    expect(never.worstSettleByKind["worker-kill"]).toBeNull();
  });

  it("a killed runner's invocations settle when the resumed run ends, and are not in flight at later faults", () => {
    const s = summarize(
      {
        threads: ["a"],
        events: [start("a", 0), start("a", 1200, "resume"), end("a", 1500, 300, true, "resume")],
        finished: new Map([["a", true]]),
        effects: new Map([["a", [1]]]),
        faults: [
          { kind: "runner-kill", at: 1000, detail: "runner-1" },
          { kind: "broker-kill", at: 5000, detail: "node 2" },
        ],
      },
      0,
    );
    expect(s.faults[0]).toMatchObject({ kind: "runner-kill", inFlight: 1, worstSettleMs: 500, unsettled: 0 });
    expect(s.faults[1]).toMatchObject({ kind: "broker-kill", inFlight: 0, worstSettleMs: 0, unsettled: 0 });
    expect(s).toMatchObject({ invocations: 2, resumedInvocations: 1, completed: 1, lost: 0 });
  });
});
