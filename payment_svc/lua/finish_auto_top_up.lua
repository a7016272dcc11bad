-- Ends one automatic top-up attempt: counts failures (turning it off after too many in a row), gives
-- back the reserved spend when nothing was charged, and frees the account's single-flight lock.
-- KEYS[1] settings hash, KEYS[2] spend zset, KEYS[3] the lock (string: the order id holding it).
-- ARGV[1] now_ms, ARGV[2] order_id, ARGV[3] 'ok' | 'failed' | 'skipped' | 'retry', ARGV[4] failure
-- reason, ARGV[5] failures in a row that turn it off.
-- Reply: {'outcome', 'finished'}.
local settings_key, spend_key, lock_key = KEYS[1], KEYS[2], KEYS[3]
local now, order_id = whole(ARGV[1], 'now_ms'), ARGV[2]
local result = one_of(ARGV[3], 'result', {'ok', 'failed', 'skipped', 'retry'})
local reason, max_failures = ARGV[4], whole(ARGV[5], 'max_failures')

if result == 'ok' then
  redis.call('HSET', settings_key, 'consecutive_failures', '0')
elseif result == 'failed' or result == 'skipped' then
  for _, member in ipairs(auto_spend_members(spend_key, order_id)) do
    redis.call('ZREM', spend_key, member)  -- nothing was charged
  end
end
if result == 'failed' then
  local failures = redis.call('HINCRBY', settings_key, 'consecutive_failures', 1)
  if failures >= max_failures then
    redis.call('HSET', settings_key, 'enabled', '0', 'disabled_reason', reason, 'update_ms', now)
  end
end
if redis.call('GET', lock_key) == order_id then
  redis.call('DEL', lock_key)
end
return {'outcome', 'finished'}
