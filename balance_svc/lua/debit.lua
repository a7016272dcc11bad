#!lua
-- Debit: takes an amount from the available balance, never below zero.
-- KEYS: account hash, log list, pending hold amounts, pending hold expiries, request record.
-- ARGV: now ms, fingerprint, request id, request record ttl ms, call id, amount,
--       currency ('' for the account's), reason, reference.
-- Returns the response record (JSON), the same bytes on every replay, or a refusal (JSON).
local keys = {account = KEYS[1], log = KEYS[2], pending = KEYS[3], expiry = KEYS[4], request = KEYS[5]}
local now, fingerprint, request_id, request_ttl = whole(ARGV[1], 'now'), ARGV[2], ARGV[3], whole(ARGV[4], 'ttl')
local call_id = ARGV[5]
local amount, currency, reason, reference = whole(ARGV[6], 'amount'), ARGV[7], ARGV[8], ARGV[9]

local replayed = replay(keys.request, fingerprint)
if replayed then return replayed end

local a = open_account(keys, now, request_id, call_id)
local refused = currency_mismatch(a, currency) or insufficient_funds(a, amount)
if refused then return refused end

a.balance = a.balance - amount
append(a, DEBIT, reason, amount, '', '', reference)
return commit(a, true, fingerprint, request_ttl)
