/**
 * Worker processes the demo starts itself (`--workers N`), for a distributed run on one machine
 * without a second terminal. Each is a separate Node process serving the agent nodes, exactly as
 * `npm run demo:worker` would; they are stopped with SIGTERM (a graceful drain) when the demo ends.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";

/** How to start one worker: a command and its arguments (the connection travels in the environment). */
export interface WorkerCommand {
  command: string;
  args: readonly string[];
}

/** Started worker processes. */
export interface LocalWorkers {
  /** Their pids. */
  readonly pids: readonly number[];
  /** The exit of the first worker that ended before {@link stop} — a worker that failed to start. */
  readonly failed: Promise<string>;
  /** SIGTERM to each (SIGKILL after `timeoutMs`), resolving when all have exited. */
  stop(timeoutMs?: number): Promise<void>;
}

const OUTPUT_TAIL_CHARS = 2_000; // of each worker's output, shown when it dies early

/** Starts `count` workers with `env` added to this process's environment. */
export function startLocalWorkers(count: number, command: WorkerCommand, env: Record<string, string>): LocalWorkers {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers must be a positive integer (got ${count})`);
  let stopping = false;
  const children: ChildProcess[] = [];
  let reportFailure: (why: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (reportFailure = resolve));
  for (let i = 0; i < count; i += 1) {
    const child = spawn(command.command, [...command.args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tail = "";
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (e) => reportFailure(`worker ${i + 1} could not start: ${e.message}`));
    child.on("exit", (code, signal) => {
      if (!stopping)
        reportFailure(`worker ${i + 1} (pid ${child.pid ?? "?"}) exited (${signal ?? `code ${code ?? "?"}`}):\n${tail.trim()}`);
    });
    children.push(child);
  }
  // Workers must not outlive the demo, even when it crashes.
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  process.once("exit", killAll);
  return {
    pids: children.map((c) => c.pid ?? -1),
    failed,
    stop: async (timeoutMs = 15_000) => {
      stopping = true;
      await Promise.all(children.map((c) => stopChild(c, timeoutMs)));
      process.removeListener("exit", killAll);
    },
  };
}

function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
