/**
 * One remote call, made resilient: a per-node bulkhead, a replica chosen by the balancer among
 * those whose breaker takes calls, the call through that replica's breaker with an optional
 * per-attempt timeout, and — when the replica fails to answer (timeout, it left the registry,
 * transport failure, open breaker) — the same call, with the same idempotency key, on another
 * replica. Errors the node itself threw are returned, not retried here: LangGraph's `retryPolicy`
 * owns those, so the two retry loops never multiply.
 *
 * @module
 */
import type { BulkheadPolicy } from "cockatiel";
import { randomUUID } from "node:crypto";
import { BrokenCircuitError, BulkheadRejectedError, IsolatedCircuitError, TaskCancelledError, bulkhead } from "cockatiel";
import {
  BulkheadFullError,
  NoReplicaError,
  ReplicaGoneError,
  isDeadlineExceededError,
  isReplicaGoneError,
  isTransportError,
} from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { BalancedPicker } from "../balancer/BalancedPicker.js";
import type { ReplicaCandidate } from "../nodes/pickReplica.js";
import type { CallOptions, CallReply, OutgoingRequestHeader, Transport } from "../transport/Transport.js";
import type { OutlierDetector } from "./OutlierDetector.js";
import type { ReplicaBreakers } from "./ReplicaBreakers.js";
import type { ResolvedResilience } from "./resilienceOptions.js";

/** True for failures of the replica (as opposed to the caller's own abort or the node's errors). */
export function isReplicaFailure(e: unknown): boolean {
  return (
    isDeadlineExceededError(e) ||
    isReplicaGoneError(e) ||
    isTransportError(e) ||
    e instanceof AttemptTimeoutError ||
    e instanceof BrokenCircuitError ||
    e instanceof IsolatedCircuitError ||
    e instanceof TaskCancelledError
  );
}

/** True for what a replica's breaker counts as a failure: replica failures and failed outcomes. */
export function isBreakerFailure(e: unknown): boolean {
  return e instanceof FailedOutcome || (isReplicaFailure(e) && !(e instanceof BrokenCircuitError) && !(e instanceof IsolatedCircuitError));
}

/** What the failover caller needs from the fabric. */
export interface FailoverDeps<T> {
  transport: Transport;
  picker: BalancedPicker;
  breakers: ReplicaBreakers;
  outliers: OutlierDetector;
  options: ResolvedResilience;
  logger: Logger;
  /** The registry's cached view of a node's replicas. */
  replicas(node: string): readonly ReplicaCandidate[];
  /** Calls `listener` when a replica of `node` leaves the registry; returns a function that stops it. */
  onReplicaRemoved(node: string, listener: (replicaId: string) => void): () => void;
  /** Reads a reply (the node's outcome). */
  decode(reply: CallReply): Promise<T>;
  /** True when a decoded outcome counts as a failure of the replica (node errors LangGraph would retry). */
  isFailedOutcome(outcome: T): boolean;
  /** Longest wait for a replica to appear, in ms. */
  replicaWaitMs: number;
}

/** A call's result: the decoded outcome and who produced it. */
export interface FailoverResult<T> {
  outcome: T;
  replicaId: string;
}

/** Makes remote calls with breakers, bulkheads and failover. */
export class FailoverCaller<T> {
  private readonly bulkheads = new Map<string, BulkheadPolicy>();

  constructor(private readonly deps: FailoverDeps<T>) {}

  /**
   * Calls `node` until a replica answers, trying at most `maxAttempts` distinct replicas.
   *
   * @throws the node's own outcome is returned, never thrown; throws `NoReplicaError`,
   *   `BulkheadFullError`, the caller's abort reason, or the last replica failure.
   */
  async call(
    node: string,
    header: Omit<OutgoingRequestHeader, "replica">,
    payload: Uint8Array,
    options: Omit<CallOptions, "target">,
  ): Promise<FailoverResult<T>> {
    const { bulkheadLimit, bulkheadQueue } = this.deps.options;
    let policy = this.bulkheads.get(node);
    if (policy === undefined) {
      policy = bulkhead(bulkheadLimit, bulkheadQueue);
      this.bulkheads.set(node, policy);
    }
    try {
      return await policy.execute(() => this.withFailover(node, header, payload, options));
    } catch (e) {
      if (e instanceof BulkheadRejectedError) throw new BulkheadFullError(node, bulkheadLimit, bulkheadQueue);
      throw e;
    }
  }

