/**
 * Works around kafkajs 2.2.x's idle timer loop (tulios/kafkajs#1556, #1704; fix proposed in
 * #1667, never released): with no request pending and no throttling, every broker connection's
 * `RequestQueue.scheduleCheckPendingRequests` arms `setTimeout(check, <negative>)`, which fires
 * after 1 ms and arms it again, forever. Measured here: a process with one served node burned
 * about 80 ms of CPU per second doing nothing, and the timers kept the event loop from sleeping,
 * which lengthened every call on a busy 2-core machine.
 *
 * The patch keeps kafkajs's own logic and only declines to arm the timer when nothing is pending
 * and no throttle is in force — then there is nothing to check: a request that cannot be sent at
 * once is queued by `push`, which schedules the check itself, and every response re-checks.
 *
 * @module
 */
import { requireKafkajs22 } from "./requireKafkajs22.js";

/** kafkajs's interval for re-checking queued requests (a module constant there), in ms. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for("langgraph-fabric:kafkajs-idle-loop");

/**
 * Patches kafkajs's `RequestQueue` in this process once, for kafkajs 2.2.x (the versions with the
 * loop); later versions are left alone. Returns whether the patch is in place.
 */
export function patchKafkajsIdleLoop(): boolean {
  const RequestQueue = requireKafkajs22("kafkajs/src/network/requestQueue/index.js") as
    ({ prototype: RequestQueueLike } & Record<symbol, unknown>) | undefined;
  if (RequestQueue === undefined) return false;
  if (RequestQueue[PATCHED] === true) return true;
  if (typeof RequestQueue.prototype.scheduleCheckPendingRequests !== "function") return false;
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike): void {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    else if (scheduleAt <= 0) return; // nothing queued, no throttle: the loop kafkajs would start here
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
  RequestQueue[PATCHED] = true;
  return true;
}
