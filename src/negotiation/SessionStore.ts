/**
 * Persistence of negotiation sessions in the state store: one JSON document per session, changed
 * only by compare-and-set (so concurrent writers never lose each other's answers), validated with
 * zod when read, with a change notice after every write to the other processes that drive it (see
 * `SessionChangeFeed`); and an advisory index of each initiator's open sessions, so a replacement
 * initiator can find them.
 *
 * Layout, under the store's `negotiation` namespace:
 *
 * - `session:<id>` — the {@link NegotiationSession} document. TTL: while open, until the deadline
 *   plus `retentionMs`; once ended, `retentionMs`.
 * - `open:<initiator>` — the ids of the initiator's sessions that may be open (string array, no
 *   TTL). An id is added before its session is written; ids of ended or vanished sessions are
 *   pruned by the initiator's next session and when the index is read.
 * - channel `negotiation:watch:<random>` of each watching process — `{ id, version }` after a
 *   write by another process.
 *
 * @module
 */
import { NegotiationContentionError, SerializationError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { KeyValueStore, StateStore } from "../state/StateStore.js";
import { sessionSchema, type NegotiationSession } from "./NegotiationSession.js";
import { SessionChangeFeed, type ChangeListener } from "./SessionChangeFeed.js";

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /** How long an ended session is kept, in ms (also added to an open session's deadline). */
  retentionMs: number;
  /** Most compare-and-set attempts of one update before giving up. */
  maxUpdateAttempts: number;
  /** The clock, epoch ms. */
  now: () => number;
  /** Where failures of the advisory index are logged. */
  logger: Logger;
}

/** A session as read, with the raw stored value a compare-and-set must pass back. */
interface Read {
  session: NegotiationSession;
  raw: unknown;
}

/** The outcome of {@link SessionStore.update}. */
export interface UpdateResult {
  /** The session after the update (or as found, when nothing was changed). */
  session: NegotiationSession;
  /** True when this call wrote. */
  changed: boolean;
}

/** Documents this process last wrote or read, kept to try a compare-and-set without reading first. */
const KNOWN_LIMIT = 1_000;

/** What every SessionStore on one state store shares (coordinators are often made per call). */
interface Shared {
  known: Map<string, Read>;
  knownIndexes: Map<string, unknown>;
  feed: SessionChangeFeed;
}
const SHARED = new WeakMap<StateStore, Shared>();

/** Reads and writes session documents; see the module comment for the layout. */
export class SessionStore {
  private readonly kv: KeyValueStore;
  /**
   * The session documents (and open-session indexes) as this process last wrote or read them. A
   * write first tries its compare-and-set against this copy, saving the read: usually this process
   * is the only writer. The copy is never trusted for a "no change" verdict (a stale copy could
   * hide another process's write), only as the expected value of a compare-and-set, which the
   * store checks.
   */
  private readonly known: Map<string, Read>;
  private readonly knownIndexes: Map<string, unknown>;
  private readonly feed: SessionChangeFeed;

  constructor(
    store: StateStore,
    private readonly options: SessionStoreOptions,
  ) {
    this.kv = store.namespace("negotiation");
    let shared = SHARED.get(store);
    if (shared === undefined) {
      shared = { known: new Map(), knownIndexes: new Map(), feed: new SessionChangeFeed(store, options.logger) };
      SHARED.set(store, shared);
    }
    this.known = shared.known;
    this.knownIndexes = shared.knownIndexes;
    this.feed = shared.feed;
  }

  /**
   * Writes `session` (watched by this process) if no session has its id; returns the stored one
   * (this one, or the one already there).
   */
  async create(proposed: NegotiationSession): Promise<{ session: NegotiationSession; created: boolean }> {
    const session: NegotiationSession = { ...proposed, watchers: [this.feed.channel] };
    // Indexed first, so that a crash leaves an id the next read prunes, never an unlisted open
    // session. With a copy of the index the index write goes out at once, and the session's write
    // right behind it on the same connection (Redis runs them in that order): one round trip.
    const fromCopy = this.knownIndexes.has(session.initiator);
    const indexing = this.indexOpen(session.initiator, session.id);
    if (!fromCopy) await indexing;
    const created = await this.kv.setIfAbsent(sessionKey(session.id), session, { ttlMs: this.ttlOf(session) });
    await indexing;
    if (created) {
      this.remember(session.id, { session, raw: session });
      return { session, created: true };
    }
    const existing = await this.read(session.id);
    // Deleted between the two calls (expired): write ours.
    if (existing === undefined) return this.create(proposed);
    return { session: existing.session, created: false };
  }

