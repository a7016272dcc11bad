#!lua flags=no-writes
-- One consistent read of an account's figures; holds past their expiry are not counted, swept or not.
-- KEYS: 1 account hash, 2 pending hold amounts (hash), 3 pending hold expiries (zset), 4 log list.
-- ARGV: 1 now ms.
-- Returns {balance, live held, currency or '', threshold, entries the account counts, entries in the log}.
local account = redis.call('HMGET', KEYS[1], 'balance', 'held', 'currency', 'threshold', 'seq')
local held = tonumber(account[2] or 0)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])) do
  held = held - tonumber(redis.call('HGET', KEYS[2], id))
end
return {tonumber(account[1] or 0), held, account[3] or '', tonumber(account[4] or 0), tonumber(account[5] or 0),
        redis.call('LLEN', KEYS[4])}
