// Values the integration global setup (test/setup/services.ts) hands to test files via inject().
export {};

declare module "vitest" {
  export interface ProvidedContext {
    /** Redis that answers PING (shared: never restart it, never FLUSHALL). */
    redisUrl: string;
    /** Kafka bootstrap brokers as `host:port`. */
    kafkaBrokers: string[];
    /** This run's `FABRIC_SIGNING_KEYS` (`id:base64,…`); also in `process.env` for child processes. */
    signingKeys: string;
  }
}
