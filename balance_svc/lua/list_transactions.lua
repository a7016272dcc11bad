#!lua flags=no-writes
-- A page of an account's log, newest first, with the account's currency, from one consistent read.
-- KEYS: 1 account hash, 2 log stream. ARGV: 1 newest entry id to include ('+' for the newest), 2 count.
-- Returns {currency or '', {{entry id, {field, value, ...}}, ...}}.
local currency = redis.call('HGET', KEYS[1], 'currency') or ''
return {currency, redis.call('XREVRANGE', KEYS[2], ARGV[1], '-', 'COUNT', ARGV[2])}
