/**
 * Message-authentication settings from the environment: `FABRIC_SIGNING_KEYS` (the keys) or
 * `FABRIC_INSECURE=1` (no authentication, by name). Shared by `KafkaTransport.fromEnv`,
 * `createFabricFromEnv` and the CLI, so every process of a fabric reads them the same way.
 *
 * @module
 */
import { ConfigurationError } from "../../src/errors.js";
import { parseSigningKeys, type SigningKey } from "../../src/transport/signingKeys.js";

/** What {@link signingFromEnv} found: keys, the insecure opt-out, or nothing (then options decide). */
export interface SigningSettings {
  signingKeys?: SigningKey[];
  insecure?: true;
}

/**
 * Reads `FABRIC_SIGNING_KEYS` (`id:base64,…`, oldest first, the last one signs) and
 * `FABRIC_INSECURE` (`1`/`true` to run without authentication).
 *
 * @throws ConfigurationError when a key is malformed or short, `FABRIC_INSECURE` has another
 *   value, or both are set.
 */
export function signingFromEnv(env: NodeJS.ProcessEnv = process.env): SigningSettings {
  const keys = env.FABRIC_SIGNING_KEYS?.trim() ?? "";
  const insecureText = env.FABRIC_INSECURE?.trim().toLowerCase() ?? "";
  if (!["", "0", "false", "1", "true"].includes(insecureText))
    throw new ConfigurationError(`FABRIC_INSECURE "${env.FABRIC_INSECURE ?? ""}" must be 1/true or 0/false`);
  const insecure = insecureText === "1" || insecureText === "true";
  if (keys !== "" && insecure)
    throw new ConfigurationError("FABRIC_SIGNING_KEYS and FABRIC_INSECURE=1 are both set", {
      hint: "unset FABRIC_INSECURE: with keys, messages are signed",
    });
  if (keys !== "") return { signingKeys: parseSigningKeys(keys) };
  return insecure ? { insecure: true } : {};
}
