/**
 * The accounting of the chaos suite, as pure functions of what was observed: the runners' events,
 * each thread's final checkpoint, the effect ledger and the faults. Kept apart from the
 * orchestrator so that the rules (what counts as lost, failed, settled) are one readable place and
 * can be tested on made-up observations.
 *
 * The ground truth of "completed" is the checkpoint, not a runner's word: a thread counts as
 * completed only if its final checkpoint has `done` and nothing left to run. Every other thread is
 * unfinished: `failed` when the last thing its runner said about it was an error, else `lost`
 * (never started, started but never ended, or reported done without a finished checkpoint).
 */
import type { RunnerEvent } from "./chaosMessages.js";
import { percentile, round } from "./stats.js";

/** The kinds of fault the suite injects. */
export type FaultKind = "worker-kill" | "runner-kill" | "broker-kill" | "redis-primary-kill";

/** One injected fault: what, when (epoch ms, just before the signal) and to what. */
export interface Fault {
  kind: FaultKind;
  at: number;
  detail: string;
}

/** Everything the orchestrator observed, in the order it received the events. */
export interface Observations {
  /** Every thread of the run. */
  threads: readonly string[];
  /** Every runner event (of every runner), in arrival order. */
  events: readonly RunnerEvent[];
  /** Per thread: true when its final checkpoint is finished. Missing = no checkpoint. */
  finished: ReadonlyMap<string, boolean>;
  /** Per thread: how many times the effect ran under each idempotency key. Missing = never. */
  effects: ReadonlyMap<string, readonly number[]>;
  faults: readonly Fault[];
}

/** Settling of the invocations in flight at one fault. */
export interface FaultSettle {
  kind: FaultKind;
  detail: string;
  /** Seconds since the load started. */
  atS: number;
  /** Threads with an invocation in flight at the fault. */
  inFlight: number;
  /** Longest time until one of them settled (ended, either way), ms; null when one never did. */
  worstSettleMs: number | null;
  /** How many never settled. */
  unsettled: number;
}

/** The figures of a run. */
export interface ChaosSummary {
  threads: number;
  /** Invocations started (`graph.invoke`), fresh and resumed. */
  invocations: number;
  resumedInvocations: number;
  /** Threads a resuming runner found finished (their end was lost with the killed runner). */
  foundFinishedOnResume: number;
  /** Threads whose final checkpoint is finished. */
  completed: number;
  /** Invocations that threw (or returned a wrong result). */
  failedInvocations: number;
  /** Failed invocations by error message (numbers and ids masked), most frequent first. */
  errors: { message: string; count: number }[];
  /** Unfinished threads whose last reported invocation failed. */
  failedThreads: number;
  /** Unfinished threads with no error to show for it. */
  lost: number;
  /** Of `lost`: never started. */
  lostNeverStarted: number;
  /** Of `lost`: a runner reported success but the checkpoint is not finished. */
  lostReportedOk: number;
  /** Effect executions in all. */
  effectRuns: number;
  /** Idempotency keys whose effect ran more than once (a redelivery; allowed after a worker crash). */
  keysRunTwice: number;
  /** Executions beyond the first under the same key. */
  extraRunsSameKey: number;
  /** Threads whose effect ran under two or more keys (a key that did not survive a crash). */
  threadsEffectUnderTwoKeys: number;
  /** Finished threads with no effect in the ledger (should be impossible). */
  completedWithoutEffect: number;
  /** Latency of the invocations that succeeded, ms. */
  latencyMs: { count: number; p50: number; p99: number; max: number };
  faults: FaultSettle[];
  /** Worst settle per fault kind, ms (null: something never settled). */
  worstSettleByKind: Partial<Record<FaultKind, number | null>>;
}

interface Invocation {
  start: number;
  end?: number;
  /** The runner running it was killed at this time: it never ends, the thread is resumed elsewhere. */
  abandoned?: number;
}

/** Open at `t`: started, and neither ended nor abandoned before `t`. */
const openAt = (i: Invocation, t: number): boolean =>
  i.start <= t && (i.end === undefined || i.end > t) && (i.abandoned === undefined || i.abandoned >= t);

