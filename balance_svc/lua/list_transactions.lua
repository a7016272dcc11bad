#!lua flags=no-writes
-- Up to `count` log entries ending at entry `newest`, with the account's currency, from one consistent read.
-- KEYS: 1 account hash, 2 log list (entry n at index n - 1). ARGV: 1 newest entry (0: the last), 2 count.
-- Returns {currency or '', number of the newest entry returned, {entry, ...} oldest first}.
local length = redis.call('LLEN', KEYS[2])
local newest = tonumber(ARGV[1])
if newest == 0 or newest > length then
  newest = length
end
local currency = redis.call('HGET', KEYS[1], 'currency') or ''
if newest == 0 then
  return {currency, 0, {}}
end
local oldest = math.max(1, newest - tonumber(ARGV[2]) + 1)
return {currency, newest, redis.call('LRANGE', KEYS[2], oldest - 1, newest - 1)}
