import { ConfigurationError } from "../../src/errors.js";

/**
 * The Kafka bootstrap brokers named by `KAFKA_BROKERS` (comma-separated `host:port` list), or
 * `undefined` when the variable is unset or empty.
 *
 * @throws ConfigurationError when an entry is not `host:port` with a port in 1..65535.
 */
export function kafkaBrokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const raw = env.KAFKA_BROKERS?.trim();
  if (!raw) return undefined;
  const brokers = raw
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  for (const broker of brokers) {
    const match = /^(.+):(\d+)$/.exec(broker);
    const port = match ? Number(match[2]) : Number.NaN;
    if (!match || port < 1 || port > 65535) {
      throw new ConfigurationError(`KAFKA_BROKERS entry "${broker}" is not host:port`, {
        hint: 'set KAFKA_BROKERS to a comma-separated list such as "127.0.0.1:9092,127.0.0.1:9094"',
      });
    }
  }
  return brokers;
}
