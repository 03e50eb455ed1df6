import { inject } from "vitest";

// Only for the integration project, whose global setup (test/setup/services.ts) provides these.

/** The Redis URL the integration global setup found or started. */
export function redisUrl(): string {
  return inject("redisUrl");
}

/** The Kafka bootstrap brokers the integration global setup found or started. */
export function kafkaBrokers(): string[] {
  return inject("kafkaBrokers");
}