  private async withFailover(
    node: string,
    header: Omit<OutgoingRequestHeader, "replica">,
    payload: Uint8Array,
    options: Omit<CallOptions, "target">,
  ): Promise<FailoverResult<T>> {
    const tried = new Set<string>();
    let lastFailure: unknown;
    // Attempts spent on replicas that failed to answer. A replica that left the registry (it
    // crashed or stopped) did not fail the call: the call only moves, so that costs no attempt,
    // and the loop ends at the deadline or when no replica is left to move to (see choose).
    let failures = 0;
    for (let moves = 0; failures < this.deps.options.maxAttempts; moves += 1) {
      const { replica, probe } = await this.choose(node, header, tried, options.signal, lastFailure);
      tried.add(replica.replicaId);
      const started = performance.now();
      try {
        // Each attempt is a new call on the wire (its own correlation id, so a late cancel or reply
        // of an abandoned attempt cannot touch this one) with the same idempotency key.
        const attemptHeader = moves === 0 ? header : { ...header, id: randomUUID() };
        const outcome = await this.attempt(node, replica, probe, attemptHeader, payload, options);
        const failed = this.deps.isFailedOutcome(outcome);
        this.deps.picker.callDone(node, replica.replicaId, performance.now() - started, failed ? "error" : "value");
        this.deps.outliers.record(node, replica.replicaId, failed);
        return { outcome, replicaId: replica.replicaId };
      } catch (e) {
        const replicaFault = isReplicaFailure(e) && !(options.signal?.aborted ?? false);
        this.deps.picker.callDone(node, replica.replicaId, performance.now() - started, replicaFault ? "failed" : "value");
        if (!replicaFault) throw e;
        this.deps.outliers.record(node, replica.replicaId, true);
        if (Date.now() >= header.deadline) throw e;
        lastFailure = e;
        if (!isReplicaGoneError(e)) failures += 1;
        this.deps.logger.info("replica failed to answer; trying another", { node, replicaId: replica.replicaId, error: e });
      }
    }
    throw asError(lastFailure);
  }

