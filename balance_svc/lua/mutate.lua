#!lua
-- One ledger mutation, atomically: credit, debit, create_hold, capture_hold, release_hold or set_threshold.
-- All six share one script so the idempotency check, the lazy expiry of holds, the low-balance signal
-- and the stored response are written once; each call is still one EVALSHA.
--
-- KEYS: 1 account hash, 2 log list, 3 pending hold amounts (hash: hold id -> amount),
--       4 pending hold expiries (zset: hold id by expiry ms), 5 request record, 6 hold hash (hold ops).
-- ARGV: 1 op, 2 now ms, 3 fingerprint (fixed length), 4 request id, 5 hold id, 6 amount (the threshold
--       for set_threshold), 7 currency or '', 8 reason, 9 reference, 10 hold timeout ms,
--       11 default currency, 12 max balance, 13 request record ttl ms, 14 hold retention ms.
-- Returns the response record (JSON), the same bytes on every replay, or {REASON, key, value, ...}
-- when refused. Every check runs before the first write, because a script has no rollback.
local account_key, log_key, pending_key, expiry_key, request_key, hold_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local op, now, fingerprint, request_id, hold_id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local amount, currency, reason, reference = tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9]
local timeout, default_currency, max_balance = tonumber(ARGV[10]), ARGV[11], tonumber(ARGV[12])
local request_ttl, hold_retention = ARGV[13], tonumber(ARGV[14])

-- Proto enum numbers (TransactionType, TransactionReason, HoldStatus).
local CREDIT, DEBIT, HOLD_CREATED, HOLD_CAPTURED, HOLD_RELEASED = '1', '2', '3', '4', '5'
local NO_REASON = '0'
local PENDING, CAPTURED, RELEASED = '1', '2', '3'
-- A log entry is one string: type, reason, amount, balance after, time ms, request id, hold id, hold
-- expiry ms, reference, joined by the unit separator. Ids are printable ASCII so cannot contain it, and
-- the free-text reference comes last, so the first eight separators always split the fields.
local SEP = '\31'
local HOLD_FIELDS = {'amount', 'currency', 'status', 'captured', 'ref', 'create_ms', 'expire_ms'}

-- tostring() would print 1e+15; %d prints every integer below 2^53 exactly.
local function int(n)
  return string.format('%d', n)
end

