/**
 * Exactly-once effect of node calls over at-least-once delivery. Before running a call, a replica
 * claims its idempotency key with a lease (renewed while the node runs); when the node completes,
 * the reply is recorded under the key. A redelivered, retried or resumed call then gets the
 * recorded reply and the node does not run again. A call that ended in an error or an interrupt
 * is not recorded (its lease is dropped): a retry or a resume must run the node again.
 *
 * Every record is bound to the node and a hash of the call's input: a request whose key is held
 * or recorded for another node or another input is refused ({@link IdempotencyConflictError}), so
 * a stolen key can neither poison a genuine call's record nor fetch it.
 *
 * A replica that dies mid-call stops renewing; when the lease lapses, or as soon as the registry
 * says its owner is gone (`ownerGone`), another replica runs the call again with the same key,
 * which is why nodes receive the key to make their own external effects idempotent (see
 * `getIdempotencyKey`).
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { IdempotencyConflictError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { KeyValueStore } from "../state/StateStore.js";

/** Options of {@link IdempotencyStore}. */
export interface IdempotencyOptions {
  /** How long a claim on a running call lasts without renewal, in ms. Default 15 000. */
  leaseMs?: number;
  /** How often a running call's claim is renewed, in ms. Default `leaseMs / 3`. */
  renewEveryMs?: number;
  /** How long a completed call's reply is kept, in ms. Default 86 400 000 (24 h). */
  retentionMs?: number;
  /** How often a replica checks a call that another replica is running, in ms. Default 50. */
  pollMs?: number;
}

const DEFAULTS = {
  leaseMs: 15_000, // ms
  retentionMs: 24 * 3600_000, // ms
  pollMs: 50, // ms
};

/** What a record is bound to: the node and a hash of the call's input. */
export interface CallBinding {
  /** The node called. */
  node: string;
  /** A hash of the call's input (hex SHA-256 of its serialized form). */
  input: string;
}

interface RunningRecord extends CallBinding {
  state: "running";
  owner: string;
  claim: string;
  since: number;
}

interface DoneRecord extends CallBinding {
  state: "done";
  payloadType: string;
  /** The reply payload, base64. */
  payload: string;
  at: number;
}

type CallRecord = RunningRecord | DoneRecord;

/** A claim on a call this replica is running. */
export interface CallLease {
  /** Records the reply and releases the claim. */
  complete(payloadType: string, payload: Uint8Array): Promise<void>;
  /** Drops the claim without recording anything (errors, interrupts), so the call can run again. */
  abandon(): Promise<void>;
}

/** What {@link IdempotencyStore.begin} decided. */
export type BeginResult = { kind: "run"; lease: CallLease } | { kind: "done"; payloadType: string; payload: Uint8Array };

/** Records node-call replies by idempotency key; see the module comment. */
export class IdempotencyStore {
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly retentionMs: number;
  private readonly pollMs: number;

  /**
   * @param ownerGone true when the replica that holds a lease is known dead (it left the
   *   registry): its lease is taken over at once rather than waited out.
   * @throws RangeError when an option is not a positive integer (or renewEveryMs >= leaseMs).
   */
  constructor(
    private readonly records: KeyValueStore,
    private readonly logger: Logger,
    options: IdempotencyOptions = {},
    private readonly ownerGone?: (owner: string) => boolean,
  ) {
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    for (const [field, value] of Object.entries({ leaseMs: o.leaseMs, retentionMs: o.retentionMs, pollMs: o.pollMs })) {
      if (!Number.isInteger(value) || value <= 0)
        throw new RangeError(`${field} must be a positive integer of milliseconds (got ${value})`);
    }
    const renew = options.renewEveryMs ?? Math.max(1, Math.floor(o.leaseMs / 3));
    if (!Number.isInteger(renew) || renew <= 0 || renew >= o.leaseMs) {
      throw new RangeError(`renewEveryMs must be a positive integer below leaseMs (got ${renew}, leaseMs ${o.leaseMs})`);
    }
    this.leaseMs = o.leaseMs;
    this.renewEveryMs = renew;
    this.retentionMs = o.retentionMs;
    this.pollMs = o.pollMs;
  }

