/**
 * The storage key layout shared by every state-store implementation, so that an in-memory store and
 * a Redis store address data the same way and key-prefix isolation means the same thing in both.
 *
 * ```
 * <prefix>:kv:{<ns>:…:<key>}        JSON value (string; counters are integer strings)
 * <prefix>:fence:{<ns>:…:<key>}     highest fencing token accepted for that key
 * <prefix>:lock:{<name>}            hash { owner, token } with the lock's TTL
 * <prefix>:lockseq:{<name>}         fencing-token sequence of that lock name (never expires)
 * <prefix>:q:{<name>}:ready         list of ready item ids (head = next claimed)
 * <prefix>:q:{<name>}:leased        sorted set id -> lease end (epoch ms)
 * <prefix>:q:{<name>}:items         hash id -> JSON payload
 * <prefix>:q:{<name>}:attempts      hash id -> claim count (also the claim receipt)
 * <prefix>:ch:<channel>             pub/sub channel
 * ```
 *
 * The part in braces is a Redis Cluster hash tag: every key one Lua script touches shares it, so
 * scripts never cross slots. User-supplied parts are escaped (`%`, `{`, `}`, `:` as `%XX`) so that
 * a brace cannot move the hash tag and no two (namespace, key) pairs map to the same storage key.
 *
 * @module
 */

/** Escapes `%`, `{`, `}` and `:` as `%XX`; injective, and the result contains none of them unescaped. */
export function encodeKeyPart(part: string): string {
  return part.replace(/[%{}:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The keys of one queue; all share the hash tag `{<name>}`. */
export interface QueueKeys {
  /** List of ready ids. */
  readonly ready: string;
  /** Sorted set of leased ids scored by lease end. */
  readonly leased: string;
  /** Hash of payloads. */
  readonly items: string;
  /** Hash of claim counts. */
  readonly attempts: string;
}

/**
 * Validates a key prefix: non-empty, no `{` or `}` (a brace in the prefix would move the hash tag).
 *
 * @throws RangeError naming the field and value.
 */
export function validateStateKeyPrefix(field: string, prefix: unknown): string {
  if (typeof prefix !== "string" || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new RangeError(`${field} must be a non-empty string without "{" or "}" (got ${JSON.stringify(prefix)})`);
  }
  return prefix;
}

/** Builds the storage keys of one store (one prefix). */
export class StateKeys {
  constructor(readonly prefix: string) {}

  /** Key of a value at namespace `path` and `key`. */
  value(path: readonly string[], key: string): string {
    return `${this.prefix}:kv:{${this.join(path, key)}}`;
  }

  /** Key of the fencing record of the value at `path`/`key` (same hash tag as {@link value}). */
  fence(path: readonly string[], key: string): string {
    return `${this.prefix}:fence:{${this.join(path, key)}}`;
  }

  /** Key of the lock `name`. */
  lock(name: string): string {
    return `${this.prefix}:lock:{${encodeKeyPart(name)}}`;
  }

  /** Key of the fencing-token sequence of lock `name` (same hash tag as {@link lock}). */
  lockSequence(name: string): string {
    return `${this.prefix}:lockseq:{${encodeKeyPart(name)}}`;
  }

  /** Keys of queue `name`. */
  queue(name: string): QueueKeys {
    const base = `${this.prefix}:q:{${encodeKeyPart(name)}}`;
    return { ready: `${base}:ready`, leased: `${base}:leased`, items: `${base}:items`, attempts: `${base}:attempts` };
  }

  /** Name of pub/sub channel `channel`. */
  channel(channel: string): string {
    return `${this.prefix}:ch:${encodeKeyPart(channel)}`;
  }

  private join(path: readonly string[], key: string): string {
    return [...path, key].map(encodeKeyPart).join(":");
  }
}
