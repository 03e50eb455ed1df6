/**
 * Lua scripts of the Redis checkpointer, one per multi-step change (BullMQ's habit): each runs
 * atomically in one round trip and touches only the keys of one thread, which share a hash tag,
 * so every script also runs on Redis Cluster.
 *
 * Every script receives the same five keys of one thread (see `checkpointKeys.ts`):
 * KEYS[1] checkpoints hash, KEYS[2] blobs hash, KEYS[3] writes hash, KEYS[4] write-index hash,
 * KEYS[5] checkpoint-id sorted set. ARGV[1] is the TTL in milliseconds ("0": keep forever); a
 * thread's keys always share one expiry, so a thread expires as a whole and never half.
 *
 * Field names join their parts with NUL bytes (`ns \0 id`, `ns \0 channel \0 version`,
 * `ns \0 id \0 task \0 idx`); lists of field names inside one value are joined with byte 30
 * (ASCII record separator). `String.raw` keeps the escapes for Lua, which reads `\0` and `\30`
 * as those bytes.
 *
 * @module
 */

const helpers = String.raw`
local function hmgetAll(key, fields)
  local out = {}
  -- unpack() of a huge table overflows Lua's C stack; read in chunks.
  for i = 1, #fields, 1000 do
    local chunk = redis.call('HMGET', key, unpack(fields, i, math.min(i + 999, #fields)))
    for j = 1, #chunk do out[#out + 1] = chunk[j] or '' end
  end
  return out
end
local function refresh(ttl)
  if ttl > 0 then
    for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
`;

/**
 * Stores one checkpoint: its record (checkpoint without channel values, metadata, parent id,
 * blob-field list) in the checkpoints hash, the blobs of the channels whose version went up
 * (insert-if-absent: a (channel, version) blob never changes), and its id in the sorted set.
 *
 * ARGV: ttl, key (`ns\0id`), checkpoint, metadata, parent id, blob-field list, thread id, then
 * (blob field, blob) pairs. An optional KEYS[6] is the thread index: on standalone Redis the
 * thread is indexed in the same round trip; on Cluster that key lives in another slot, so the
 * caller adds it separately, after this script (see `RedisSaver`'s index pruning for why after).
 */
export const putCheckpoint = String.raw`${helpers}
local k = ARGV[2]
redis.call('HSET', KEYS[1], 'c\0' .. k, ARGV[3], 'm\0' .. k, ARGV[4], 'p\0' .. k, ARGV[5], 'v\0' .. k, ARGV[6])
if KEYS[6] then redis.call('SADD', KEYS[6], ARGV[7]) end
for i = 8, #ARGV, 2 do
  redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', KEYS[5], 0, k)
refresh(tonumber(ARGV[1]))
return 1
`;

/**
 * Stores a task's pending writes for one checkpoint. Regular writes are insert-if-absent (a retried
 * task must not replace what it wrote first); special channels (error, interrupt, resume,
 * scheduled) overwrite. New field names are appended to the checkpoint's entry in the write index,
 * so reads never scan.
 *
 * ARGV: ttl, key (`ns\0id`), then (write field, value, "1" to overwrite | "0") triples.
 */
export const putWrites = String.raw`${helpers}
local added = {}
for i = 3, #ARGV, 3 do
  local created
  if ARGV[i + 2] == '1' then
    created = redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  else
    created = redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 1])
  end
  if created == 1 then added[#added + 1] = ARGV[i] end
end
if #added > 0 then
  local list = table.concat(added, '\30')
  local old = redis.call('HGET', KEYS[4], ARGV[2])
  if old then list = old .. '\30' .. list end
  redis.call('HSET', KEYS[4], ARGV[2], list)
end
refresh(tonumber(ARGV[1]))
return #added
`;

/**
 * Reads one checkpoint with its channel blobs and pending writes. With an empty id it reads the
 * newest checkpoint of the namespace (ids are uuid6, so lexical order is time order).
 *
 * ARGV: ttl, "1" to refresh the TTL on read, namespace, checkpoint id or "".
 * Returns nil, or { id, checkpoint, metadata, parent id, blob-field list, blobs[],
 * write-field list, writes[] }.
 */
export const getCheckpoint = String.raw`${helpers}
local ns = ARGV[3]
local id = ARGV[4]
if id == '' then
  local newest = redis.call('ZREVRANGEBYLEX', KEYS[5], '(' .. ns .. '\1', '[' .. ns .. '\0', 'LIMIT', 0, 1)
  if #newest == 0 then return false end
  id = string.sub(newest[1], #ns + 2)
end
local k = ns .. '\0' .. id
local rec = redis.call('HMGET', KEYS[1], 'c\0' .. k, 'm\0' .. k, 'p\0' .. k, 'v\0' .. k)
if not rec[1] then return false end
local blobs = {}
local blobFields = {}
for f in string.gmatch(rec[4], '[^\30]+') do blobFields[#blobFields + 1] = f end
if #blobFields > 0 then blobs = hmgetAll(KEYS[2], blobFields) end
local writeList = redis.call('HGET', KEYS[4], k) or ''
local writes = {}
local writeFields = {}
for f in string.gmatch(writeList, '[^\30]+') do writeFields[#writeFields + 1] = f end
if #writeFields > 0 then writes = hmgetAll(KEYS[3], writeFields) end
if ARGV[2] == '1' then refresh(tonumber(ARGV[1])) end
return { id, rec[1], rec[2], rec[3], rec[4], blobs, writeList, writes }
`;

/** Deletes every key of one thread. */
export const deleteThread = String.raw`
return redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
`;

/**
 * Removes a thread from the thread index when none of its keys is left (they expired, or the
 * thread was deleted), so the index of a saver with a TTL converges instead of growing forever.
 * Atomic with `putCheckpoint`'s SADD on standalone and Sentinel, so a thread being written is never
 * dropped; on Cluster the index lives in another slot and the caller prunes without this script.
 *
 * KEYS: the five keys of the thread, then KEYS[6] the thread index. ARGV[1]: thread id.
 * Returns 1 when the thread was removed from the index, else 0.
 */
export const pruneThreadIndex = String.raw`
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]) > 0 then return 0 end
return redis.call('SREM', KEYS[6], ARGV[1])
`;
