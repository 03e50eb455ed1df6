// Shared fixtures of the coordination unit tests: embedded fabrics sharing one InMemoryNetwork and
// one InMemoryStateBackend (as processes share one Kafka and one Redis), a manual clock with timers
// for the tests that need time to move by hand, and a logger that records what it is told.
import { createFabric, type Fabric, type FabricConfig } from "../../../src/fabric.js";
import type { LogFields, Logger } from "../../../src/observability/logger.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";
import type { CoordinationTimers } from "../../../src/coordination/validation.js";

/** Lets every pending promise chain, microtask and immediate run. */
export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Timer {
  id: number;
  due: number;
  callback: () => void;
}

/** A clock and timers that move only when the test says so. */
export class ManualTime {
  private t = 1_700_000_000_000;
  private queue: Timer[] = [];
  private seq = 0;

  readonly now = (): number => this.t;

  readonly timers: CoordinationTimers = {
    setTimeout: (callback, ms) => {
      const timer = { id: ++this.seq, due: this.t + ms, callback };
      this.queue.push(timer);
      return timer.id;
    },
    clearTimeout: (handle) => {
      this.queue = this.queue.filter((t) => t.id !== handle);
    },
  };

  /** Timers of a crashed process: never fire. */
  readonly deadTimers: CoordinationTimers = { setTimeout: () => 0, clearTimeout: () => undefined };

  /** Moves the clock forward by `ms`, firing due timers in order and letting their work finish. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = this.queue.filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (next === undefined) break;
      this.queue = this.queue.filter((t) => t !== next);
      this.t = Math.max(this.t, next.due);
      next.callback();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** A logger that keeps every line. */
export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields?: LogFields }[] = [];
  debug = (message: string, fields?: LogFields): void => void this.lines.push({ level: "debug", message, ...(fields ? { fields } : {}) });
  info = (message: string, fields?: LogFields): void => void this.lines.push({ level: "info", message, ...(fields ? { fields } : {}) });
  warn = (message: string, fields?: LogFields): void => void this.lines.push({ level: "warn", message, ...(fields ? { fields } : {}) });
  error = (message: string, fields?: LogFields): void => void this.lines.push({ level: "error", message, ...(fields ? { fields } : {}) });

  /** Lines at `level` whose message contains `text`. */
  find(level: string, text: string): { level: string; message: string; fields?: LogFields }[] {
    return this.lines.filter((l) => l.level === level && l.message.includes(text));
  }
}

/** Several "processes": fabrics on one in-memory network and one state backend. */
export class Cluster {
  readonly network = new InMemoryNetwork();
  readonly backend: InMemoryStateBackend;
  readonly fabrics: Fabric[] = [];

  constructor(options: { now?: () => number } = {}) {
    this.backend = new InMemoryStateBackend(options.now ? { now: options.now } : {});
  }

  /** A started fabric of one more process. Monitors are off unless `config.monitors` says otherwise. */
  async fabric(config: FabricConfig = {}): Promise<Fabric> {
    const fabric = await createFabric({
      transport: new InMemoryTransport({ network: this.network, logger: silentLogger }),
      state: new InMemoryStateStore({ backend: this.backend }),
      logger: silentLogger,
      monitors: false,
      ...config,
    });
    this.fabrics.push(fabric);
    return fabric;
  }

  async close(): Promise<void> {
    await Promise.all(this.fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 100 })));
  }
}