  /** The session `id`, or `undefined`. @throws SerializationError when the stored document is not a valid session. */
  async get(id: string): Promise<NegotiationSession | undefined> {
    return (await this.read(id))?.session;
  }

  /**
   * Applies `change` to the current document with compare-and-set, retrying on a concurrent write.
   * `change` receives a private copy and returns the new document, or `undefined` for "no change";
   * it may run several times, so it must be pure. The new document gets `version + 1` and
   * `updatedAt = now`. Returns `undefined` when the session does not exist.
   *
   * @throws NegotiationContentionError after `maxUpdateAttempts` lost compare-and-sets in a row.
   */
  async update(id: string, change: (session: NegotiationSession) => NegotiationSession | undefined): Promise<UpdateResult | undefined> {
    // First against the copy this process knows (no read), then against fresh reads.
    let current: Read | undefined = this.known.get(id);
    let fromCopy = current !== undefined;
    for (let attempt = 0; attempt < this.options.maxUpdateAttempts;) {
      if (!fromCopy) {
        current = await this.read(id);
        if (current === undefined) return undefined;
      }
      if (current === undefined) return undefined;
      // A JSON round trip: the document is JSON by its schema, and this is several times cheaper than structuredClone.
      const next = change(JSON.parse(JSON.stringify(current.session)) as NegotiationSession);
      if (next === undefined) {
        if (fromCopy) {
          fromCopy = false; // "nothing to do" must be judged on the stored document
          continue;
        }
        return { session: current.session, changed: false };
      }
      const written: NegotiationSession = { ...next, version: current.session.version + 1, updatedAt: this.options.now() };
      // Announced, in the same step, to the other processes driving the session; this process's
      // own runs hear of it directly. The index entry of an ended session is left for the
      // initiator's next session to prune (an ended entry is harmless: readers skip it).
      const notice = { id, version: written.version };
      const channels = (written.watchers ?? []).filter((c) => c !== this.feed.channel);
      const options = { ttlMs: this.ttlOf(written), notify: { channels, message: notice } };
      if (await this.kv.compareAndSet(sessionKey(id), current.raw, written, options)) {
        this.remember(id, { session: written, raw: written });
        this.feed.dispatch(notice);
        return { session: written, changed: true };
      }
      if (fromCopy) this.known.delete(id);
      else attempt += 1; // a lost race; a stale copy does not count as an attempt
      fromCopy = false;
    }
    throw new NegotiationContentionError(id, this.options.maxUpdateAttempts);
  }

  /** The session as this process last wrote or read it, without I/O (possibly stale: for reads that tolerate it). */
  cached(id: string): NegotiationSession | undefined {
    return this.known.get(id)?.session;
  }

  /**
   * Calls `onChange` after each write of `session` by any process (with the version written when
   * the notice carries one) until the returned function is called. A session this process does
   * not watch yet gets it added to its watchers first (one write). Fire and forget: poll too.
   */
  async watch(session: NegotiationSession, onChange: ChangeListener): Promise<() => void> {
    const stop = await this.feed.listen(session.id, onChange);
    const channel = this.feed.channel;
    if (session.state !== "open" || session.watchers?.includes(channel) === true) return stop;
    try {
      await this.update(session.id, (s) =>
        s.state !== "open" || s.watchers?.includes(channel) === true ? undefined : { ...s, watchers: [...(s.watchers ?? []), channel] },
      );
    } catch (e) {
      // The run still polls; the next write of this process (an answer) is one it knows anyway.
      this.options.logger.debug("negotiation: could not add this process to the session's watchers", { sessionId: session.id, error: e });
    }
    return stop;
  }

