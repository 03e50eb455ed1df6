import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { patchKafkajsIdleLoop } from "../../../adapters/kafka/patchKafkajsIdleLoop.js";

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
}
const RequestQueue = createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js") as new (o: object) => Queue;
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const queues: Queue[] = [];
const queue = (): Queue => {
  const q = new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 1000,
    enforceRequestTimeout: false,
    clientId: "t",
    broker: "b",
    logger,
  });
  queues.push(q);
  return q;
};

describe("patchKafkajsIdleLoop", () => {
  afterEach(() => {
    for (const q of queues.splice(0)) q.destroy();
  });

  it("stops an idle request queue from re-arming a 1 ms timer forever, and keeps the checks that matter", async () => {
    expect(patchKafkajsIdleLoop()).toBe(true);
    expect(patchKafkajsIdleLoop()).toBe(true); // idempotent
    const idle = queue();
    let checks = 0;
    const check = idle.checkPendingRequests.bind(idle);
    idle.checkPendingRequests = () => {
      checks += 1;
      check();
    };
    idle.checkPendingRequests(); // what every response does
    await new Promise((r) => setTimeout(r, 50));
    expect(checks).toBe(1); // unpatched kafkajs 2.2.4 counts dozens here
    expect(idle.throttleCheckTimeoutId).toBeNull();

    const waiting = queue();
    waiting.pending.push({});
    waiting.scheduleCheckPendingRequests();
    expect(waiting.throttleCheckTimeoutId).not.toBeNull(); // a queued request is checked again

    const throttled = queue();
    throttled.throttledUntil = Date.now() + 1000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull(); // and a throttle's end is awaited
  });
});