  /** One attempt on one replica, through its breaker (unless the ejection cap keeps it in service). */
  private async attempt(
    node: string,
    replica: ReplicaCandidate,
    probe: boolean,
    header: Omit<OutgoingRequestHeader, "replica">,
    payload: Uint8Array,
    options: Omit<CallOptions, "target">,
  ): Promise<T> {
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onCallerAbort, { once: true });
    // Not at once: a replica that drained has answered, and its reply may still be on its way.
    let goneTimer: ReturnType<typeof setTimeout> | undefined;
    const stopWatching = this.deps.onReplicaRemoved(node, (id) => {
      if (id !== replica.replicaId || goneTimer !== undefined) return;
      goneTimer = setTimeout(() => controller.abort(new ReplicaGoneError(node, id)), this.deps.options.replicaGoneGraceMs);
    });
    const timeoutMs = this.deps.options.attemptTimeoutMs;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => controller.abort(new AttemptTimeoutError(node, replica.replicaId, timeoutMs)), timeoutMs);
    const run = async (): Promise<T> => {
      const reply = await this.deps.transport.call({ ...header, replica: replica.replicaId }, payload, {
        ...options,
        target: replica.address,
        signal: controller.signal,
      });
      const outcome = await this.deps.decode(reply);
      // A failed outcome is returned to the caller but still counts against the breaker.
      if (this.deps.isFailedOutcome(outcome)) throw new FailedOutcome(outcome);
      return outcome;
    };
    const shared = this.deps.breakers.shared;
    try {
      let outcome: T;
      // Kept in service by the ejection cap, or the shared probe: go past the local breaker.
      if (probe || this.deps.breakers.rejects(node, replica.replicaId)) outcome = await unwrap(run());
      else outcome = await unwrap(this.deps.breakers.execute(node, replica.replicaId, run, controller.signal));
      if (probe && shared) {
        if (this.deps.isFailedOutcome(outcome)) await shared.reportOpen(node, replica.replicaId, 0);
        else await shared.reportClosed(node, replica.replicaId);
      }
      return outcome;
    } catch (e) {
      if (probe && shared) await shared.reportOpen(node, replica.replicaId, 0);
      // An abort we caused carries our reason (timeout, replica gone); surface that, not the abort.
      if (controller.signal.aborted && !(options.signal?.aborted ?? false)) throw controller.signal.reason;
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      clearTimeout(goneTimer);
      stopWatching();
      options.signal?.removeEventListener("abort", onCallerAbort);
    }
  }

  private async choose(
    node: string,
    header: Pick<OutgoingRequestHeader, "threadId" | "deadline">,
    tried: ReadonlySet<string>,
    signal: AbortSignal | undefined,
    lastFailure: unknown,
  ): Promise<{ replica: ReplicaCandidate; probe: boolean }> {
    // A replacement is waited for up to replicaWaitMs, never past the call's deadline.
    const until = Math.min(Date.now() + this.deps.replicaWaitMs, header.deadline);
    const shared = this.deps.breakers.shared;
    for (;;) {
      const candidates = this.deps.replicas(node);
      const chosen = this.deps.picker.pickExcluding(node, candidates, header.threadId, tried.size > 0 ? tried : undefined);
      if (chosen) {
        // The shared half-open probe must be claimed in the same tick as the pick: a concurrent
        // call picking the same replica in between would otherwise make a second probe.
        if (shared?.isProbe(node, chosen.replicaId) !== true) return { replica: chosen, probe: false };
        if (shared.beginProbe(node, chosen.replicaId)) return { replica: chosen, probe: true };
        continue; // another call of this process took the probe; the exclusion now skips it
      }
      // Every replica still registered was tried and failed: report that failure rather than "no
      // replica". Not after a departure: a dead replica's record can linger in the view for a
      // moment (a clock-skew allowance), and the call must wait for a live one, not fail.
      if (
        lastFailure !== undefined &&
        !isReplicaGoneError(lastFailure) &&
        candidates.length > 0 &&
        candidates.every((c) => tried.has(c.replicaId))
      )
        throw asError(lastFailure);
      if (Date.now() >= until) throw noReplica(node, candidates.length, lastFailure, this.deps.replicaWaitMs);
      if (signal?.aborted) throw signal.reason as Error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The error of a call that found no replica to send to (or to move to) in time. */
function noReplica(node: string, registered: number, lastFailure: unknown, waitedMs: number): NoReplicaError {
  if (isReplicaGoneError(lastFailure)) {
    // The request already sent stays in its partition: Kafka hands it to whichever replica takes
    // the partition over, which runs it under the same idempotency key.
    return new NoReplicaError(
      node,
      `replica "${lastFailure.replicaId}" left during the call and no other replica came within ${waitedMs} ms; ` +
        "the request already sent may still run when a replica takes its partition over (with the same idempotency key)",
    );
  }
  return new NoReplicaError(
    node,
    registered === 0 ? "none registered" : `${registered} registered, none can take calls (draining, joining or out of service)`,
  );
}

/** A per-attempt timeout; a replica failure, so the call moves on. */
class AttemptTimeoutError extends Error {
  constructor(node: string, replicaId: string, ms: number) {
    super(`replica "${replicaId}" of node "${node}" did not answer within ${ms} ms`);
    this.name = "AttemptTimeoutError";
  }
}

/** Carries a failed outcome through the breaker (so it counts) and back out (so it is returned). */
class FailedOutcome<T> extends Error {
  constructor(readonly outcome: T) {
    super("the node failed");
    this.name = "FailedOutcome";
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

async function unwrap<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof FailedOutcome) return e.outcome as T;
    throw e;
  }
}

export { AttemptTimeoutError };
