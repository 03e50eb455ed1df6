/**
 * What the chaos suite's orchestrator and its runner processes tell each other over IPC.
 * Times are epoch milliseconds (`Date.now()`), comparable across the processes of one machine.
 */

/** One thread the runner is to drive: its id, its input `n`, and when to start it at the earliest. */
export interface ThreadPlan {
  id: string;
  n: number;
  at: number;
}

/** Orchestrator → runner: the threads to drive (in order), and at most how many at once. */
export interface RunnerPlan {
  type: "plan";
  threads: ThreadPlan[];
  inFlight: number;
  /**
   * A runner that replaces a crashed one: for each thread it first reads the checkpoint — a
   * finished thread is reported `complete`, one with a checkpoint is resumed with
   * `invoke(null, config)`, one without is started.
   */
  resume: boolean;
}

/** How an invocation started: a new thread, or `invoke(null)` on a thread with a checkpoint. */
export type InvocationMode = "fresh" | "resume";

/** Runner → orchestrator. */
export type RunnerEvent =
  | { type: "ready"; pid: number }
  | { type: "start"; thread: string; at: number; mode: InvocationMode }
  | { type: "end"; thread: string; at: number; ms: number; mode: InvocationMode; ok: boolean; error?: string }
  /** A resuming runner found the thread already finished (its end was lost with the crashed runner). */
  | { type: "complete"; thread: string; at: number }
  | { type: "finished" };
