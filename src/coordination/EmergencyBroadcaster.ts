/**
 * `broadcastEmergency`: tells every registered agent (or every agent of some roles), in every
 * process, and waits for their acknowledgements.
 *
 * The broadcast is recorded in the state store under its id first (its targets — the agents the
 * directory lists at that moment — are fixed then), then published as a transport notice, so it
 * crosses processes on Kafka. Acknowledgements come back as notices and are also read from the
 * store every poll interval, in case a notice was lost (a subscriber that joined late, a broker
 * hiccup). The call resolves when every target acknowledged (or reported a failed handler), or at
 * the timeout with the ones still missing.
 *
 * Idempotent per id: broadcasting an id again reuses its record (message and targets), collects
 * the acknowledgements already recorded, and agents do not run handlers that already succeeded.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { jsonValueSchema, type JsonValue } from "../negotiation/NegotiationSession.js";
import type { Logger } from "../observability/logger.js";
import type { StateStore } from "../state/StateStore.js";
import type { Transport } from "../transport/Transport.js";
import type { AgentDirectory } from "./AgentDirectory.js";
import {
  ackKey,
  BROADCAST_KEY,
  decodeNotice,
  EMERGENCY_CHANNELS,
  EMERGENCY_NAMESPACE,
  encodeNotice,
  parseAck,
  parseBroadcast,
  type AckRecord,
  type BroadcastRecord,
} from "./emergencyMessages.js";
import { errorText, nonEmpty, positiveInt, show, type CoordinationTimers } from "./validation.js";

/** Options of one {@link EmergencyBroadcaster.broadcast}. */
export interface BroadcastOptions {
  /** The broadcast's id; pass the same id to retry a broadcast. Default: a new random id. */
  id?: string;
  /** How long to wait for acknowledgements, in ms. Default: the fabric's `coordination.emergencyTimeoutMs` (10 000). */
  timeoutMs?: number;
  /** Only agents of these roles. Default: every registered agent. */
  roles?: readonly string[];
}

/** The result of a broadcast. Agent ids are sorted. */
export interface BroadcastResult {
  /** The broadcast's id. */
  id: string;
  /** Agents whose handlers all resolved. */
  acknowledged: string[];
  /** Agents that did not answer within the timeout. */
  missing: string[];
  /** Agents that answered with a failed handler, with the error message. */
  failed: Record<string, string>;
}

/** What an {@link EmergencyBroadcaster} works with. */
export interface EmergencyBroadcasterParts {
  transport: Transport;
  store: StateStore;
  directory: AgentDirectory;
  logger: Logger;
  /** Caller id of this process (recorded as `from`). */
  owner: string;
  now: () => number;
  timers: CoordinationTimers;
  timeoutMs: number;
  pollMs: number;
  retentionMs: number;
  newId?: () => string;
}

/** One broadcast waiting for acknowledgements. */
interface Waiting {
  /** This attempt's id: failed acknowledgements of other attempts do not count. */
  readonly attempt: string;
  readonly pending: Set<string>;
  readonly acknowledged: Set<string>;
  readonly failed: Map<string, string>;
  /** Resolves when nothing is pending, at the timeout, or when the broadcaster stops. */
  readonly done: Promise<void>;
  settle(): void;
}

/** Sends emergencies and collects acknowledgements; see the module comment. */
export class EmergencyBroadcaster {
  private subscribing: Promise<() => Promise<void>> | undefined;
  private readonly waiting = new Map<string, Set<Waiting>>();

  constructor(private readonly p: EmergencyBroadcasterParts) {}

