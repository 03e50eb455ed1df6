/**
 * CPU accounting for benchmarks that span processes: this process (`process.cpuUsage`), child
 * processes (asked over IPC), the Kafka broker and Redis (from `/proc/<pid>/stat`, Linux only), the
 * whole machine (`/proc/stat`), and Redis's own per-command counts (`INFO commandstats`). Two
 * snapshots give CPU microseconds per operation of every process between them.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** Clock ticks per second of `/proc` CPU times. */
const TICKS = ((): number => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU of a process in microseconds, or undefined when it cannot be read. */
export function procCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS;
  } catch {
    return undefined;
  }
}

/** The first process whose command line contains `needle`. */
export function findPid(needle: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Busy and total CPU of the whole machine, in microseconds summed over cores. */
function machineCpuUs(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: ((total - idle) * 1e6) / TICKS, total: (total * 1e6) / TICKS };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** Redis command counts: name → calls. */
async function redisCommands(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await redis.info("commandstats")).split("\n")) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** One reading of every meter. */
export interface CpuSnapshot {
  at: number;
  self: number;
  children: number[];
  broker: number | undefined;
  redis: number | undefined;
  machineBusy: number;
  machineTotal: number;
  redisCommands: Map<string, number>;
}

/** CPU per operation between two snapshots. */
export interface CpuPerOp {
  /** Microseconds of CPU per operation, by process. */
  caller_us: number;
  replicas_us: number;
  broker_us: number | null;
  redis_us: number | null;
  /** Everything else busy on the machine (kernel softirq of loopback, other processes). */
  other_us: number;
  total_us: number;
  /** Share of the machine's cores busy during the interval, 0..1. */
  machine_busy: number;
  /**
   * Redis commands per operation, by command (only those ≥ 0.01), from the server's `INFO commandstats`:
   * commands run inside scripts count too (a compare-and-set script is `evalsha` + `get` + `set`), and
   * so does anything else using the same Redis meanwhile.
   */
  redis_commands: Record<string, number>;
}

/** Reads CPU meters of this process, some children, the broker and Redis. */
export class CpuMeter {
  constructor(
    private readonly redis: Redis,
    private readonly children: () => Promise<number[]>,
    private readonly brokerPid: number | undefined,
    private readonly redisPid: number | undefined,
  ) {}

  async snapshot(): Promise<CpuSnapshot> {
    const [children, commands] = await Promise.all([this.children(), redisCommands(this.redis)]);
    const self = process.cpuUsage();
    const machine = machineCpuUs();
    return {
      at: performance.now(),
      self: self.user + self.system,
      children,
      broker: procCpuUs(this.brokerPid),
      redis: procCpuUs(this.redisPid),
      machineBusy: machine.busy,
      machineTotal: machine.total,
      redisCommands: commands,
    };
  }

  /** CPU per operation between `a` and `b` for `ops` operations. */
  static perOp(a: CpuSnapshot, b: CpuSnapshot, ops: number): CpuPerOp {
    const d = (x: number | undefined, y: number | undefined): number | null => (x === undefined || y === undefined ? null : (y - x) / ops);
    const caller = (b.self - a.self) / ops;
    const replicas = b.children.reduce((s, v, i) => s + v - (a.children[i] ?? v), 0) / ops;
    const broker = d(a.broker, b.broker);
    const redis = d(a.redis, b.redis);
    const total = (b.machineBusy - a.machineBusy) / ops;
    const commands: Record<string, number> = {};
    for (const [name, calls] of b.redisCommands) {
      const per = (calls - (a.redisCommands.get(name) ?? 0)) / ops;
      if (per >= 0.01) commands[name] = Math.round(per * 100) / 100;
    }
    return {
      caller_us: caller,
      replicas_us: replicas,
      broker_us: broker,
      redis_us: redis,
      other_us: total - caller - replicas - (broker ?? 0) - (redis ?? 0),
      total_us: total,
      machine_busy: (b.machineBusy - a.machineBusy) / (b.machineTotal - a.machineTotal),
      redis_commands: commands,
    };
  }
}

/** Share of all cores busy over the next `ms` milliseconds, 0..1. */
export async function machineBusyShare(ms: number): Promise<number> {
  const a = machineCpuUs();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineCpuUs();
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits (at most `maxS` seconds) until the machine is quiet — under `threshold` of its cores busy
 * for a second — because other programs sharing it skew every figure. Returns the last reading.
 */
export async function waitForQuietMachine(threshold: number, maxS: number, log: (m: string) => void): Promise<number> {
  const until = Date.now() + maxS * 1000;
  let busy = await machineBusyShare(1000);
  let warned = false;
  while (busy > threshold && Date.now() < until) {
    if (!warned) log(`machine is ${Math.round(busy * 100)}% busy before the benchmark; waiting up to ${maxS} s for it to calm down…`);
    warned = true;
    busy = await machineBusyShare(1000);
  }
  if (busy > threshold) log(`machine still ${Math.round(busy * 100)}% busy: figures will be skewed`);
  return busy;
}
