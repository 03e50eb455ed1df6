/**
 * The background monitors of a fabric — heartbeat monitor, performance monitor, failover sweep —
 * run one after another every `intervalMs` (the next run is scheduled when one ends, so runs never
 * overlap), from `fabric.start()` until `fabric.stop()`. Their events are logged, kept for
 * `fabric.status()` and passed to `fabric.onMonitorEvent` listeners.
 *
 * @module
 */
import type { Logger } from "../../observability/logger.js";
import type { Registry } from "../../registry/Registry.js";
import type { StateStore } from "../../state/StateStore.js";
import type { AgentDirectory } from "../AgentDirectory.js";
import { errorText } from "../validation.js";
import { FailoverSweep } from "./FailoverSweep.js";
import { HeartbeatMonitor } from "./HeartbeatMonitor.js";
import { CallerReporter, type CallerReport } from "./CallerReports.js";
import { MonitorEventLog, type MonitorEvent } from "./MonitorEvent.js";
import type { ResolvedMonitors } from "./monitorOptions.js";
import { PerformanceMonitor, type PerformanceSample } from "./PerformanceMonitor.js";

/** What the monitors watch. */
export interface MonitorParts {
  directory: AgentDirectory;
  registry: Registry;
  state: StateStore;
  logger: Logger;
  /** The figures of `fabric.status()` the performance monitor judges and the caller report publishes. */
  sample: () => MonitorSample;
  /** This process's caller id (whose report it publishes). */
  callerId: string;
  /** Drops the breakers of replicas that left the registry. */
  forgetBreakers: () => void;
}

/** What the monitors read of `fabric.status()`. */
export type MonitorSample = PerformanceSample & Pick<CallerReport, "balancer" | "breakers">;

/** The monitors' section of `fabric.status()`. */
export interface MonitorStatus {
  /** Whether the run loop is active. */
  running: boolean;
  /** Time between runs, in ms. */
  intervalMs: number;
  /** Which monitors are on. */
  enabled: { heartbeat: boolean; performance: boolean; failover: boolean; report: boolean };
  /** Runs completed. */
  runs: number;
  /** When the last run ended (epoch ms). */
  lastRunAt?: number;
  /** Recent events, oldest first. */
  events: MonitorEvent[];
}

/** Runs the monitors; see the module comment. No timers before `start()`. */
export class Monitors {
  private readonly log: MonitorEventLog;
  private readonly heartbeat: HeartbeatMonitor | undefined;
  private readonly performance: PerformanceMonitor | undefined;
  private readonly failover: FailoverSweep | undefined;
  private readonly reporter: CallerReporter | undefined;
  private timer: unknown;
  private running = false;
  private current: Promise<MonitorEvent[]> | undefined;
  private runs = 0;
  private lastRunAt: number | undefined;

  constructor(
    private readonly p: MonitorParts,
    private readonly o: ResolvedMonitors,
  ) {
    this.log = new MonitorEventLog(p.logger, o.recentEvents);
    const now = o.now;
    if (o.heartbeat) this.heartbeat = new HeartbeatMonitor({ directory: p.directory, registry: p.registry, now });
    if (o.performance) this.performance = new PerformanceMonitor(o.performance, now);
    // A report outlives a few missed runs, then drops out by itself (a caller that died).
    if (o.report) this.reporter = new CallerReporter(p.state, p.callerId, 3 * o.intervalMs, now);
    if (o.failover) {
      this.failover = new FailoverSweep({
        registry: p.registry,
        directory: p.directory,
        state: p.state,
        forgetBreakers: p.forgetBreakers,
        queues: o.failover.queues,
        now,
      });
    }
  }

  /** Starts the run loop (the first run after one interval, when the views have settled). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.heartbeat?.start();
    this.schedule();
  }

  /** Stops the loop and waits for a run in progress. Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) this.o.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
    this.heartbeat?.stop();
    await this.reporter
      ?.withdraw()
      .catch((e: unknown) => this.p.logger.debug("monitor: caller report not withdrawn", { error: errorText(e) }));
  }

  /** Runs every enabled monitor now (after a run in progress, if any) and returns the events of this run. */
  runOnce(): Promise<MonitorEvent[]> {
    const run = (this.current ?? Promise.resolve([])).catch(() => []).then(() => this.runAll());
    this.current = run;
    return run;
  }

  /** Listens to events; returns a function that stops. */
  onEvent(listener: (event: MonitorEvent) => void): () => void {
    return this.log.listen(listener);
  }

  /** The monitors' section of `fabric.status()`. */
  status(): MonitorStatus {
    return {
      running: this.running,
      intervalMs: this.o.intervalMs,
      enabled: {
        heartbeat: this.heartbeat !== undefined,
        performance: this.performance !== undefined,
        failover: this.failover !== undefined,
        report: this.reporter !== undefined,
      },
      runs: this.runs,
      ...(this.lastRunAt === undefined ? {} : { lastRunAt: this.lastRunAt }),
      events: this.log.recent(),
    };
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.o.timers.setTimeout(() => {
      this.timer = undefined;
      void this.runOnce().finally(() => this.schedule());
    }, this.o.intervalMs);
  }

  private async runAll(): Promise<MonitorEvent[]> {
    const events: MonitorEvent[] = [];
    // The sweep first: it refreshes the views the heartbeat monitor then compares.
    if (this.failover) events.push(...(await this.failover.sweep()));
    try {
      if (this.heartbeat) events.push(...this.heartbeat.check());
      const sample = this.performance || this.reporter ? this.p.sample() : undefined;
      if (this.performance && sample) events.push(...this.performance.check(sample));
      if (this.reporter && sample)
        await this.reporter.publish({ calls: sample.calls, balancer: sample.balancer, breakers: sample.breakers });
    } catch (e) {
      // A registry stopped under a late run, or a status that cannot be read: the next run tries again.
      this.p.logger.debug("monitor: a run failed", { error: errorText(e) });
    }
    for (const event of events) this.log.emit(event);
    this.runs += 1;
    this.lastRunAt = this.o.now();
    return events;
  }
}
