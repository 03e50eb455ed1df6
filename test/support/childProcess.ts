import { spawn, type ChildProcess } from "node:child_process";

/** A child process running a TypeScript file with tsx, with its output collected. */
export interface Child {
  readonly process: ChildProcess;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  /** Everything it printed on stderr so far. */
  stderr(): string;
  /** Resolves when a stdout line matches, rejects if it exits first or `timeoutMs` passes. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGKILL, as a crash; resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** Spawns `node --import tsx <file> [...args]` with `env` added to this process's environment. */
export function spawnTs(file: string, env: Record<string, string>, args: readonly string[] = []): Child {
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) =>
    child.on("exit", () => {
      live.delete(child);
      resolve();
    }),
  );
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          const line = out.split("\n").find((l) => pattern.test(l));
          if (line !== undefined) return resolve(line);
          if (child.exitCode !== null || child.signalCode !== null)
            return reject(new Error(`process exited before ${String(pattern)}; stderr:\n${err.slice(-3000)}`));
          if (Date.now() - started > timeoutMs)
            return reject(new Error(`timed out waiting for ${String(pattern)}; stderr:\n${err.slice(-3000)}`));
          setTimeout(check, 50);
        };
        check();
      }),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    stop: async (timeoutMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
