#!lua
-- ReleaseHold: gives a pending hold's whole amount back and resolves it.
-- KEYS: account hash, log list, pending hold amounts, pending hold expiries, request record, hold hash.
-- ARGV: now ms, fingerprint, request id, request record ttl ms, call id, hold id, hold retention ms.
-- Returns the response record (JSON), the same bytes on every replay, or a refusal (JSON).
local keys = {account = KEYS[1], log = KEYS[2], pending = KEYS[3], expiry = KEYS[4], request = KEYS[5]}
local hold_key = KEYS[6]
local now, fingerprint, request_id, request_ttl = whole(ARGV[1], 'now'), ARGV[2], ARGV[3], whole(ARGV[4], 'ttl')
local call_id = ARGV[5]
local hold_id, retention = ARGV[6], whole(ARGV[7], 'retention')

local replayed = replay(keys.request, fingerprint)
if replayed then return replayed end

local a = open_account(keys, now, request_id, call_id)
local hold, refused = resolvable_hold(hold_key, hold_id, now)
if refused then return refused end

resolve_hold(a, hold, hold_key, RELEASED, 0, retention)
append(a, HOLD_RELEASED, NO_REASON, tonumber(hold.amount), hold_id, '', hold.ref)
return commit(a, false, fingerprint, request_ttl)
