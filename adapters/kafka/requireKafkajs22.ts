/**
 * Loads an internal module of kafkajs 2.2.x, the versions the run-time patches were written for.
 *
 * @module
 */
import { createRequire } from "node:module";

/**
 * The kafkajs module at `path` (e.g. `"kafkajs/src/consumer/consumerGroup.js"`) when the installed
 * kafkajs is 2.2.x and has it; `undefined` for any other version or layout (nothing to patch).
 */
export function requireKafkajs22(path: string): unknown {
  try {
    const require = createRequire(import.meta.url);
    const { version } = require("kafkajs/package.json") as { version: string };
    if (!version.startsWith("2.2.")) return undefined;
    return require(path) as unknown;
  } catch {
    return undefined; // another layout: nothing we know how to patch
  }
}
