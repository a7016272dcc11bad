#!lua
-- CreateHold: reserves part of the available balance until it is captured, released or expires.
-- KEYS: account hash, log list, pending hold amounts, pending hold expiries, request record, hold hash.
-- ARGV: now ms, fingerprint, request id (which also names the hold), request record ttl ms, call id, amount,
--       currency ('' for the account's), reference, timeout ms, hold retention ms.
-- Returns the response record (JSON), the same bytes on every replay, or a refusal (JSON).
local keys = {account = KEYS[1], log = KEYS[2], pending = KEYS[3], expiry = KEYS[4], request = KEYS[5]}
local hold_key = KEYS[6]
local now, fingerprint, request_id, request_ttl = whole(ARGV[1], 'now'), ARGV[2], ARGV[3], whole(ARGV[4], 'ttl')
local call_id = ARGV[5]
local amount, currency, reference = whole(ARGV[6], 'amount'), ARGV[7], ARGV[8]
local timeout, retention = whole(ARGV[9], 'timeout'), whole(ARGV[10], 'retention')
local hold_id = request_id

local replayed = replay(keys.request, fingerprint)
if replayed then return replayed end

local a = open_account(keys, now, request_id, call_id)
local refused = currency_mismatch(a, currency) or insufficient_funds(a, amount)
if refused then return refused end
-- The hold outlives its request record; the same id must not open a second hold under that name.
if redis.call('EXISTS', hold_key) == 1 then return refuse('REQUEST_ID_REUSED') end

local expire_ms = int(now + timeout)
a.hold = {id = hold_id, amount = int(amount), currency = a.currency, status = PENDING, captured = '0',
          ref = reference, create_ms = int(now), expire_ms = expire_ms}
local fields = {}
for _, name in ipairs(HOLD_FIELDS) do
  fields[#fields + 1] = name
  fields[#fields + 1] = a.hold[name]
end
redis.call('HSET', hold_key, unpack(fields))
redis.call('PEXPIRE', hold_key, int(timeout + retention))
redis.call('HSET', keys.pending, hold_id, a.hold.amount)
redis.call('ZADD', keys.expiry, expire_ms, hold_id)
a.held = a.held + amount
append(a, HOLD_CREATED, NO_REASON, amount, hold_id, expire_ms, reference)
return commit(a, false, fingerprint, request_ttl)
