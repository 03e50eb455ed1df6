/**
 * Persistence of negotiation sessions in the state store: one JSON document per session, changed
 * only by compare-and-set (so concurrent writers never lose each other's answers), validated with
 * zod when read, with a change notification on pub/sub after every write; and an advisory index of
 * each initiator's open sessions, so a replacement initiator can find them.
 *
 * Layout, under the store's `negotiation` namespace:
 *
 * - `session:<id>` — the {@link NegotiationSession} document. TTL: while open, until the deadline
 *   plus `retentionMs`; once ended, `retentionMs`.
 * - `open:<initiator>` — the ids of the initiator's sessions that were open when last written
 *   (string array, no TTL; ids of ended or vanished sessions are pruned when read).
 * - channel `negotiation:<id>` — `{ id, version }` after every write of the session.
 *
 * @module
 */
import { NegotiationContentionError, SerializationError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { KeyValueStore, StateStore, Unsubscribe } from "../state/StateStore.js";
import { sessionSchema, type NegotiationSession } from "./NegotiationSession.js";

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
const COPIES = new WeakMap<StateStore, { known: Map<string, Read>; knownIndexes: Map<string, unknown> }>();

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

  constructor(
    private readonly store: StateStore,
    private readonly options: SessionStoreOptions,
  ) {
    this.kv = store.namespace("negotiation");
    // Shared by every SessionStore on this state store (coordinators are often made per call).
    let copies = COPIES.get(store);
    if (copies === undefined) COPIES.set(store, (copies = { known: new Map(), knownIndexes: new Map() }));
    this.known = copies.known;
    this.knownIndexes = copies.knownIndexes;
  }

  /** Writes `session` if no session has its id; returns the stored one (this one, or the one already there). */
  async create(session: NegotiationSession): Promise<{ session: NegotiationSession; created: boolean }> {
    // Indexed first: a crash in between leaves an id that the next read prunes, never an unlisted open session.
    await this.indexOpen(session.initiator, session.id, true);
    if (await this.kv.setIfAbsent(sessionKey(session.id), session, { ttlMs: this.ttlOf(session) })) {
      this.remember(session.id, { session, raw: session });
      this.announce(session);
      return { session, created: true };
    }
    const existing = await this.read(session.id);
    // Deleted between the two calls (expired): write ours.
    if (existing === undefined) return this.create(session);
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
      if (await this.kv.compareAndSet(sessionKey(id), current.raw, written, { ttlMs: this.ttlOf(written) })) {
        this.remember(id, { session: written, raw: written });
        // Neither the advisory index nor the notification is awaited: the writer has what it needs,
        // an index entry left behind is pruned when read, and subscribers poll as well.
        if (current.session.state === "open" && written.state !== "open") void this.indexOpen(written.initiator, id, false);
        this.announce(written);
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
   * Calls `onChange` after each write of session `id` (by any process on the same store), with the
   * version written when the notice carries one. Fire and forget: poll too.
   */
  subscribe(id: string, onChange: (version: number | undefined) => void): Promise<Unsubscribe> {
    return this.store.subscribe(changeChannel(id), (message) => {
      const version = (message as { version?: unknown } | null)?.version;
      onChange(typeof version === "number" ? version : undefined);
    });
  }

  /** Ids of `initiator`'s open sessions (pruning the index of those that ended or vanished). */
  async openSessions(initiator: string): Promise<string[]> {
    const ids = await this.readIndex(initiator);
    const sessions = await Promise.all(ids.map((id) => this.get(id).catch(() => undefined)));
    const open = ids.filter((_, i) => sessions[i]?.state === "open");
    for (const id of ids.filter((i) => !open.includes(i))) await this.indexOpen(initiator, id, false);
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

  /** Tells subscribers (in any process) that the session changed. Fire and forget: a failure is logged. */
  private announce(session: NegotiationSession): void {
    this.store
      .publish(changeChannel(session.id), { id: session.id, version: session.version })
      .catch((e: unknown) => this.options.logger.debug("negotiation: change notification not sent", { sessionId: session.id, error: e }));
  }

  private async readIndex(initiator: string): Promise<string[]> {
    const value = await this.kv.get(indexKey(initiator));
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  }

  /** Adds or removes `id` in the initiator's index. Advisory: a failure is logged, never thrown. */
  private async indexOpen(initiator: string, id: string, add: boolean): Promise<void> {
    try {
      // As for sessions: first against the copy this process last wrote (no read), then fresh.
      let fromCopy = this.knownIndexes.has(initiator);
      for (let attempt = 0; attempt < this.options.maxUpdateAttempts;) {
        const raw = fromCopy ? this.knownIndexes.get(initiator) : await this.kv.get(indexKey(initiator));
        const ids = Array.isArray(raw) ? raw.filter((v): v is string => typeof v === "string") : [];
        if (ids.includes(id) === add && !fromCopy) return;
        if (ids.includes(id) === add) {
          fromCopy = false; // judged on the stored index, not the copy
          continue;
        }
        const next = add ? [...ids, id] : ids.filter((i) => i !== id);
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
      this.options.logger.warn("negotiation: gave up updating the open-session index", { initiator, id });
    } catch (e) {
      this.options.logger.warn("negotiation: could not update the open-session index", { initiator, id, error: e });
    }
  }
}

/** Key of a session document under the `negotiation` namespace. */
export function sessionKey(id: string): string {
  return `session:${id}`;
}

function indexKey(initiator: string): string {
  return `open:${initiator}`;
}

/** Pub/sub channel announcing writes of a session. */
export function changeChannel(id: string): string {
  return `negotiation:${id}`;
}