  /**
   * Claims `key` for `owner`, or returns the recorded reply. While another replica holds the claim
   * this waits (polling) until that replica records a reply or its lease lapses.
   *
   * @param binding - the call's node and input hash; the key's record must have the same.
   * @throws IdempotencyConflictError when the key is held or recorded for another node or input
   *   (records written before bindings existed count as other); the signal's reason when `signal`
   *   aborts while waiting.
   */
  async begin(key: string, owner: string, binding: CallBinding, signal?: AbortSignal): Promise<BeginResult> {
    for (;;) {
      // Claim first: almost every call is new, so one round trip (SET NX PX) decides; only a
      // refused claim pays for the read that says why.
      const claim: RunningRecord = {
        state: "running",
        owner,
        claim: randomUUID(),
        since: Date.now(),
        node: binding.node,
        input: binding.input,
      };
      if (await this.records.setIfAbsent(key, claim, { ttlMs: this.leaseMs })) return { kind: "run", lease: this.lease(key, claim) };
      for (;;) {
        const record = (await this.records.get(key)) as CallRecord | undefined;
        if (record !== undefined && (record.node !== binding.node || record.input !== binding.input)) {
          this.logger.warn("refused a request whose idempotency key belongs to another call", { key, node: binding.node });
          throw new IdempotencyConflictError(key, binding.node);
        }
        if (record?.state === "done")
          return { kind: "done", payloadType: record.payloadType, payload: Buffer.from(record.payload, "base64") };
        if (record === undefined) break; // abandoned, or its lease lapsed: claim it
        if (record.owner !== owner && this.ownerGone?.(record.owner) === true) {
          // Its owner left the registry (crashed or stopped): take the lease over now instead of
          // waiting up to leaseMs. Compare-and-set, so only one replica takes it.
          const takeover: RunningRecord = { ...claim, claim: randomUUID(), since: Date.now() };
          if (await this.records.compareAndSet(key, record, takeover, { ttlMs: this.leaseMs })) {
            this.logger.info("took over the call of a replica that left the registry", { key, previousOwner: record.owner });
            return { kind: "run", lease: this.lease(key, takeover) };
          }
          continue;
        }
        await sleep(this.pollMs, signal);
      }
    }
  }

  private lease(key: string, claim: RunningRecord): CallLease {
    let current: CallRecord = claim;
    let lost = false;
    const timer = setInterval(() => {
      this.records
        .compareAndSet(key, claim, claim, { ttlMs: this.leaseMs })
        .then((renewed) => {
          if (!renewed && !lost) {
            lost = true;
            this.logger.warn("idempotency lease lost while the node was running; another replica may run the call again", { key });
          }
        })
        .catch((e: unknown) => this.logger.warn("idempotency lease renewal failed", { key, error: e }));
    }, this.renewEveryMs);
    timer.unref();
    return {
      complete: async (payloadType, payload) => {
        clearInterval(timer);
        const done: DoneRecord = {
          state: "done",
          payloadType,
          payload: Buffer.from(payload).toString("base64"),
          at: Date.now(),
          node: claim.node,
          input: claim.input,
        };
        if (await this.records.compareAndSet(key, current, done, { ttlMs: this.retentionMs })) {
          current = done;
          return;
        }
        // The lease lapsed while the node ran (a long stall). Record the reply unless someone else did.
        if (await this.records.setIfAbsent(key, done, { ttlMs: this.retentionMs })) return;
        this.logger.warn("a reply was already recorded for this call by another replica; keeping that one", { key });
      },
      abandon: async () => {
        clearInterval(timer);
        await this.records.compareAndDelete(key, current);
      },
    };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
