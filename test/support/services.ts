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

/**
 * The options every test's `KafkaTransport` starts from: the brokers, plus whatever the test
 * run's security settings are. New tests spread this (`new KafkaTransport({ ...kafkaTransportOptions(), … })`)
 * so that a change to the default security of a distributed fabric is made here once.
 */
export function kafkaTransportOptions(): { brokers: string[] } {
  return { brokers: kafkaBrokers() };
}