/** Computes the figures of a run from its observations; `loadStart` is the epoch ms the load began. */
export function summarize(o: Observations, loadStart: number): ChaosSummary {
  const invocations = new Map<string, Invocation[]>();
  /** Per thread, times at which something settled it (an end, or "found finished"). */
  const settles = new Map<string, number[]>();
  const lastWord = new Map<string, "ok" | "failed">();
  let starts = 0;
  let resumed = 0;
  let foundFinished = 0;
  let failedInvocations = 0;
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  // A killed runner's open invocations end with it: mark them, in order of time with the events.
  const runnerKills = o.faults.filter((f) => f.kind === "runner-kill").map((f) => f.at);
  const abandonUpTo = (t: number): void => {
    while (runnerKills.length > 0 && runnerKills[0]! <= t) {
      const kill = runnerKills.shift()!;
      for (const list of invocations.values())
        for (const i of list) if (i.end === undefined && i.abandoned === undefined && i.start <= kill) i.abandoned = kill;
    }
  };
  const push = <T>(map: Map<string, T[]>, key: string, value: T): void => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const e of o.events) {
    if (e.type !== "ready" && e.type !== "finished") abandonUpTo(e.at);
    if (e.type === "start") {
      starts += 1;
      if (e.mode === "resume") resumed += 1;
      push(invocations, e.thread, { start: e.at });
    } else if (e.type === "end") {
      // The runner reports the end of the invocation it started last for this thread.
      const open = invocations.get(e.thread)?.findLast((i) => i.end === undefined && i.abandoned === undefined);
      if (open) open.end = e.at;
      push(settles, e.thread, e.at);
      lastWord.set(e.thread, e.ok ? "ok" : "failed");
      if (e.ok) latencies.push(e.ms);
      else {
        failedInvocations += 1;
        const message = (e.error ?? "?").replace(/[0-9a-f]{8,}|\d+/g, "#").slice(0, 200);
        errors.set(message, (errors.get(message) ?? 0) + 1);
      }
    } else if (e.type === "complete") {
      foundFinished += 1;
      push(settles, e.thread, e.at);
      lastWord.set(e.thread, "ok");
    }
  }

  abandonUpTo(Number.POSITIVE_INFINITY);

  let completed = 0;
  let failedThreads = 0;
  let lostNeverStarted = 0;
  let lostReportedOk = 0;
  let lost = 0;
  let completedWithoutEffect = 0;
  for (const thread of o.threads) {
    if (o.finished.get(thread) === true) {
      completed += 1;
      if ((o.effects.get(thread) ?? []).reduce((a, b) => a + b, 0) === 0) completedWithoutEffect += 1;
      continue;
    }
    const word = lastWord.get(thread);
    if (word === "failed") {
      failedThreads += 1;
      continue;
    }
    lost += 1;
    if (!invocations.has(thread) && word === undefined) lostNeverStarted += 1;
    if (word === "ok") lostReportedOk += 1;
  }

  let effectRuns = 0;
  let keysRunTwice = 0;
  let extraRunsSameKey = 0;
  let threadsEffectUnderTwoKeys = 0;
  for (const counts of o.effects.values()) {
    if (counts.length > 1) threadsEffectUnderTwoKeys += 1;
    for (const c of counts) {
      effectRuns += c;
      if (c > 1) {
        keysRunTwice += 1;
        extraRunsSameKey += c - 1;
      }
    }
  }

  const faults = o.faults.map((f) => settleAt(f, invocations, settles, loadStart));
  const worstSettleByKind: Partial<Record<FaultKind, number | null>> = {};
  for (const f of faults) {
    const before = worstSettleByKind[f.kind];
    worstSettleByKind[f.kind] = before === null || f.worstSettleMs === null ? null : Math.max(before ?? 0, f.worstSettleMs);
  }

  return {
    threads: o.threads.length,
    invocations: starts,
    resumedInvocations: resumed,
    foundFinishedOnResume: foundFinished,
    completed,
    failedInvocations,
    errors: [...errors].sort((a, b) => b[1] - a[1]).map(([message, count]) => ({ message, count })),
    failedThreads,
    lost,
    lostNeverStarted,
    lostReportedOk,
    effectRuns,
    keysRunTwice,
    extraRunsSameKey,
    threadsEffectUnderTwoKeys,
    completedWithoutEffect,
    latencyMs: {
      count: latencies.length,
      p50: round(percentile(latencies, 50), 1),
      p99: round(percentile(latencies, 99), 1),
      max: round(percentile(latencies, 100), 1),
    },
    faults,
    worstSettleByKind,
  };
}

/** The invocations open at the fault, and how long until each of their threads next settled. */
function settleAt(f: Fault, invocations: Map<string, Invocation[]>, settles: Map<string, number[]>, loadStart: number): FaultSettle {
  let inFlight = 0;
  let unsettled = 0;
  let worst = 0;
  for (const [thread, list] of invocations) {
    if (!list.some((i) => openAt(i, f.at))) continue;
    inFlight += 1;
    const next = (settles.get(thread) ?? []).find((t) => t > f.at);
    if (next === undefined) unsettled += 1;
    else worst = Math.max(worst, next - f.at);
  }
  return {
    kind: f.kind,
    detail: f.detail,
    atS: round((f.at - loadStart) / 1000, 1),
    inFlight,
    worstSettleMs: unsettled > 0 ? null : worst,
    unsettled,
  };
}
