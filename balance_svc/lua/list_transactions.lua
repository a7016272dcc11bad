#!lua flags=no-writes
-- Up to `count` log entries ending at entry `newest`, with the account's currency, from one consistent read.
-- KEYS: account hash, log list (entry n at index n - 1). ARGV: newest entry (0: the last), count.
-- Returns a flat name/value list: currency ('' before the first credit), newest (the number of the newest
-- entry returned, 0 for none) and entries (oldest first).
local account_key, log_key = KEYS[1], KEYS[2]
local newest, count = whole(ARGV[1], 'newest'), whole(ARGV[2], 'count')

local length = redis.call('LLEN', log_key)
if newest == 0 or newest > length then
  newest = length
end
local currency = redis.call('HGET', account_key, 'currency') or ''
if newest == 0 then
  return {'currency', currency, 'newest', 0, 'entries', {}}
end
local oldest = math.max(1, newest - count + 1)
return {'currency', currency, 'newest', newest, 'entries', redis.call('LRANGE', log_key, oldest - 1, newest - 1)}