  /**
   * Broadcasts `message` and waits for acknowledgements; see the module comment.
   *
   * @throws RangeError for a message that is not JSON or an invalid option; the transport's error when the notice cannot be published.
   */
  async broadcast(message: JsonValue, options: BroadcastOptions = {}): Promise<BroadcastResult> {
    if (!jsonValueSchema.safeParse(message).success) throw new RangeError(`message must be a JSON value (got ${show(message)})`);
    const id = nonEmpty("id", options.id ?? (this.p.newId ?? randomUUID)());
    const timeoutMs = positiveInt("timeoutMs", options.timeoutMs ?? this.p.timeoutMs, "milliseconds");
    const roles = options.roles;
    if (roles !== undefined && (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => typeof r === "string" && r !== ""))) {
      throw new RangeError(`roles must be a non-empty array of role names (got ${show(roles)})`);
    }
    await this.listen();
    const record = await this.record(id, message, roles);
    const wait = this.track(record);
    try {
      await this.collect(record, wait);
      const notice: BroadcastRecord = { ...record, attempt: wait.attempt };
      if (wait.pending.size > 0) await this.p.transport.publish(EMERGENCY_CHANNELS.broadcast, encodeNotice(notice));
      if (wait.pending.size > 0) await this.until(record, wait, timeoutMs);
    } finally {
      this.untrack(id, wait);
    }
    const result: BroadcastResult = {
      id,
      acknowledged: [...wait.acknowledged].sort(),
      missing: [...wait.pending].sort(),
      failed: Object.fromEntries([...wait.failed].sort(([a], [b]) => (a < b ? -1 : 1))),
    };
    const fields = { id, acknowledged: result.acknowledged.length, missing: result.missing, failed: Object.keys(result.failed) };
    if (result.missing.length > 0 || wait.failed.size > 0) this.p.logger.warn("emergency: not every agent acknowledged", fields);
    else this.p.logger.info("emergency: every agent acknowledged", fields);
    return result;
  }

  /** Unsubscribes and ends every broadcast still waiting (their missing agents stay missing). */
  async stop(): Promise<void> {
    for (const set of this.waiting.values()) for (const w of set) w.settle();
    const unsubscribe = await this.subscribing?.catch(() => undefined);
    this.subscribing = undefined;
    await unsubscribe?.().catch((e: unknown) => this.p.logger.debug("emergency: unsubscribing failed", { error: errorText(e) }));
  }

  /** Subscribes to acknowledgements once, before the first broadcast is published. */
  private async listen(): Promise<void> {
    this.subscribing ??= this.p.transport
      .subscribe(EMERGENCY_CHANNELS.ack, (notice) => {
        const ack = parseAck(decodeNotice(notice.payload));
        if (ack !== undefined) for (const w of this.waiting.get(ack.id) ?? []) apply(w, ack);
      })
      .catch((e: unknown) => {
        this.subscribing = undefined;
        throw e;
      });
    await this.subscribing;
  }

  /** Creates the broadcast's record, or returns the one an earlier broadcast of the id created. */
  private async record(id: string, message: JsonValue, roles: readonly string[] | undefined): Promise<BroadcastRecord> {
    const store = this.p.store.namespace(...EMERGENCY_NAMESPACE, id);
    const existing = parseBroadcast(await store.get(BROADCAST_KEY));
    if (existing !== undefined) return existing;
    try {
      await this.p.directory.refresh();
    } catch (e) {
      // An emergency must still go out: the cached view is at most one refresh interval old.
      this.p.logger.warn("emergency: the agent directory could not be re-read; using the cached view", { id, error: errorText(e) });
    }
    const wanted = roles === undefined ? undefined : new Set(roles);
    const targets = this.p.directory
      .agents()
      .filter((a) => wanted === undefined || wanted.has(a.role))
      .map((a) => a.agentId);
    const record: BroadcastRecord = { id, message, from: this.p.owner, at: this.p.now(), targets };
    if (await store.setIfAbsent(BROADCAST_KEY, record, { ttlMs: this.p.retentionMs })) return record;
    // Another process broadcast the same id at the same moment: its record wins.
    return parseBroadcast(await store.get(BROADCAST_KEY)) ?? record;
  }

  private track(record: BroadcastRecord): Waiting {
    let settle = (): void => undefined;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const attempt = randomUUID();
    const wait: Waiting = {
      attempt,
      pending: new Set(record.targets),
      acknowledged: new Set(),
      failed: new Map(),
      done,
      settle: () => settle(),
    };
    let set = this.waiting.get(record.id);
    if (set === undefined) this.waiting.set(record.id, (set = new Set()));
    set.add(wait);
    return wait;
  }

  private untrack(id: string, wait: Waiting): void {
    const set = this.waiting.get(id);
    set?.delete(wait);
    if (set?.size === 0) this.waiting.delete(id);
  }

  /** Reads the acknowledgements of the agents still pending from the store. */
  private async collect(record: BroadcastRecord, wait: Waiting): Promise<void> {
    const pending = [...wait.pending];
    if (pending.length === 0) return;
    const store = this.p.store.namespace(...EMERGENCY_NAMESPACE, record.id);
    try {
      const values = await store.getMany(pending.map(ackKey));
      for (const value of values) {
        const ack = parseAck(value);
        if (ack !== undefined) apply(wait, ack);
      }
    } catch (e) {
      this.p.logger.debug("emergency: reading acknowledgements failed; notices still count", { id: record.id, error: errorText(e) });
    }
  }

  /** Waits until nothing is pending or `timeoutMs` passed, polling the store meanwhile. */
  private async until(record: BroadcastRecord, wait: Waiting, timeoutMs: number): Promise<void> {
    const { timers } = this.p;
    const deadline = timers.setTimeout(() => wait.settle(), timeoutMs);
    let poll: unknown;
    let ended = false;
    const schedule = (): void => {
      poll = timers.setTimeout(() => {
        void this.collect(record, wait).then(() => {
          if (wait.pending.size === 0) wait.settle();
          else if (!ended) schedule();
        });
      }, this.p.pollMs);
    };
    schedule();
    await wait.done;
    ended = true;
    timers.clearTimeout(deadline);
    timers.clearTimeout(poll);
  }
}

/** Moves an agent from pending to acknowledged or failed; settles the wait when nothing is pending. */
function apply(wait: Waiting, ack: AckRecord): void {
  if (!wait.pending.has(ack.agentId) && !wait.failed.has(ack.agentId)) return;
  // A failure answers one attempt only; a success is final whichever attempt it answered.
  if (!ack.ok && ack.attempt !== wait.attempt) return;
  wait.pending.delete(ack.agentId);
  if (ack.ok) {
    wait.failed.delete(ack.agentId);
    wait.acknowledged.add(ack.agentId);
  } else wait.failed.set(ack.agentId, ack.error ?? "the handler failed");
  if (wait.pending.size === 0) wait.settle();
}
