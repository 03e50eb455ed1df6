/**
 * Change notices of negotiation sessions, one feed per state store (per process, in practice).
 *
 * Why not a pub/sub channel per session: subscribing and unsubscribing for every session cost
 * two round trips on the subscriber connection, and every write announced itself to its own
 * writer, which woke up only to learn what it had just written. Instead each feed owns one
 * channel, `negotiation:watch:<random>`, subscribed once and kept while the store lives. A
 * session lists the channels of the feeds whose processes drive it (`watchers`); a write
 * announces itself, inside its compare-and-set, on the watchers' channels except the writer's
 * own, and to the writer's own local listeners directly. A session driven by one process costs
 * no pub/sub traffic at all.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../observability/logger.js";
import type { StateStore, Unsubscribe } from "../state/StateStore.js";

/** What a change notice carries: the session and the version written. */
export interface ChangeNotice {
  id: string;
  version: number;
}

/** Called with the version written, when the notice names one. */
export type ChangeListener = (version: number | undefined) => void;

/** Notices of session writes for the runs of one process; see the module comment. */
export class SessionChangeFeed {
  /** This feed's channel: the one other processes publish to for sessions this process watches. */
  readonly channel = `negotiation:watch:${randomUUID()}`;
  private readonly listeners = new Map<string, Set<ChangeListener>>();
  private subscribing: Promise<Unsubscribe> | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
  ) {}

  /**
   * Calls `onChange` for every write of session `id` announced to this feed (by any process) until
   * the returned function is called. Resolves once this feed's channel is subscribed.
   */
  async listen(id: string, onChange: ChangeListener): Promise<() => void> {
    let set = this.listeners.get(id);
    if (set === undefined) this.listeners.set(id, (set = new Set()));
    const own: ChangeListener = (version) => onChange(version);
    set.add(own);
    const stop = (): void => {
      const current = this.listeners.get(id);
      if (current === undefined) return;
      current.delete(own);
      if (current.size === 0) this.listeners.delete(id);
    };
    try {
      await this.subscribed();
    } catch (e) {
      stop();
      throw e;
    }
    return stop;
  }

  /** Tells this process's listeners of session `id` about a write made here (asynchronously, as a notice would arrive). */
  dispatch(notice: ChangeNotice): void {
    const set = this.listeners.get(notice.id);
    if (set === undefined) return;
    queueMicrotask(() => {
      for (const listener of [...set]) listener(notice.version);
    });
  }

  /** Subscribes this feed's channel once; a failed attempt is retried by the next `listen`. */
  private subscribed(): Promise<Unsubscribe> {
    this.subscribing ??= this.store
      .subscribe(this.channel, (message) => {
        const { id, version } = (message ?? {}) as Partial<ChangeNotice>;
        if (typeof id !== "string") {
          this.logger.debug("negotiation: ignored a malformed change notice", { channel: this.channel });
          return;
        }
        const set = this.listeners.get(id);
        if (set === undefined) return;
        for (const listener of [...set]) listener(typeof version === "number" ? version : undefined);
      })
      .catch((e: unknown) => {
        this.subscribing = undefined;
        throw e;
      });
    return this.subscribing;
  }
}
