#!lua
-- SetLowBalanceThreshold: sets the available amount below which a debit or capture signals; 0 is off.
-- A new threshold re-arms the signal, so a debit after it signals if available is below it.
-- KEYS: account hash, pending hold amounts, pending hold expiries, request record.
-- ARGV: now ms, fingerprint, request id, request record ttl ms, call id, threshold.
-- Returns the response record (JSON), the same bytes on every replay, or a refusal (JSON).
local keys = {account = KEYS[1], pending = KEYS[2], expiry = KEYS[3], request = KEYS[4]}
local now, fingerprint, request_id, request_ttl = whole(ARGV[1], 'now'), ARGV[2], ARGV[3], whole(ARGV[4], 'ttl')
local call_id = ARGV[5]
local threshold = whole(ARGV[6], 'threshold')

local replayed = replay(keys.request, fingerprint)
if replayed then return replayed end

local a = open_account(keys, now, request_id, call_id)
a.threshold, a.low_sent = threshold, false
return commit(a, false, fingerprint, request_ttl)