  /** Ids of `initiator`'s open sessions (pruning the index of those that ended or vanished). */
  async openSessions(initiator: string): Promise<string[]> {
    const ids = await this.readIndex(initiator);
    const sessions = await Promise.all(ids.map((id) => this.get(id).catch(() => undefined)));
    const open = ids.filter((_, i) => sessions[i]?.state === "open");
    const gone = ids.filter((i) => !open.includes(i));
    if (gone.length > 0) await this.indexOpen(initiator, undefined, gone);
    return open;
  }

  private async read(id: string): Promise<Read | undefined> {
    const raw = await this.kv.get(sessionKey(id));
    if (raw === undefined) {
      this.known.delete(id);
      return undefined;
    }
    const parsed = sessionSchema.safeParse(raw);
    if (!parsed.success) {
      throw new SerializationError(`negotiation session "${id}" in the state store is not a valid session: ${parsed.error.message}`, {
        hint: "it was written by an incompatible version or by hand; delete it or finish it with that version",
      });
    }
    const read = { session: parsed.data, raw };
    this.remember(id, read);
    return read;
  }

  private remember(id: string, read: Read): void {
    this.known.delete(id); // re-inserted last: the map's order is the eviction order
    this.known.set(id, read);
    if (this.known.size > KNOWN_LIMIT) this.known.delete(this.known.keys().next().value as string);
  }

  private ttlOf(session: NegotiationSession): number {
    const openFor = session.state === "open" ? Math.max(0, session.deadline - this.options.now()) : 0;
    return Math.max(1, Math.ceil(openFor + this.options.retentionMs));
  }

  private async readIndex(initiator: string): Promise<string[]> {
    const value = await this.kv.get(indexKey(initiator));
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  }

  /**
   * Adds `add` to the initiator's index, removing `remove` and the ids of sessions this process
   * knows to have ended. Advisory: a failure is logged, never thrown. The first attempt is
   * issued synchronously when this process has a copy of the index (see `create`).
   */
  private async indexOpen(initiator: string, add: string | undefined, remove: readonly string[] = []): Promise<void> {
    try {
      // As for sessions: first against the copy this process last wrote (no read), then fresh.
      let fromCopy = this.knownIndexes.has(initiator);
      for (let attempt = 0; attempt < this.options.maxUpdateAttempts;) {
        const raw = fromCopy ? this.knownIndexes.get(initiator) : await this.kv.get(indexKey(initiator));
        const ids = Array.isArray(raw) ? raw.filter((v): v is string => typeof v === "string") : [];
        const kept = ids.filter((i) => i !== add && !remove.includes(i) && !this.endedHere(i));
        const next = add === undefined ? kept : [...kept, add];
        if (next.length === ids.length && next.every((v, i) => v === ids[i])) {
          if (!fromCopy) return;
          fromCopy = false; // judged on the stored index, not the copy
          continue;
        }
        const written =
          next.length === 0
            ? raw === undefined || (await this.kv.compareAndDelete(indexKey(initiator), raw))
            : await this.kv.compareAndSet(indexKey(initiator), raw, next);
        if (written) {
          // An emptied index is known too (as absent): the initiator's next session need not read it.
          this.knownIndexes.set(initiator, next.length === 0 ? undefined : next);
          return;
        }
        this.knownIndexes.delete(initiator);
        if (!fromCopy) attempt += 1;
        fromCopy = false;
      }
      this.options.logger.warn("negotiation: gave up updating the open-session index", { initiator, add, remove });
    } catch (e) {
      this.options.logger.warn("negotiation: could not update the open-session index", { initiator, add, remove, error: e });
    }
  }

  /** True when this process's copy of session `id` has ended (sessions never reopen). */
  private endedHere(id: string): boolean {
    const copy = this.known.get(id);
    return copy !== undefined && copy.session.state !== "open";
  }
}

/** Key of a session document under the `negotiation` namespace. */
export function sessionKey(id: string): string {
  return `session:${id}`;
}

function indexKey(initiator: string): string {
  return `open:${initiator}`;
}
