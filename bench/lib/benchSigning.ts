/**
 * Message signing of the Kafka benchmarks: on by default (as a distributed fabric is), off with
 * `BENCH_SIGNING=off` to measure what signing costs. Sets `FABRIC_SIGNING_KEYS` (a key made for
 * the run unless one is given) or `FABRIC_INSECURE=1` in this process's environment, so the
 * processes the benchmark starts sign the same way.
 *
 * @module
 */
import { signingFromEnv, type SigningSettings } from "../../adapters/kafka/signingFromEnv.js";
import { generateSigningKey } from "../../src/transport/signingKeys.js";

/** `"on"` or `"off"`, from `BENCH_SIGNING` (default on). */
export function benchSigningMode(env: NodeJS.ProcessEnv = process.env): "on" | "off" {
  const mode = (env.BENCH_SIGNING ?? "on").trim().toLowerCase();
  if (mode !== "on" && mode !== "off") throw new RangeError(`BENCH_SIGNING must be on or off (got ${JSON.stringify(env.BENCH_SIGNING)})`);
  return mode;
}

/** Prepares `env` (default `process.env`) for the mode and returns the transport's signing options. */
export function benchSigning(env: NodeJS.ProcessEnv = process.env): SigningSettings {
  if (benchSigningMode(env) === "off") {
    delete env.FABRIC_SIGNING_KEYS;
    env.FABRIC_INSECURE = "1";
  } else {
    delete env.FABRIC_INSECURE;
    env.FABRIC_SIGNING_KEYS ||= generateSigningKey("bench");
  }
  return signingFromEnv(env);
}
