/**
 * Lua scripts of `RedisStateStore`, one per multi-step change (BullMQ's habit): each runs
 * atomically in one round trip. The keys one script receives always share a hash tag (see
 * `src/state/stateKeys.ts`), so every script also runs on Redis Cluster.
 *
 * Time: lease and lock expiry use the Redis server's clock (`TIME` inside the script, or `PX`),
 * never the caller's, so processes with skewed clocks agree on when a lease ends. Redis 7
 * replicates scripts by their effects, so reading `TIME` before writing is allowed and replicas
 * receive the computed scores.
 *
 * TTL arguments are milliseconds as decimal strings; `"0"` means "no expiry".
 *
 * @module
 */

/** Server time in epoch milliseconds, and the requeue step shared by the queue scripts. */
const queueHelpers = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Moves up to 'limit' ids whose lease ended at or before 'now' back to the head of the ready
-- list, the earliest-expired first in line (they were claimed earliest).
local function requeueExpired(ready, leased, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', leased, '-inf', now, 'LIMIT', 0, limit)
  for i = #expired, 1, -1 do
    redis.call('ZREM', leased, expired[i])
    redis.call('LPUSH', ready, expired[i])
  end
  return #expired
end
-- True if 'receipt' is the latest claim of 'id' and the item is still leased (not requeued).
local function holds(leased, attempts, id, receipt)
  return redis.call('ZSCORE', leased, id) and redis.call('HGET', attempts, id) == receipt
end
`;

/**
 * Sets a value only if the current one equals the expected JSON text (or, with ARGV[1] = "0", only
 * if the key is absent), and then publishes ARGV[5] on every channel ARGV[6…] (none: no publish).
 * KEYS[1] value; ARGV: expected-present flag, expected, new value, TTL[, message, channel…].
 * Returns 1 if written, else 0.
 */
export const compareAndSet = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
for i = 6, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[5]) end
return 1
`;

/**
 * Sets a value (only if absent with ARGV[1] = "1") and, when it wrote, publishes ARGV[4] on every
 * channel ARGV[5…]. KEYS[1] value; ARGV: only-if-absent flag, value, TTL, message, channel….
 * Returns 1 if written.
 */
export const setAndPublish = `
local written
if ARGV[1] == '1' then
  if ARGV[3] ~= '0' then
    written = redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX')
  else
    written = redis.call('SET', KEYS[1], ARGV[2], 'NX')
  end
elseif ARGV[3] ~= '0' then
  written = redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  written = redis.call('SET', KEYS[1], ARGV[2])
end
if not written then return 0 end
for i = 5, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[4]) end
return 1
`;

/** Deletes a value only if it equals the expected JSON text. KEYS[1] value; ARGV[1] expected. Returns 1 if deleted. */
export const compareAndDelete = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * Adds to a counter and gives it a TTL only when this call creates it (a fixed window).
 * KEYS[1] counter; ARGV: increment, TTL. Returns the new value.
 */
export const incrementCounter = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
`;

/**
 * Writes a value if the fencing token is at least the highest one accepted for the key, and records
 * it. The fence key has no TTL: it must outlive the value. KEYS[1] value, KEYS[2] fence; ARGV:
 * token, value, TTL. Returns {1, token} when written, {0, current} when the token is stale.
 */
export const fencedSet = `
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = tonumber(ARGV[1])
if token < current then return {0, current} end
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return {1, token}
`;

/**
 * Takes a lock, or renews it when the same owner holds it. A new holder gets the next token of the
 * lock's sequence (a key without TTL, so tokens keep increasing after the lock expires).
 * KEYS[1] lock hash, KEYS[2] sequence; ARGV: owner, TTL. Returns the token, or nil when held by another owner.
 */
export const acquireLock = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then
  if owner ~= ARGV[1] then return false end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('HGET', KEYS[1], 'token'))
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token
`;

/** Deletes a lock if the owner holds it. KEYS[1] lock hash; ARGV[1] owner. Returns 1 if released. */
export const releaseLock = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/** Resets a lock's TTL if the owner holds it. KEYS[1] lock hash; ARGV: owner, TTL. Returns 1 if extended. */
export const extendLock = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * Appends an item unless an item with that id is still in the queue. KEYS[1] ready, KEYS[2] items;
 * ARGV: id, payload. Returns 1 if added.
 */
export const pushQueueItem = `
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
`;

/**
 * Requeues expired leases, then leases the head of the ready list: increments its attempts and
 * scores it in the leased set with the lease end. KEYS: ready, leased, items, attempts; ARGV:
 * lease ms, requeue limit. Returns {id, payload, attempts, leaseExpiresAt}, or nil when none is ready.
 */
export const claimQueueItem = `${queueHelpers}
local now = nowMs()
requeueExpired(KEYS[1], KEYS[2], now, tonumber(ARGV[2]))
while true do
  local id = redis.call('LPOP', KEYS[1])
  if not id then return false end
  local payload = redis.call('HGET', KEYS[3], id)
  -- An id without payload was removed by hand; skip it.
  if payload then
    local attempts = redis.call('HINCRBY', KEYS[4], id, 1)
    local expiresAt = now + tonumber(ARGV[1])
    redis.call('ZADD', KEYS[2], expiresAt, id)
    return {id, payload, attempts, expiresAt}
  end
end
`;

/**
 * Removes a claimed item for good if the receipt is its latest claim and it is still leased.
 * KEYS: ready, leased, items, attempts; ARGV: id, receipt. Returns 1 if removed.
 */
export const ackQueueItem = `${queueHelpers}
if not holds(KEYS[2], KEYS[4], ARGV[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`;

/**
 * Gives a claimed item back to the tail of the ready list (a nack). KEYS: ready, leased, items,
 * attempts; ARGV: id, receipt. Returns 1 if released.
 */
export const releaseQueueItem = `${queueHelpers}
if not holds(KEYS[2], KEYS[4], ARGV[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
`;

/**
 * Moves a claimed item's lease end to now + lease ms. KEYS: ready, leased, items, attempts; ARGV:
 * id, receipt, lease ms. Returns the new lease end, or nil if the receipt no longer holds the item.
 */
export const extendQueueLease = `${queueHelpers}
if not holds(KEYS[2], KEYS[4], ARGV[1], ARGV[2]) then return false end
local expiresAt = nowMs() + tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], 'XX', expiresAt, ARGV[1])
return expiresAt
`;

/** Requeues up to ARGV[1] expired leases. KEYS: ready, leased, items, attempts. Returns how many. */
export const requeueExpiredQueueItems = `${queueHelpers}
return requeueExpired(KEYS[1], KEYS[2], nowMs(), tonumber(ARGV[1]))
`;

/** Counts ready and leased items in one consistent read. KEYS: ready, leased, items, attempts. Returns {ready, leased}. */
export const countQueueItems = `
return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2])}
`;