-- A repeat (a client retry, or redis-py resending after a dropped connection) gets the first response.
local stored = redis.call('GET', request_key)
if stored then
  if string.sub(stored, 1, #fingerprint) ~= fingerprint then
    return {'REQUEST_ID_REUSED'}
  end
  return string.sub(stored, #fingerprint + 1)
end

local account = redis.call('HMGET', account_key, 'balance', 'held', 'currency', 'threshold', 'low_sent', 'seq')
local balance, held = tonumber(account[1] or 0), tonumber(account[2] or 0)
local account_currency = account[3] -- false until the first credit fixes it
local threshold, low_sent, seq = tonumber(account[4] or 0), account[5] == '1', tonumber(account[6] or 0)

-- Holds past their expiry free their amount now, whether or not anything has swept them yet.
local expired = redis.call('ZRANGEBYSCORE', expiry_key, '-inf', now)
for _, id in ipairs(expired) do
  held = held - tonumber(redis.call('HGET', pending_key, id))
end

local entry -- the log entry written, if any
local hold -- the hold touched, if any

local function available()
  return balance - held
end

local function currency_mismatch()
  if account_currency and currency ~= '' and currency ~= account_currency then
    return {'CURRENCY_MISMATCH', 'account_currency', account_currency}
  end
end

local function insufficient_funds()
  if amount > available() then
    return {'INSUFFICIENT_FUNDS', 'available_minor', int(available())}
  end
end

-- Entry n of the log sits at list index n - 1; entries are never removed.
local function append(type, entry_reason, entry_amount, ref, expire_ms)
  seq = seq + 1
  entry = table.concat({type, entry_reason, int(entry_amount), int(balance), int(now), request_id,
                        hold and hold_id or '', expire_ms, ref}, SEP)
  redis.call('RPUSH', log_key, entry)
end

-- The hold named by the request if it can still be captured or released, else the refusal.
local function resolvable_hold()
  local values = redis.call('HMGET', hold_key, unpack(HOLD_FIELDS))
  if not values[1] then
    return nil, {'HOLD_NOT_FOUND'}
  end
  local found = {id = hold_id}
  for i, name in ipairs(HOLD_FIELDS) do
    found[name] = values[i]
  end
  if found.status == CAPTURED then
    return nil, {'HOLD_ALREADY_CAPTURED'}
  elseif found.status == RELEASED then
    return nil, {'HOLD_ALREADY_RELEASED'}
  elseif tonumber(found.expire_ms) <= now then
    return nil, {'HOLD_EXPIRED'}
  end
  return found
end

local function resolve(status, captured)
  hold.status, hold.captured = status, int(captured)
  redis.call('HSET', hold_key, 'status', status, 'captured', hold.captured)
  redis.call('PEXPIRE', hold_key, int(hold_retention))
  redis.call('HDEL', pending_key, hold_id)
  redis.call('ZREM', expiry_key, hold_id)
  held = held - tonumber(hold.amount)
end

local OPS = {}

function OPS.credit()
  local refused = currency_mismatch()
  if refused then return refused end
  if balance + amount > max_balance then
    return {'BALANCE_LIMIT_EXCEEDED', 'max_balance_minor', int(max_balance)}
  end
  if not account_currency then
    account_currency = currency ~= '' and currency or default_currency
  end
  balance = balance + amount
  append(CREDIT, reason, amount, reference, '')
end

function OPS.debit()
  local refused = currency_mismatch() or insufficient_funds()
  if refused then return refused end
  balance = balance - amount
  append(DEBIT, reason, amount, reference, '')
end

function OPS.create_hold()
  local refused = currency_mismatch() or insufficient_funds()
  if refused then return refused end
  -- The hold outlives its request record; the same id must not open a second hold under that name.
  if redis.call('EXISTS', hold_key) == 1 then return {'REQUEST_ID_REUSED'} end
  local expire_ms = int(now + timeout)
  hold = {id = hold_id, amount = int(amount), currency = account_currency, status = PENDING, captured = '0',
          ref = reference, create_ms = int(now), expire_ms = expire_ms}
  local args = {}
  for _, name in ipairs(HOLD_FIELDS) do
    args[#args + 1] = name
    args[#args + 1] = hold[name]
  end
  redis.call('HSET', hold_key, unpack(args))
  redis.call('PEXPIRE', hold_key, int(timeout + hold_retention))
  redis.call('HSET', pending_key, hold_id, hold.amount)
  redis.call('ZADD', expiry_key, expire_ms, hold_id)
  held = held + amount
  append(HOLD_CREATED, NO_REASON, amount, reference, expire_ms)
end

function OPS.capture_hold()
  local found, refused = resolvable_hold()
  if refused then return refused end
  if amount > tonumber(found.amount) then
    return {'CAPTURE_EXCEEDS_HOLD', 'held_minor', found.amount}
  end
  hold = found
  resolve(CAPTURED, amount)
  -- Never below zero: the hold was part of held, and held never exceeds balance.
  balance = balance - amount
  append(HOLD_CAPTURED, reason, amount, hold.ref, '')
end

function OPS.release_hold()
  local found, refused = resolvable_hold()
  if refused then return refused end
  hold = found
  resolve(RELEASED, 0)
  append(HOLD_RELEASED, NO_REASON, tonumber(hold.amount), hold.ref, '')
end

function OPS.set_threshold()
  threshold = amount
  low_sent = false -- a new threshold re-arms the signal
end

local refused = OPS[op]()
if refused then return refused end

-- Only now is it safe to forget the expired holds: the request is accepted.
for _, id in ipairs(expired) do
  redis.call('HDEL', pending_key, id)
end
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', expiry_key, '-inf', now)
end

-- One event per crossing: the first debit or capture that leaves available below the threshold sends
-- it; only getting back to the threshold (or setting a new one) arms it again.
local crossed = false
if threshold > 0 and available() >= threshold then
  low_sent = false
elseif threshold > 0 and not low_sent and (op == 'debit' or op == 'capture_hold') then
  crossed, low_sent = true, true
end

local fields = {'balance', int(balance), 'held', int(held), 'threshold', int(threshold),
                'low_sent', low_sent and '1' or '0', 'seq', int(seq)}
if account_currency then
  fields[#fields + 1] = 'currency'
  fields[#fields + 1] = account_currency
end
redis.call('HSET', account_key, unpack(fields))

local record = cjson.encode({
  e = entry,
  seq = int(seq),
  h = hold,
  b = {balance = int(balance), held = int(held), currency = account_currency or default_currency,
       threshold = int(threshold)},
  low = crossed and '1' or nil,
})
redis.call('SET', request_key, fingerprint .. record, 'PX', request_ttl)
return record
