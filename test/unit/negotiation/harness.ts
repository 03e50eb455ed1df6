// Shared fixtures of the negotiation unit tests: one manual clock and timer queue (so deadlines and
// polls are deterministic), coordinators on in-memory stores sharing one backend (as processes
// share one Redis), and participants whose answers the test releases by hand.
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { NegotiationCoordinator, type NegotiationCoordinatorOptions } from "../../../src/negotiation/NegotiationCoordinator.js";
import type { Answer } from "../../../src/negotiation/NegotiationSession.js";
import type { NegotiationTimers } from "../../../src/negotiation/SessionRun.js";
import type { LocalParticipantMessage, ParticipantHandler } from "../../../src/negotiation/LocalParticipants.js";

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
  private t: number;
  private queue: Timer[] = [];
  private seq = 0;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  readonly timers: NegotiationTimers = {
    setTimeout: (callback, ms) => {
      const timer = { id: ++this.seq, due: this.t + ms, callback };
      this.queue.push(timer);
      return timer.id;
    },
    clearTimeout: (handle) => {
      this.queue = this.queue.filter((t) => t.id !== handle);
    },
  };

  /** Timers of a crashed process: never fire again. */
  readonly deadTimers: NegotiationTimers = { setTimeout: () => 0, clearTimeout: () => undefined };

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

  /** How many timers are pending. */
  pending(): number {
    return this.queue.length;
  }
}

/** A world of "processes" sharing one in-memory backend and one manual clock. */
export class World {
  readonly time = new ManualTime();
  readonly backend = new InMemoryStateBackend({ now: this.time.now });
  private readonly stores: InMemoryStateStore[] = [];

  /** A store for one process (its connection to the shared backend). */
  store(): InMemoryStateStore {
    const store = new InMemoryStateStore({ backend: this.backend });
    this.stores.push(store);
    return store;
  }

  /** A coordinator of one process on its own store. */
  coordinator(options: Omit<NegotiationCoordinatorOptions, "store"> & { store?: InMemoryStateStore }): NegotiationCoordinator {
    return new NegotiationCoordinator({
      store: this.store(),
      logger: silentLogger,
      now: this.time.now,
      timers: this.time.timers,
      ...options,
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.close()));
  }
}

/** A participant whose answer the test gives later (or never); records every ask. */
export class Manual {
  readonly asks: LocalParticipantMessage[] = [];
  private waiting: { resolve: (a: Answer) => void; reject: (e: unknown) => void }[] = [];
  aborted = 0;

  readonly handler: ParticipantHandler = (message, signal) => {
    this.asks.push(message);
    return new Promise<Answer>((resolve, reject) => {
      const entry = { resolve, reject };
      this.waiting.push(entry);
      signal.addEventListener("abort", () => {
        this.aborted += 1;
        this.waiting = this.waiting.filter((w) => w !== entry);
        reject(signal.reason as Error);
      });
    });
  };

  /** Answers every pending ask with `answer`. */
  answer(answer: Answer): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.resolve(answer);
  }

  /** Pending asks. */
  get pending(): number {
    return this.waiting.length;
  }
}

/** A handler that answers `answer` at once and counts its calls. */
export function answering(
  answer: Answer | ((m: LocalParticipantMessage) => Answer),
): ParticipantHandler & { calls: LocalParticipantMessage[] } {
  const calls: LocalParticipantMessage[] = [];
  const handler = (m: LocalParticipantMessage): Answer => {
    calls.push(m);
    return typeof answer === "function" ? answer(m) : answer;
  };
  return Object.assign(handler, { calls });
}
