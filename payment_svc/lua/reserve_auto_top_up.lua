-- Reserves one automatic top-up within the account's spend cap; a redelivered event resumes its own.
-- KEYS[1] settings hash, KEYS[2] spend zset. ARGV[1] now_ms, ARGV[2] default period (s), ARGV[3] order_id,
-- ARGV[4] amount (minor).
-- Reply: {'outcome', 'reserved' | 'disabled' | 'cap_reached'}.
local settings_key, spend_key = KEYS[1], KEYS[2]
local now, default_period_s = whole(ARGV[1], 'now_ms'), whole(ARGV[2], 'default_period_s')
local order_id, amount = ARGV[3], whole(ARGV[4], 'amount')

if redis.call('HGET', settings_key, 'enabled') ~= '1' then
  return {'outcome', 'disabled'}
end
redis.call('ZREMRANGEBYSCORE', spend_key, '-inf', auto_window_start(settings_key, now, default_period_s))
if #auto_spend_members(spend_key, order_id) > 0 then
  return {'outcome', 'reserved'}
end
local cap = tonumber(redis.call('HGET', settings_key, 'max_spend_minor'))
if auto_spent(settings_key, spend_key, now, default_period_s) + amount > cap then
  return {'outcome', 'cap_reached'}
end
redis.call('ZADD', spend_key, now, order_id .. ':' .. amount)
return {'outcome', 'reserved'}
