/**
 * A fast, non-cryptographic 32-bit string hash for consistent hashing of thread ids.
 *
 * @module
 */

/**
 * FNV-1a over the string's UTF-16 code units, then MurmurHash3's 32-bit finalizer. FNV-1a alone
 * is fast but leaves strings that differ in their last characters (`thread-1`, `thread-2`) close
 * together in the high bits, which a hash ring reads; the finalizer spreads every input bit over
 * the whole word. Stable across processes and versions: callers agree on where a thread goes.
 *
 * @returns an unsigned 32-bit integer.
 */
export function hashString(text: string): number {
  let h = 0x811c9dc5; // FNV offset basis
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193); // FNV prime
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
