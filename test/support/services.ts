import { inject } from "vitest";
import { parseSigningKeys, type SigningKey } from "../../src/transport/signingKeys.js";

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
export function kafkaTransportOptions(): { brokers: string[]; signingKeys: SigningKey[] } {
  return { brokers: kafkaBrokers(), signingKeys: testSigningKeys() };
}

/** The signing keys of this test run (`FABRIC_SIGNING_KEYS`, which the global setup sets for child processes too). */
export function testSigningKeys(): SigningKey[] {
  return parseSigningKeys(inject("signingKeys"));
}

/** `FABRIC_SIGNING_KEYS` of this test run, for the environment objects tests build for children and `createFabricFromEnv`. */
export function signingEnv(): { FABRIC_SIGNING_KEYS: string } {
  return { FABRIC_SIGNING_KEYS: inject("signingKeys") };
}
