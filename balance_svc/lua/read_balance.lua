#!lua flags=no-writes
-- One consistent read of an account's figures; holds past their expiry are not counted, swept or not.
-- KEYS: account hash, pending hold amounts, pending hold expiries, log list. ARGV: now ms.
-- Returns a flat name/value list: balance, held (live holds only), currency ('' before the first credit),
-- threshold, counted (the entries the account counts) and logged (the entries in its log).
local account_key, pending_key, expiry_key, log_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = whole(ARGV[1], 'now')

local account = redis.call('HMGET', account_key, 'balance', 'held', 'currency', 'threshold', 'seq')
local held = live_held(tonumber(account[2] or 0), pending_key, expiry_key, now)
return {'balance', tonumber(account[1] or 0), 'held', held, 'currency', account[3] or '',
        'threshold', tonumber(account[4] or 0), 'counted', tonumber(account[5] or 0),
        'logged', redis.call('LLEN', log_key)}
