#!lua
-- CaptureHold: debits up to a pending hold's amount and resolves it; a partial capture frees the rest.
-- KEYS: account hash, log list, pending hold amounts, pending hold expiries, request record, hold hash.
-- ARGV: now ms, fingerprint, request id, request record ttl ms, call id, hold id, amount, reason,
--       hold retention ms.
-- Returns the response record (JSON), the same bytes on every replay, or a refusal (JSON).
local keys = {account = KEYS[1], log = KEYS[2], pending = KEYS[3], expiry = KEYS[4], request = KEYS[5]}
local hold_key = KEYS[6]
local now, fingerprint, request_id, request_ttl = whole(ARGV[1], 'now'), ARGV[2], ARGV[3], whole(ARGV[4], 'ttl')
local call_id = ARGV[5]
local hold_id, amount, reason = ARGV[6], whole(ARGV[7], 'amount'), ARGV[8]
local retention = whole(ARGV[9], 'retention')

local replayed = replay(keys.request, fingerprint)
if replayed then return replayed end

local a = open_account(keys, now, request_id, call_id)
local hold, refused = resolvable_hold(hold_key, hold_id, now)
if refused then return refused end
if amount > tonumber(hold.amount) then
  return refuse('CAPTURE_EXCEEDS_HOLD', {held_minor = hold.amount})
end

resolve_hold(a, hold, hold_key, CAPTURED, amount, retention)
-- Never below zero: the hold was part of held, and held never exceeds balance.
a.balance = a.balance - amount
append(a, HOLD_CAPTURED, reason, amount, hold_id, '', hold.ref)
return commit(a, true, fingerprint, request_ttl)
