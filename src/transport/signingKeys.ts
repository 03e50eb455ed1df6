/**
 * Message-authentication keys: a ring of HMAC-SHA256 keys with ids. Frames are signed with the
 * newest key and verified with whichever key the signature names, so keys rotate without a
 * flag day: add the new key everywhere (as the newest), then remove the old one.
 *
 * Wire form of a signature (the Kafka header `lgf-sig`): `<keyId>.<64 hex digits>`.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ConfigurationError } from "../errors.js";

/** Shortest accepted key, in bytes: HMAC-SHA256's own output length (RFC 2104 advises no less). */
export const MIN_SIGNING_KEY_BYTES = 32;

/** Key ids: short, printable, safe in a header and an env variable. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** `<keyId>.<hex>`; the id part is checked against {@link KEY_ID} by the ring's lookup. */
const SIGNATURE = /^([A-Za-z0-9_-]{1,32})\.([0-9a-f]{64})$/;

/** One key of a {@link SigningKeyRing}. */
export interface SigningKey {
  /** Key id, 1-32 characters of `[A-Za-z0-9_-]`; travels with each signature so the verifier picks the key. */
  id: string;
  /** The secret: at least {@link MIN_SIGNING_KEY_BYTES} bytes (a string counts its UTF-8 bytes). */
  secret: string | Uint8Array;
}

/**
 * HMAC-SHA256 keys by id. Signs with the last key given (the newest); verifies with any of them.
 * Immutable; share one per process.
 */
export class SigningKeyRing {
  private readonly keys = new Map<string, Buffer>();
  /** Id of the key new signatures are made with (the last one given). */
  readonly signingKeyId: string;
  private readonly signingSecret: Buffer;

  /**
   * @param keys - oldest first; at least one.
   * @param field - the option name used in error messages (e.g. `"signingKeys"`).
   * @throws RangeError naming the field when the list is empty, an id is malformed or repeated, or
   *   a secret is shorter than {@link MIN_SIGNING_KEY_BYTES} bytes.
   */
  constructor(keys: readonly SigningKey[], field = "signingKeys") {
    if (keys.length === 0) throw new RangeError(`${field} must list at least one key (got ${keys.length})`);
    keys.forEach((key, i) => {
      const at = `${field}[${i}]`;
      if (typeof key.id !== "string" || !KEY_ID.test(key.id))
        throw new RangeError(`${at}.id must be 1-32 characters of [A-Za-z0-9_-] (got ${JSON.stringify(key.id)})`);
      if (this.keys.has(key.id)) throw new RangeError(`${at}.id "${key.id}" is given twice`);
      const secret = Buffer.from(key.secret);
      if (secret.length < MIN_SIGNING_KEY_BYTES)
        throw new RangeError(
          `${at}.secret (key "${key.id}") is ${secret.length} bytes; it must be at least ${MIN_SIGNING_KEY_BYTES} random bytes (generate one with \`npx langgraph-fabric keygen\`)`,
        );
      this.keys.set(key.id, secret);
    });
    const newest = keys[keys.length - 1] as SigningKey;
    this.signingKeyId = newest.id;
    this.signingSecret = this.keys.get(newest.id) as Buffer;
  }

  /** Ids of every key, oldest first. */
  get ids(): string[] {
    return [...this.keys.keys()];
  }

  /** The signature of `value` with the newest key, in wire form. */
  sign(value: Uint8Array): string {
    return `${this.signingKeyId}.${createHmac("sha256", this.signingSecret).update(value).digest("hex")}`;
  }

  /** True when `signature` (wire form) is a valid signature of `value` by one of the ring's keys. */
  verify(value: Uint8Array, signature: string): boolean {
    const m = SIGNATURE.exec(signature);
    if (!m) return false;
    const secret = this.keys.get(m[1] as string);
    if (secret === undefined) return false;
    const expected = createHmac("sha256", secret).update(value).digest();
    return timingSafeEqual(expected, Buffer.from(m[2] as string, "hex"));
  }
}

/**
 * Parses the `FABRIC_SIGNING_KEYS` form: comma-separated `id:secret` pairs, oldest first, each
 * secret base64 (standard or URL alphabet) of at least {@link MIN_SIGNING_KEY_BYTES} bytes.
 *
 * @param source - what to name in errors (the variable).
 * @throws ConfigurationError when an entry is malformed, naming it by position (never printing a secret).
 */
export function parseSigningKeys(text: string, source = "FABRIC_SIGNING_KEYS"): SigningKey[] {
  const entries = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const hint = `${source} is "id:base64secret,…" (oldest first, the last one signs); generate an entry with \`npx langgraph-fabric keygen\``;
  if (entries.length === 0) throw new ConfigurationError(`${source} is set but lists no key`, { hint });
  const keys = entries.map((entry, i) => {
    const colon = entry.indexOf(":");
    const id = colon < 0 ? "" : entry.slice(0, colon);
    const encoded = colon < 0 ? "" : entry.slice(colon + 1);
    if (!KEY_ID.test(id)) throw new ConfigurationError(`${source} entry ${i + 1} has no valid key id before ":"`, { hint });
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new ConfigurationError(`${source} key "${id}" is not base64`, { hint });
    const secret = Buffer.from(encoded.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (secret.length < MIN_SIGNING_KEY_BYTES)
      throw new ConfigurationError(`${source} key "${id}" is ${secret.length} bytes; at least ${MIN_SIGNING_KEY_BYTES} are required`, {
        hint,
      });
    return { id, secret: new Uint8Array(secret) };
  });
  try {
    new SigningKeyRing(keys, source); // ids repeated: the same check the transports make
  } catch (e) {
    throw new ConfigurationError((e as Error).message, { hint });
  }
  return keys;
}

/** A new random key in the `FABRIC_SIGNING_KEYS` form (`id:base64`), 32 bytes. */
export function generateSigningKey(id = `k${Math.floor(Date.now() / 1000).toString(36)}`): string {
  if (!KEY_ID.test(id)) throw new RangeError(`id must be 1-32 characters of [A-Za-z0-9_-] (got ${JSON.stringify(id)})`);
  return `${id}:${randomBytes(MIN_SIGNING_KEY_BYTES).toString("base64")}`;
}

/** The keys of a `signingKey` / `signingKeys` option pair, or undefined when neither is given. */
export function signingKeysOf(options: {
  signingKey?: string | Uint8Array;
  signingKeys?: readonly SigningKey[];
}): SigningKey[] | undefined {
  if (options.signingKey !== undefined && options.signingKeys !== undefined)
    throw new RangeError('give signingKeys or signingKey, not both (signingKey is one key with id "default")');
  if (options.signingKeys !== undefined) return [...options.signingKeys];
  if (options.signingKey !== undefined) return [{ id: "default", secret: options.signingKey }];
  return undefined;
}
